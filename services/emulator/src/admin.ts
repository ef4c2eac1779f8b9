import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { faultRuleSchema, type FaultInjector } from './faults.js';
import { readSmallBody, sendJson } from './http-util.js';
import type { CallbackSender } from './notify/callback-sender.js';
import type { OssStore } from './oss/store.js';
import type { VideoStore } from './pop/video-store.js';

/** Path prefix of the admin API (fault injection and inspection), served only with EMULATOR_ADMIN=1. */
export const ADMIN_PREFIX = '/__emulator/';

export interface AdminDeps {
  faults: FaultInjector;
  oss: OssStore;
  videos: VideoStore;
  callbacks: CallbackSender;
}

const rulesBody = z.object({ rules: z.array(faultRuleSchema) });

/**
 * - `GET /__emulator/stats` → `{requests: {Action: n}, faults: {Action: n}, partsReplaced,
 *   callbacks: {EventType: {delivered, failed, dropped}}}` (VOD notification tries that got a
 *   200, tries that failed, events dropped after the last try); `DELETE` resets.
 * - `GET /__emulator/faults`; `POST` adds `{rules: [...]}`; `PUT` replaces; `DELETE` clears.
 * - `GET /__emulator/objects?bucket=b`, `GET /__emulator/uploads`, `GET /__emulator/videos`.
 */
export async function handleAdmin(req: IncomingMessage, res: ServerResponse, deps: AdminDeps): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://emulator');
  const route = `${req.method} ${url.pathname.slice(ADMIN_PREFIX.length)}`;
  try {
    switch (route) {
      case 'GET stats':
        return sendJson(res, 200, { ...deps.faults.stats(), partsReplaced: deps.oss.partsReplaced, callbacks: deps.callbacks.stats() });
      case 'DELETE stats':
        deps.faults.resetStats();
        deps.oss.partsReplaced = 0;
        deps.callbacks.resetStats();
        return sendJson(res, 200, { ...deps.faults.stats(), partsReplaced: 0, callbacks: {} });
      case 'GET faults':
        return sendJson(res, 200, { rules: deps.faults.list() });
      case 'PUT faults':
      case 'POST faults': {
        const parsed = rulesBody.safeParse(JSON.parse((await readSmallBody(req)).toString('utf8') || '{}'));
        if (!parsed.success) return sendJson(res, 400, { error: { code: 'INVALID_RULES', message: parsed.error.message } });
        if (req.method === 'PUT') deps.faults.clear();
        const ids = parsed.data.rules.map((r) => deps.faults.add(r));
        return sendJson(res, 200, { ids, rules: deps.faults.list() });
      }
      case 'DELETE faults':
        deps.faults.clear();
        return sendJson(res, 200, { rules: [] });
      case 'GET objects':
        return sendJson(res, 200, { objects: await deps.oss.listObjects(url.searchParams.get('bucket') ?? '') });
      case 'GET uploads':
        return sendJson(res, 200, { uploads: await deps.oss.listUploads() });
      case 'GET videos':
        return sendJson(res, 200, { videos: deps.videos.all() });
      default:
        return sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `no admin route ${route}` } });
    }
  } catch (err) {
    return sendJson(res, 400, { error: { code: 'BAD_REQUEST', message: (err as Error).message } });
  }
}
