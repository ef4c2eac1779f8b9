import type { Redis } from 'ioredis';
import type { UploadedPart } from '@vod-ingest/shared';

/** What a resumed upload needs: where it goes, how it was cut, and the parts OSS confirmed. */
export interface UploadCheckpoint {
  uploadId: string;
  key: string;
  size: number;
  partSize: number;
  parts: Map<number, UploadedPart>;
}

const TTL_SECONDS = 7 * 24 * 3600;

/**
 * Checkpoints in one Redis hash per job: `meta` plus a `part:<n>` field per confirmed part, so
 * parallel parts record themselves with one HSET each, without read-modify-write.
 */
export class CheckpointStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = '{vod-ingest}',
  ) {}

  private key(jobId: string): string {
    return `${this.prefix}:checkpoint:${jobId}`;
  }

  async load(jobId: string): Promise<UploadCheckpoint | undefined> {
    const all = await this.redis.hgetall(this.key(jobId));
    if (!all.meta) return undefined;
    const meta = JSON.parse(all.meta) as Omit<UploadCheckpoint, 'parts'>;
    const parts = new Map<number, UploadedPart>();
    for (const [field, value] of Object.entries(all)) {
      if (field.startsWith('part:')) {
        const p = JSON.parse(value) as UploadedPart;
        parts.set(p.partNumber, p);
      }
    }
    return { ...meta, parts };
  }

  async begin(jobId: string, meta: Omit<UploadCheckpoint, 'parts'>): Promise<void> {
    const key = this.key(jobId);
    await this.redis.multi().del(key).hset(key, 'meta', JSON.stringify(meta)).expire(key, TTL_SECONDS).exec();
  }

  async savePart(jobId: string, part: UploadedPart): Promise<void> {
    await this.redis.hset(this.key(jobId), `part:${part.partNumber}`, JSON.stringify(part));
  }

  async clear(jobId: string): Promise<void> {
    await this.redis.del(this.key(jobId));
  }
}
