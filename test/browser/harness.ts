import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { JobEvent } from '@vod-ingest/shared';
import { freePort } from '@vod-ingest/shared/testing';
import { KEYS, startStack, writeRandomFile, type Stack } from '../e2e/stack.js';
import { startReceiver, type Receiver } from '../e2e/webhook-receiver.js';
import { startPageServer } from './page-server.js';
import { startTlsFront, TELEMETRY_HOST, vodHost, type TlsFront } from './tls-front.js';

export const CHROMIUM = '/usr/bin/chromium';
/** node:test's `skip` for the browser suites: a reason when Chromium is not installed (.ci/run installs it). */
export const skipWithoutChromium = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (apt-get install chromium)`;

export interface BrowserStackOptions {
  /** EMULATOR_TOKEN_TTL_SECONDS: the life of STS tokens and UploadAuth. */
  tokenTtlSeconds?: number;
  /** EMULATOR_VOD_PROCESSING_MS: from the upload to the video's processing events. Default 500. */
  processingMs?: number;
}

export interface UploadReply {
  id: string;
  status: string;
  clientToken: string;
  expiresAt: string;
  target: Record<string, unknown> & { title?: string };
  videoId?: string;
  [field: string]: unknown;
}

/** The end-to-end stack, a tenant's web page on its own origin, and Chromium to open it. */
export interface BrowserStack {
  stack: Stack;
  /** Gets every event (WEBHOOK_URLS). */
  hooks: Receiver;
  /** The uploads' callbackUrl. */
  callbacks: Receiver;
  front: TlsFront;
  /** Origin of the tenant's page: allowed in acme's `origins`. */
  pageOrigin: string;
  browser: Browser;
  /** A scratch directory for files to pick. */
  dir: string;
  /** `POST /v1/uploads` as the tenant's backend calls it (API key). */
  createUpload(body: Record<string, unknown>, key?: string): Promise<{ status: number; body: UploadReply & { error?: { code: string } } }>;
  /** A file of `size` random bytes in `dir`. */
  makeFile(name: string, size: number): Promise<string>;
  /** Opens the test page in a fresh context with `file` picked; `page.evaluate(startUpload)` starts it. */
  openPage(file: string): Promise<Page>;
  stop(): Promise<void>;
}

/** Chromium may reach loopback only; Alibaba's hosts go to the TLS front, anything else to nowhere. */
function resolverRules(region: string, frontPort: number): string {
  return [
    `MAP ${vodHost(region)} 127.0.0.1:${frontPort}`,
    `MAP ${TELEMETRY_HOST} 127.0.0.1:${frontPort}`,
    'MAP * ~NOTFOUND',
    'EXCLUDE localhost',
    'EXCLUDE *.localhost',
    'EXCLUDE 127.0.0.1',
  ].join(', ');
}

export async function startBrowserStack(o: BrowserStackOptions = {}): Promise<BrowserStack> {
  const { chromium } = await import('playwright-core');
  const webhookSecret = `whsec_${randomBytes(24).toString('base64')}`;
  const vodCallbackKey = randomBytes(16).toString('hex');
  const [hooks, callbacks, pages, apiPort, emulatorPort] = await Promise.all([
    startReceiver(webhookSecret),
    startReceiver(webhookSecret),
    startPageServer(),
    freePort(),
    freePort(),
  ]);
  // The tenant's page, and the api's own demo page (/demo/).
  const corsOrigins = [pages.origin, `http://127.0.0.1:${apiPort}`];
  const dir = mkdtempSync(path.join(tmpdir(), 'vod-ingest-browser-'));
  const stoppers: Array<() => Promise<unknown>> = [
    () => hooks.close(),
    () => callbacks.close(),
    () => pages.close(),
    async () => rmSync(dir, { recursive: true, force: true }),
  ];
  try {
    const stack = await startStack({
      tenants: (bucket) => ({ acme: { vod: true, oss: [{ bucket, prefix: '' }], origins: [pages.origin] } }),
      emulator: {
        tokenTtlSeconds: o.tokenTtlSeconds,
        env: {
          PORT: String(emulatorPort),
          // ali-oss in the browser turns this into http://<bucket>.localhost:<port>, loopback for Chromium.
          EMULATOR_PUBLIC_URL: `http://localhost:${emulatorPort}`,
          EMULATOR_CORS_ORIGINS: corsOrigins.join(','),
          EMULATOR_VOD_CALLBACK_URL: `http://127.0.0.1:${apiPort}/v1/vod/events`,
          EMULATOR_VOD_CALLBACK_KEY: vodCallbackKey,
          EMULATOR_VOD_PROCESSING_MS: String(o.processingMs ?? 500),
        },
      },
      apiEnv: { PORT: String(apiPort), VOD_CALLBACK_KEY: vodCallbackKey },
      workerEnv: { WEBHOOK_SECRET: webhookSecret, WEBHOOK_URLS: hooks.url },
    });
    stoppers.unshift(() => stack.stop());
    const front = await startTlsFront({ emulatorPort: stack.emu.port, region: stack.emu.region });
    stoppers.unshift(() => front.close());
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--ignore-certificate-errors',
        `--host-resolver-rules=${resolverRules(stack.emu.region, front.port)}`,
      ],
    });
    stoppers.unshift(() => browser.close());

    return {
      stack,
      hooks,
      callbacks,
      front,
      pageOrigin: pages.origin,
      browser,
      dir,
      async createUpload(body, key = KEYS.acme) {
        const res = await fetch(`${stack.api.url}/v1/uploads`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as UploadReply & { error?: { code: string } } };
      },
      async makeFile(name, size) {
        const file = path.join(dir, name);
        await writeRandomFile(file, size);
        return file;
      },
      async openPage(file) {
        const context = await browser.newContext();
        const page = await context.newPage();
        page.on('close', () => void context.close().catch(() => {}));
        await page.goto(`${pages.origin}/`);
        await page.setInputFiles('#file', file);
        return page;
      },
      async stop() {
        for (const stop of stoppers) await stop().catch(() => {});
      },
    };
  } catch (err) {
    for (const stop of stoppers) await stop().catch(() => {});
    throw err;
  }
}

