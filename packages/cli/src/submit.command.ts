import path from 'node:path';
import { apiClient, type JobRequest, type JobView, unwrap } from './api.client.js';
import { usageError } from './errors.js';
import { CONNECTION_OPTIONS, connectionOf, parse, parseCount, parseSize, requireApiKey, TARGET_OPTIONS, targetOf } from './options.js';
import { exitCodeOf, watchJob, type WatchIo } from './watch.js';

export const SUBMIT_HELP = `vod-ingest submit <file|url> [--vod [--title T] | --oss --bucket B --key K [--content-type T]]
    [--part-size 8MiB] [--parallel 5] [--idempotency-key K] [--watch]
  Submits an ingest job (POST /v1/jobs). A file path is resolved here and must lie under the
  api's INGEST_ROOTS on the machine its workers run on; a url is fetched by the workers.
  Prints the job id; with --watch, follows the job (progress on stderr) and exits 0 when it
  succeeds, 1 when it fails or is canceled.`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  ...TARGET_OPTIONS,
  'part-size': { type: 'string' },
  parallel: { type: 'string' },
  'idempotency-key': { type: 'string' },
  watch: { type: 'boolean', short: 'w' },
} as const;

export async function submitCommand(args: string[], env: NodeJS.ProcessEnv, io: WatchIo): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS);
  if (values.help) return (void io.stdout.write(`${SUBMIT_HELP}\n`), 0);
  if (positionals.length !== 1) throw usageError('submit takes one <file|url>');
  const connection = connectionOf(values, env);
  const api = apiClient(connection.url, requireApiKey(connection));
  const body = jobRequestOf(positionals[0], values);
  const headers = values['idempotency-key'] ? { 'idempotency-key': values['idempotency-key'] } : undefined;
  const job = await unwrap(api.POST('/v1/jobs', { body, headers }), 'submit');
  io.stdout.write(`${job.id}\n`);
  if (!values.watch) return 0;
  const final = await watchJob(api, job.id, io);
  io.stdout.write(`${summary(final)}\n`);
  return exitCodeOf(final);
}

function jobRequestOf(source: string, v: { 'part-size'?: string; parallel?: string } & Parameters<typeof targetOf>[0]): JobRequest {
  const isUrl = /^https?:\/\//i.test(source);
  const choice = targetOf(v);
  const target: JobRequest['target'] =
    choice.type === 'oss'
      ? { type: 'oss', bucket: choice.bucket, key: choice.key, ...(choice.contentType ? { contentType: choice.contentType } : {}) }
      : { type: 'vod', title: choice.title ?? titleOf(source, isUrl) };
  const upload: NonNullable<JobRequest['upload']> = {};
  if (v['part-size']) upload.partSize = parseSize(v['part-size'], 'part-size');
  if (v.parallel) upload.parallel = parseCount(v.parallel, 'parallel', 1, 32);
  return {
    source: isUrl ? { type: 'url', url: source } : { type: 'file', path: path.resolve(source) },
    target,
    ...(Object.keys(upload).length > 0 ? { upload } : {}),
  } as JobRequest;
}

/** The default title: the file's name without its extension. */
export function titleOf(source: string, isUrl = false): string {
  const name = isUrl ? decodeURIComponent(new URL(source).pathname.split('/').pop() || 'video') : path.basename(source);
  return name.replace(/\.[^.]+$/, '') || name;
}

export function summary(job: JobView): string {
  if (job.status === 'succeeded' && job.result) {
    const r = job.result;
    return `${job.id} succeeded: ${r.videoId ? `video ${r.videoId}, ` : ''}${r.bucket}/${r.key}, ${r.size} bytes`;
  }
  if (job.error) return `${job.id} ${job.status}: ${job.error.code}: ${job.error.message}`;
  return `${job.id} ${job.status}`;
}
