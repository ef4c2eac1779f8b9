import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Alibaba hosts the web upload SDK calls by itself: VOD's POP endpoint (STS mode) and its telemetry. */
export const TELEMETRY_HOST = 'videocloud.cn-hangzhou.log.aliyuncs.com';
export const vodHost = (region: string) => `vod.${region}.aliyuncs.com`;

/**
 * The HTTPS side of Alibaba Cloud for the browser: one TLS server on 127.0.0.1 that Chromium's
 * resolver rules send the SDK's `https://vod.<region>.aliyuncs.com` and telemetry beacons to.
 * VOD requests are forwarded to the emulator unchanged (method, path, query, headers, body);
 * telemetry is answered here and kept, so nothing leaves the machine.
 */
export interface TlsFront {
  port: number;
  /** Query strings of the telemetry beacons received. */
  beacons: string[];
  /** `METHOD host path?query` of every request forwarded to the emulator. */
  forwarded: string[];
  close(): Promise<void>;
}

/** A throwaway self-signed certificate (Chromium runs with --ignore-certificate-errors). */
function selfSignedCertificate(hosts: string[]): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(path.join(tmpdir(), 'vod-ingest-tls-'));
  try {
    const san = hosts.map((h) => `DNS:${h}`).join(',');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=vod-ingest-test',
        '-addext',
        `subjectAltName=${san}`,
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function startTlsFront(o: { emulatorPort: number; region: string }): Promise<TlsFront> {
  const beacons: string[] = [];
  const forwarded: string[] = [];
  const server = createServer(selfSignedCertificate([vodHost(o.region), TELEMETRY_HOST]), (req, res) => {
    const host = String(req.headers.host ?? '').replace(/:\d+$/, '');
    if (host === TELEMETRY_HOST) {
      beacons.push(String(req.url).replace(/^[^?]*\??/, ''));
      req.resume();
      return void res.writeHead(204, { 'access-control-allow-origin': '*' }).end();
    }
    forwarded.push(`${req.method} ${req.headers.host} ${req.url}`);
    const upstream = request({ host: '127.0.0.1', port: o.emulatorPort, method: req.method, path: req.url, headers: req.headers }, (up: IncomingMessage) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    beacons,
    forwarded,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