/** What the page's SDK reported so far (see page/test-page.js). */
export type PageEvent = {
  type: string;
  at: number;
  videoId?: string;
  uploadId?: string;
  object?: string;
  bucket?: string;
  code?: string;
  message?: string;
  loaded?: number;
  partsDone?: number;
};

export const pageEvents = (page: Page) => page.evaluate(() => (globalThis as unknown as { uploadEvents: PageEvent[] }).uploadEvents);

/** Starts the upload on the page: `mode` 'auth' (UploadAuth) or 'sts' (Alibaba's STS sample). */
export function startUpload(page: Page, o: { apiUrl: string; upload: UploadReply; mode: 'auth' | 'sts'; sdk?: Record<string, unknown> }) {
  return page.evaluate((args) => (globalThis as unknown as { startUpload(a: unknown): void }).startUpload(args), o);
}

/** Waits until the page's SDK reported `succeeded` (resolves) or `failed` (throws with what it said). */
export async function uploadOutcome(page: Page, timeoutMs = 120_000): Promise<PageEvent[]> {
  await page.waitForFunction(
    () => (globalThis as unknown as { uploadEvents: PageEvent[] }).uploadEvents.some((e) => e.type === 'succeeded' || e.type === 'failed'),
    undefined,
    { timeout: timeoutMs, polling: 200 },
  );
  const events = await pageEvents(page);
  const failed = events.find((e) => e.type === 'failed');
  if (failed) throw new Error(`upload failed on the page: ${JSON.stringify(failed)}; events: ${JSON.stringify(events.filter((e) => e.type !== 'progress'))}`);
  return events;
}

/** The events of one upload a receiver verified, in arrival order. */
export const eventsOf = (r: Receiver, uploadId: string): JobEvent[] => r.events.filter((e) => e.uploadId === uploadId);
