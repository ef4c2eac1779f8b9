export * from './app-kit.js';
export * from './metrics.js';
export * from './server.js';
export * from './small-get.js';
