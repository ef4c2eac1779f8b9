// Placeholder: this service is built in a later issue (see README).
export {};
