import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { createRegistry, type Logger } from '@vod-ingest/shared';
import { ADMIN_PREFIX, handleAdmin } from './admin.js';
import { CorsPolicy } from './cors.js';
import { CredentialAuthority } from './credentials.js';
import { registerEmulatorMetrics } from './emulator.metrics.js';
import { FaultInjector } from './faults.js';
import { sendJson } from './http-util.js';
import { CallbackSender } from './notify/callback-sender.js';
import { VideoProcessor } from './notify/video-processor.js';
import { handleOss, type CompletedObject } from './oss/handler.js';
import { handleOssPreflight } from './oss/preflight.js';
import { OssStore } from './oss/store.js';
import { createPopHandler, handlePopPreflight, isPopRequest } from './pop/handler.js';
import { VideoStore } from './pop/video-store.js';

export interface EmulatorOptions {
  accessKeyId: string;
  accessKeySecret: string;
  region: string;
  dataDir: string;
  buckets: string[];
  /** URL written into VOD UploadAddress; when absent, derived from the request's Host. */
  publicUrl?: string;
  ttlCapSeconds?: number;
  maxSessionSeconds: number;
  admin: boolean;
  /** Origins the CORS rule of every bucket and of POP allows; `*`: any. Defaults to `['*']`. */
  corsOrigins?: string[];
  /** VOD event notifications; absent: none are sent (see VideoProcessor). */
  vodCallback?: {
    url: string;
    /** Signs each notification (X-VOD-TIMESTAMP, X-VOD-SIGNATURE) when set. */
    privateKey?: string;
    /** Pause before each retry. Defaults to 1000 ms. */
    retryMs?: number;
    /** A try without an answer within this long is a failure. Defaults to 5000 ms. */
    timeoutMs?: number;
  };
  /** Simulated transcoding time. Defaults to 2000 ms. */
  vodProcessingMs?: number;
  log: Logger;
}

export interface Emulator {
  server: Server;
  faults: FaultInjector;
  /** The VOD storage bucket (exists alongside the configured ones). */
  vodBucket: string;
  /** Stops simulated transcodes still pending (the server is closed separately). */
  stop(): void;
}

/**
 * The local stand-in for STS, VOD and OSS on one HTTP server. POP requests (x-acs-version or
 * Version/Action in the query) go to STS/VOD; everything else is OSS, path-style or
 * virtual-hosted. CORS preflights are answered before any of them authenticates.
 */
export async function createEmulator(opts: EmulatorOptions): Promise<Emulator> {
  const authority = new CredentialAuthority(opts.accessKeyId, opts.accessKeySecret);
  const faults = new FaultInjector();
  const registry = createRegistry('emulator');
  registerEmulatorMetrics(registry, faults);
  const vodBucket = `outin-${createHash('sha256').update(opts.accessKeyId).digest('hex').slice(0, 32)}`;
  const oss = new OssStore(path.join(opts.dataDir, 'oss'), new Set([...opts.buckets, vodBucket]));
  await oss.init();
  const videos = new VideoStore(path.join(opts.dataDir, 'vod', 'videos.json'));
  await videos.load();
  const hostId = `oss-${opts.region}.emulator.local`;
  const cors = new CorsPolicy(opts.corsOrigins ?? ['*']);
  const callbacks = new CallbackSender({
    privateKey: opts.vodCallback?.privateKey,
    retryMs: opts.vodCallback?.retryMs,
    timeoutMs: opts.vodCallback?.timeoutMs,
    log: opts.log,
  });
  const processor = new VideoProcessor({
    videos,
    faults,
    sender: callbacks,
    callbackUrl: opts.vodCallback?.url,
    processingMs: opts.vodProcessingMs ?? 2000,
    log: opts.log,
  });
  const vod = {
    authority,
    videos,
    oss,
    bucket: vodBucket,
    publicUrl: opts.publicUrl,
    region: opts.region,
    ttlCapSeconds: opts.ttlCapSeconds,
  };
  const handlePop = createPopHandler({
    authority,
    faults,
    log: opts.log,
    hostId,
    cors,
    sts: { authority, maxSessionSeconds: opts.maxSessionSeconds, ttlCapSeconds: opts.ttlCapSeconds },
    vod,
  });
  const ossDeps = {
    store: oss,
    authority,
    faults,
    log: opts.log,
    hostId,
    region: opts.region,
    cors,
    onObjectComplete: async (o: CompletedObject) => {
      if (o.bucket === vodBucket) await processor.objectCompleted(o);
    },
  };

  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (req.method === 'GET' && (url === '/healthz' || url === '/readyz') && !req.headers.authorization) {
      return sendJson(res, 200, { status: 'ok' });
    }
    if (req.method === 'GET' && url === '/metrics' && !req.headers.authorization) {
      void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
      return;
    }
    if (opts.admin && url.startsWith(ADMIN_PREFIX)) {
      void handleAdmin(req, res, { faults, oss, videos, callbacks });
      return;
    }
    if (req.method === 'OPTIONS') {
      return isPopRequest(req) ? handlePopPreflight(req, res, { cors, hostId }) : handleOssPreflight(req, res, { cors, hostId });
    }
    if (isPopRequest(req)) {
      void handlePop(req, res);
      return;
    }
    void handleOss(req, res, ossDeps);
  });
  // Large parts over slow links: no whole-request deadline; idle sockets still time out.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return { server, faults, vodBucket, stop: () => processor.stop() };
}
