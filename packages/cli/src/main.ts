#!/usr/bin/env node
import { describeError, EXIT, usageError } from './errors.js';
import { JOBS_HELP, jobsCommand } from './jobs.command.js';
import { SUBMIT_HELP, submitCommand } from './submit.command.js';
import { UPLOAD_HELP, uploadCommand } from './upload.command.js';
import type { WatchIo } from './watch.js';

export const HELP = `Usage: vod-ingest <command> [options]

${SUBMIT_HELP}

${JOBS_HELP}

${UPLOAD_HELP}

Every command takes --url URL (or VOD_INGEST_URL; default http://localhost:3000) and
--api-key KEY (or VOD_INGEST_API_KEY).

Exit codes:
  0  done (the job or upload succeeded)
  1  the job or upload ended failed or canceled
  2  bad command line
  3  the api refused the request (its error code and message are printed)
  4  the api or OSS could not be reached, or a local file could not be read
`;

/** Runs one command line; resolves with the exit code. Failures print one line to stderr. */
export async function run(argv: string[], env: NodeJS.ProcessEnv, io: WatchIo): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'submit':
        return await submitCommand(args, env, io);
      case 'jobs':
        return await jobsCommand(args, env, io);
      case 'upload':
        return await uploadCommand(args, env, io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(HELP);
        return command === undefined ? EXIT.usage : EXIT.ok;
      default:
        throw usageError(`unknown command "${command}" (submit, jobs, upload; --help lists them)`);
    }
  } catch (err) {
    const { line, exitCode } = describeError(err);
    io.stderr.write(`vod-ingest: ${line}\n`);
    return exitCode;
  }
}

process.exitCode = await run(process.argv.slice(2), process.env, { stdout: process.stdout, stderr: process.stderr });
