import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves once something accepts TCP connections on host:port, or rejects after `timeoutMs`. */
export async function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 10_000): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, host);
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The lowest port the kernel hands out for outgoing connections and for `listen(0)` (ip_local_port_range). */
function lowestEphemeralPort(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (low) return low;
  } catch {}
  return 32768;
}

/**
 * A port P with P .. P + count - 1 free on 0.0.0.0, below the ephemeral range: for a port bound
 * seconds after it is chosen (npm start's services, the api that the emulator's VOD callbacks
 * go to). Meanwhile any process on the machine may take a free ephemeral port as the local end of
 * an outgoing connection: one from `freePort` once was (npm start's second worker failed with
 * EADDRINUSE while parallel tests ran). Below the range only a listener can take it.
 */
export async function stablePorts(count = 1): Promise<number> {
  const floor = 10_000;
  const ceiling = Math.max(lowestEphemeralPort(), floor + 1000) - count;
  for (;;) {
    const p = floor + Math.floor(Math.random() * (ceiling - floor));
    const held: Server[] = [];
    try {
      for (let i = 0; i < count; i++) held.push(await holdPort(p + i));
      return p;
    } catch {
      // taken: try another
    } finally {
      await Promise.all(held.map((srv) => new Promise((r) => srv.close(r))));
    }
  }
}

/** A listener on 0.0.0.0:port, as another program holding the port would be; rejects when something holds it. */
export function holdPort(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(port, '0.0.0.0', () => resolve(srv));
  });
}
