/**
 * ali-oss's own `multipartUpload` in a process of its own, for bench/upload.bench.ts: CPU and
 * peak RSS are then this process's, as the worker's are the worker's.
 *   node --conditions=development --import tsx bench/ali-oss-upload.ts '<json options>'
 * Options: endpoint, region, accessKeyId, accessKeySecret, bucket, file, partSize, parallel, and
 * `key` to upload once and exit. Without `key` (started with an IPC channel, as the bench does) it
 * uploads each `{ key }` message it is sent and answers `{ key, ms }` or `{ key, error }`, so one
 * process serves every round and module loading is outside the measured uploads.
 */
import OSS from 'ali-oss';

interface Options {
  endpoint: string;
  region: string;
  accessKeyId: string;
  accessKeySecret: string;
  bucket: string;
  file: string;
  partSize: number;
  parallel: number;
  key?: string;
}

const o = JSON.parse(process.argv[2] ?? '{}') as Options;
const oss = new OSS({
  endpoint: o.endpoint,
  sldEnable: true,
  region: `oss-${o.region}`,
  bucket: o.bucket,
  accessKeyId: o.accessKeyId,
  accessKeySecret: o.accessKeySecret,
  secure: o.endpoint.startsWith('https:'),
} as OSS.Options);

/** Milliseconds `multipartUpload` of the file to `key` took. */
async function upload(key: string): Promise<number> {
  const t0 = performance.now();
  await oss.multipartUpload(key, o.file, { partSize: o.partSize, parallel: o.parallel });
  return performance.now() - t0;
}

if (o.key !== undefined) {
  console.log(JSON.stringify({ key: o.key, ms: await upload(o.key) }));
} else if (process.send) {
  process.on('message', (m: { key: string }) => {
    upload(m.key).then(
      (ms) => process.send?.({ key: m.key, ms }),
      (err: unknown) => process.send?.({ key: m.key, error: String((err as Error)?.stack ?? err) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true });
} else {
  console.error('give a "key" in the options, or start this with an IPC channel');
  process.exit(2);
}
