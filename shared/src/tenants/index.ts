export * from './tenant.js';
export * from './tenants-file.js';
export * from './session-policy.js';
export * from './tenant-access.js';
