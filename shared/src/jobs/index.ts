export * from './job.schema.js';
export * from './job.events.js';
export * from './job.store.js';
export * from './queues.js';
export { jobView } from './job.record.js';
export * from './vod-fields.js';
export * from './shards.js';
