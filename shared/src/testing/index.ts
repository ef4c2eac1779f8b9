export * from './ports.js';
export * from './redis.js';
export * from './service-process.js';
export * from './emulator.js';
export * from './services.js';
export * from './tenants.js';
export * from './vod-info.js';
