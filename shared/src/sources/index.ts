export * from './ingest-path.js';
export * from './url-guard.js';
export * from './address.js';
export * from './guarded-request.js';
