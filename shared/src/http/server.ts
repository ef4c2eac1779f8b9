import { createServer, type Server } from 'node:http';
import type { Express } from 'express';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';

/**
 * Listens and resolves with the bound port; rejects when the port cannot be bound (taken:
 * `PORT_IN_USE`, not allowed: `PORT_NOT_PERMITTED`), with a message naming host and port.
 * Takes an express app or a ready `http.Server`.
 */
export function listen(app: Express | Server, port: number, host = '0.0.0.0'): Promise<{ server: Server; port: number }> {
  const server = typeof app === 'function' ? createServer(app) : app;
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(listenError(err, host, port));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const addr = server.address();
      resolve({ server, port: addr && typeof addr === 'object' ? addr.port : port });
    });
  });
}

function listenError(err: Error & { code?: string }, host: string, port: number): AppError {
  const where = `${host}:${port}`;
  if (err.code === 'EADDRINUSE')
    return new AppError('PORT_IN_USE', `port ${port} is already in use (${where}); stop what holds it or choose another port`, { cause: err });
  if (err.code === 'EACCES') return new AppError('PORT_NOT_PERMITTED', `not allowed to listen on ${where}`, { cause: err });
  if (err.code === 'EADDRNOTAVAIL') return new AppError('HOST_NOT_AVAILABLE', `cannot listen on ${where}: no such local address`, { cause: err });
  return new AppError('LISTEN_FAILED', `cannot listen on ${where}: ${err.code ?? err.message}`, { cause: err });
}

/**
 * For `main.ts`: runs a start-up step (connecting to Redis, listening). When it fails, prints
 * one line, `<service>: <message>`, to stderr and exits 1 — no stack trace: a taken port or an
 * unreachable Redis is the operator's to fix, and says so.
 */
export async function startOrExit<T>(service: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    const message = err instanceof AppError ? err.message : `start-up failed: ${(err as Error)?.message ?? String(err)}`;
    process.stderr.write(`${service}: ${message}\n`);
    process.exit(1);
  }
}

/**
 * On SIGTERM/SIGINT: stop accepting, let in-flight requests finish, run `cleanup`, exit 0 —
 * or exit 1 if that takes longer than `graceMs`.
 */
export function handleShutdown(server: Server, log: Logger, cleanup: () => Promise<void>, graceMs = 10_000): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'ShutdownStarted');
    const timer = setTimeout(() => {
      log.error({ graceMs }, 'ShutdownTimedOut');
      process.exit(1);
    }, graceMs);
    timer.unref();
    server.close(async () => {
      try {
        await cleanup();
        log.info('ShutdownComplete');
        process.exit(0);
      } catch (err) {
        log.error({ err }, 'ShutdownFailed');
        process.exit(1);
      }
    });
    server.closeIdleConnections();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
