export * from './ingest-path.js';
export * from './url-guard.js';
