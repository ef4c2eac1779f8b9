import type { Readable } from 'node:stream';
import type { ObjectStore } from '@vod-ingest/shared';
import type { WorkerMetrics } from '../worker.metrics.js';

/** `store` with confirmed bytes and part durations counted: the counter is what OSS accepted. */
export function meteredStore(store: ObjectStore, metrics: WorkerMetrics, target: 'vod' | 'oss'): ObjectStore {
  const timed = async <T extends { size: number }>(call: () => Promise<T>): Promise<T> => {
    const end = metrics.partDuration.startTimer({ target });
    const out = await call();
    end();
    metrics.uploadedBytes.inc({ target }, out.size);
    return out;
  };
  return {
    initiate: (key, opts) => store.initiate(key, opts),
    uploadPart: (key, uploadId, n, size, body: () => Readable) => timed(() => store.uploadPart(key, uploadId, n, size, body)),
    listParts: (key, uploadId) => store.listParts(key, uploadId),
    complete: (key, uploadId, parts) => store.complete(key, uploadId, parts),
    abort: (key, uploadId) => store.abort(key, uploadId),
    put: (key, size, body, opts) => timed(() => store.put(key, size, body, opts)),
    head: (key) => store.head(key),
  };
}
