import { statSync } from 'node:fs';
import path from 'node:path';
import { apiClient, type ApiClient, unwrap, type UploadRequest } from './api.client.js';
import { checkpointPathFor, readCheckpoint, removeCheckpoint, writeCheckpoint, type UploadCheckpoint } from './checkpoint.js';
import { CliError, EXIT, usageError } from './errors.js';
import { type Destination, ossDestination, vodDestination } from './oss-destination.js';
import { multipartToOss } from './multipart.js';
import { CONNECTION_OPTIONS, connectionOf, parse, parseCount, parseSize, requireApiKey, TARGET_OPTIONS, targetOf, type TargetChoice } from './options.js';
import type { WatchIo } from './watch.js';

export const UPLOAD_HELP = `vod-ingest upload <local file> [--vod [--title T] | --oss --bucket B --key K [--content-type T]]
    [--part-size 8MiB] [--parallel 5] [--oss-endpoint URL] [--checkpoint FILE] [--restart]
  Uploads a file from this machine as Alibaba's upload SDKs do: creates a direct upload with the
  API key (POST /v1/uploads), then uses only its client token — oss: an STS credential for that
  one object (POST /v1/sts-tokens), multipart to OSS, POST /v1/uploads/{id}/complete; vod:
  UploadAuth and UploadAddress (POST /v1/vod/upload-auth, refreshed when they expire), multipart
  to that address. Progress and finished parts go to a checkpoint (default <file>.vod-ingest-upload.json,
  or ~/.cache/vod-ingest/uploads/ when the folder is not writable): run the same command again
  after an interruption and it goes on with the same multipart upload. --restart ignores it.
  --oss-endpoint (or VOD_INGEST_OSS_ENDPOINT): the OSS endpoint of oss uploads; default
  https://oss-<region>.aliyuncs.com from the STS token's region.`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  ...TARGET_OPTIONS,
  'part-size': { type: 'string' },
  parallel: { type: 'string' },
  'oss-endpoint': { type: 'string' },
  checkpoint: { type: 'string' },
  restart: { type: 'boolean' },
} as const;

export async function uploadCommand(args: string[], env: NodeJS.ProcessEnv, io: WatchIo): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS);
  if (values.help) return (void io.stdout.write(`${UPLOAD_HELP}\n`), 0);
  if (positionals.length !== 1) throw usageError('upload takes one <local file>');
  const file = path.resolve(positionals[0]);
  const target = targetOf(values);
  const partSize = values['part-size'] ? parseSize(values['part-size'], 'part-size') : 8 * 1024 ** 2;
  if (partSize < 100 * 1024) throw usageError('--part-size: at least 100KiB');
  const parallel = values.parallel ? parseCount(values.parallel, 'parallel', 1, 32) : 5;
  const stat = statOf(file);
  const connection = connectionOf(values, env);
  const cpFile = values.checkpoint ? path.resolve(values.checkpoint) : checkpointPathFor(file);
  const source = { path: file, size: stat.size, mtimeMs: stat.mtimeMs };

  let cp = values.restart ? undefined : resumable(readCheckpoint(cpFile), source, target);
  if (cp) io.stderr.write(`resuming ${cp.uploadId}${cp.oss ? `: ${cp.oss.doneParts.length} parts already uploaded` : ''}\n`);
  else cp = await createUpload(apiClient(connection.url, requireApiKey(connection)), source, target);
  writeCheckpoint(cpFile, cp);
  const state = cp;
  const api = apiClient(connection.url, state.clientToken);

  const destination = await destinationOf(api, state, target, values['oss-endpoint'] ?? env.VOD_INGEST_OSS_ENDPOINT);
  writeCheckpoint(cpFile, state);
  await multipartToOss(
    destination,
    { file, size: stat.size, partSize, parallel, contentType: target.type === 'oss' ? target.contentType : undefined },
    {
      saved: state.oss,
      save: (oss) => {
        state.oss = oss;
        writeCheckpoint(cpFile, state);
      },
      stderr: io.stderr,
    },
  );

  const view =
    target.type === 'oss'
      ? await unwrap(api.POST('/v1/uploads/{id}/complete', { params: { path: { id: state.uploadId } } }), 'complete')
      : await unwrap(api.GET('/v1/uploads/{id}', { params: { path: { id: state.uploadId } } }), 'upload status');
  removeCheckpoint(cpFile);
  if (view.status === 'failed' || view.status === 'expired') {
    io.stdout.write(`${view.id} ${view.status}${view.error ? `: ${view.error.code}: ${view.error.message}` : ''}\n`);
    return EXIT.failed;
  }
  const where = state.videoId ? `video ${state.videoId}` : `${destination.bucket}/${destination.object}`;
  io.stdout.write(`${view.id} uploaded: ${where}, ${stat.size} bytes\n`);
  return EXIT.ok;
}

function statOf(file: string) {
  try {
    const s = statSync(file);
    if (!s.isFile()) throw new CliError(`${file} is not a regular file`, EXIT.usage);
    return s;
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, EXIT.io);
  }
}

/** A saved checkpoint of this very file and target whose client token still has a minute left. */
function resumable(cp: UploadCheckpoint | undefined, source: UploadCheckpoint['source'], target: TargetChoice): UploadCheckpoint | undefined {
  if (!cp) return undefined;
  const same = cp.source.path === source.path && cp.source.size === source.size && cp.source.mtimeMs === source.mtimeMs && cp.target === JSON.stringify(target);
  return same && Date.parse(cp.expiresAt) > Date.now() + 60_000 ? cp : undefined;
}

async function createUpload(api: ApiClient, source: UploadCheckpoint['source'], target: TargetChoice): Promise<UploadCheckpoint> {
  const body: UploadRequest = {
    target:
      target.type === 'oss'
        ? { type: 'oss', bucket: target.bucket, key: target.key, ...(target.contentType ? { contentType: target.contentType } : {}) }
        : { type: 'vod', title: target.title ?? (path.basename(source.path).replace(/\.[^.]+$/, '') || path.basename(source.path)) },
    maxBytes: Math.max(1, source.size),
    expiresInSeconds: 24 * 3600,
  } as UploadRequest;
  const created = await unwrap(api.POST('/v1/uploads', { body }), 'create upload');
  return { version: 1, source, target: JSON.stringify(target), uploadId: created.id, clientToken: created.clientToken, expiresAt: created.expiresAt };
}

async function destinationOf(api: ApiClient, cp: UploadCheckpoint, target: TargetChoice, ossEndpoint: string | undefined): Promise<Destination> {
  if (target.type === 'oss') return ossDestination(api, target, ossEndpoint);
  const d = await vodDestination(api, { videoId: cp.videoId }, { name: path.basename(cp.source.path), size: cp.source.size });
  if (cp.address && cp.address.object !== d.object) cp.oss = undefined; // another object: its parts are not ours
  cp.videoId = d.videoId;
  cp.address = { endpoint: d.endpoint, bucket: d.bucket, object: d.object };
  return d;
}
