export * from './credential.js';
export * from './endpoint.js';
export * from './pop-client.js';
export * from './vod.client.js';
export * from './credentials.client.js';
export * from './object-store.js';
export * from './oss-put-signer.js';
