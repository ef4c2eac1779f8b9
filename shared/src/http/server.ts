import type { Server } from 'node:http';
import type { Express } from 'express';
import type { Logger } from '../logger.js';

/** Listens and resolves with the bound port. */
export function listen(app: Express, port: number, host = '0.0.0.0'): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, () => {
      const addr = server.address();
      resolve({ server, port: addr && typeof addr === 'object' ? addr.port : port });
    });
    server.once('error', reject);
  });
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
