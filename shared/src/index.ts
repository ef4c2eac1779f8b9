export * from './errors.js';
export * from './config.js';
export * from './logger.js';
export * from './redis.js';
export * from './crc64.js';
