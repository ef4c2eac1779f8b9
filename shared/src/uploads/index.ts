export * from './upload.record.js';
export * from './upload.store.js';
