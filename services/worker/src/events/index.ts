export * from './event-workers.js';
export * from './webhook.dispatcher.js';
export * from './webhook.worker.js';
export * from './webhook.processor.js';
export * from './webhook.job.js';
export * from './webhook-endpoint.store.js';
export * from './webhook.metrics.js';
export * from './webhook.sender.js';
