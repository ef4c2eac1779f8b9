import { apiClient, unwrap } from './api.client.js';
import { usageError } from './errors.js';
import { CONNECTION_OPTIONS, connectionOf, parse, parseCount, requireApiKey } from './options.js';
import { exitCodeOf, watchJob, type WatchIo } from './watch.js';
import { summary } from './submit.command.js';

export const JOBS_HELP = `vod-ingest jobs list [--status S] [--limit N] [--cursor C]
vod-ingest jobs get <id> [--watch]
vod-ingest jobs cancel <id>
  list: one line per job (id, status, bytes, created); get: the job as JSON (--watch follows it
  first, exit as for submit --watch); cancel: DELETE /v1/jobs/{id}.`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  status: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  watch: { type: 'boolean', short: 'w' },
} as const;

const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'canceled'] as const;

export async function jobsCommand(args: string[], env: NodeJS.ProcessEnv, io: WatchIo): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS);
  if (values.help || positionals.length === 0) return (void io.stdout.write(`${JOBS_HELP}\n`), values.help ? 0 : 2);
  const connection = connectionOf(values, env);
  const api = apiClient(connection.url, requireApiKey(connection));
  const [verb, id, ...rest] = positionals;
  if (rest.length > 0) throw usageError(`jobs ${verb}: unexpected ${rest.join(' ')}`);
  const needId = () => {
    if (!id) throw usageError(`jobs ${verb} needs a job id`);
    return id;
  };
  switch (verb) {
    case 'list': {
      if (id) throw usageError('jobs list takes no id');
      const status = values.status as (typeof STATUSES)[number] | undefined;
      if (status !== undefined && !STATUSES.includes(status)) throw usageError(`--status: one of ${STATUSES.join(', ')}`);
      const limit = values.limit ? String(parseCount(values.limit, 'limit', 1, 100)) : undefined;
      const page = await unwrap(api.GET('/v1/jobs', { params: { query: { status, limit, cursor: values.cursor } } }), 'jobs list');
      for (const j of page.jobs)
        io.stdout.write(`${j.id}  ${j.status.padEnd(9)}  ${j.progress.bytesUploaded}/${j.progress.bytesTotal} bytes  ${j.createdAt}\n`);
      if (page.nextCursor) io.stdout.write(`next page: --cursor ${page.nextCursor}\n`);
      return 0;
    }
    case 'get': {
      const jobId = needId();
      if (values.watch) {
        const job = await watchJob(api, jobId, io);
        io.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
        return exitCodeOf(job);
      }
      io.stdout.write(`${JSON.stringify(await unwrap(api.GET('/v1/jobs/{id}', { params: { path: { id: jobId } } }), `get ${jobId}`), null, 2)}\n`);
      return 0;
    }
    case 'cancel': {
      const job = await unwrap(api.DELETE('/v1/jobs/{id}', { params: { path: { id: needId() } } }), `cancel ${id}`);
      io.stdout.write(`${job.cancelRequested ? `${job.id} cancel requested (it stops at a part boundary)` : summary(job)}\n`);
      return 0;
    }
    default:
      throw usageError(`jobs: unknown command "${verb}" (list, get, cancel)`);
  }
}
