import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@vod-ingest/shared';
import { POP_EXPOSED_HEADERS, type CorsPolicy } from '../cors.js';
import { KeyError, popKeyError, type CredentialAuthority, type ResolvedKey } from '../credentials.js';
import { CloudError } from '../errors.js';
import { applyFaults, type FaultInjector } from '../faults.js';
import { drain, parseRawQuery, readSmallBody, sendJson } from '../http-util.js';
import { authorizePop } from './authorize.js';
import { parseAcs3, verifyAcs3, verifyRpcV2 } from './signature.js';
import { assumeRole, type StsOptions } from './sts.js';
import { createUploadVideo, getVideoInfo, refreshUploadVideo, type VodOptions } from './vod.js';

export const STS_VERSION = '2015-04-01';
export const VOD_VERSION = '2017-03-21';
const MAX_SKEW_MS = 15 * 60 * 1000;

export interface PopDeps {
  authority: CredentialAuthority;
  faults: FaultInjector;
  log: Logger;
  sts: StsOptions;
  vod: VodOptions;
  hostId: string;
  /** Browsers call VOD cross-origin (the web upload SDK's CreateUploadVideo). */
  cors: CorsPolicy;
}

/** `host`: the Host the caller used, for URLs that point back at us. */
type Handler = (params: Map<string, string>, caller: ResolvedKey, host: string) => Promise<Record<string, unknown>> | Record<string, unknown>;

/** True when a request is for a POP API (STS or VOD) rather than OSS. */
export function isPopRequest(req: IncomingMessage): boolean {
  if (req.headers['x-acs-version'] || req.headers['x-acs-action']) return true;
  // A preflight names the headers its request will carry instead of sending them.
  const requested = String(req.headers['access-control-request-headers'] ?? '');
  if (req.method === 'OPTIONS' && /(^|,)\s*x-acs-/i.test(requested)) return true;
  const url = req.url ?? '/';
  return url.startsWith('/?') && /[?&]Version=/.test(url) && /[?&]Action=/.test(url);
}

/** Remembers signature nonces for the skew window, so a replayed request is refused. */
class NonceCache {
  private readonly seen = new Map<string, number>();
  check(nonce: string, now = Date.now()): void {
    if (this.seen.size > 100_000) {
      for (const [n, t] of this.seen) if (now - t > MAX_SKEW_MS) this.seen.delete(n);
    }
    if (this.seen.has(nonce)) throw new CloudError(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.');
    this.seen.set(nonce, now);
  }
}

export function createPopHandler(deps: PopDeps) {
  const nonces = new NonceCache();
  const actions = new Map<string, Handler>([
    [`${STS_VERSION}/AssumeRole`, (p) => assumeRole(p, deps.sts)],
    [`${VOD_VERSION}/CreateUploadVideo`, (p, _c, host) => createUploadVideo(p, deps.vod, host)],
    [`${VOD_VERSION}/RefreshUploadVideo`, (p, _c, host) => refreshUploadVideo(p, deps.vod, host)],
    [`${VOD_VERSION}/GetVideoInfo`, (p) => getVideoInfo(p, deps.vod)],
  ]);

  return async function handlePop(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID().toUpperCase();
    deps.cors.applyToAnswer(req, res, POP_EXPOSED_HEADERS);
    let action = 'Unknown';
    try {
      const raw = req.url ?? '/';
      const q = raw.indexOf('?');
      const pathname = q < 0 ? raw : raw.slice(0, q);
      const query = parseRawQuery(q < 0 ? '' : raw.slice(q));
      const body = await readSmallBody(req, 1024 * 1024);
      const params = new Map<string, string>(query.map((p) => [p.key, p.value ?? '']));
      if (String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
        for (const p of parseRawQuery(body.toString('utf8').replace(/\+/g, '%20'))) params.set(p.key, p.value ?? '');
      }
      action = String(req.headers['x-acs-action'] ?? params.get('Action') ?? 'Unknown');
      const version = String(req.headers['x-acs-version'] ?? params.get('Version') ?? '');

      // openapi-core reads x-acs-retry-after in milliseconds.
      if (await applyFaults(deps.faults, action, req, (s) => ({ 'x-acs-retry-after': String(s * 1000) }))) return;

      const caller = authenticate(req, pathname, query, params, body, deps.authority, nonces);
      const handler = actions.get(`${version}/${action}`);
      if (!handler) {
        if (![STS_VERSION, VOD_VERSION].includes(version)) throw new CloudError(400, 'InvalidVersion', `Specified parameter Version is not valid: ${version}.`);
        throw new CloudError(404, 'InvalidAction.NotFound', `Specified api is not found, please check your url and method.`);
      }
      authorizePop(caller, { service: version === STS_VERSION ? 'sts' : 'vod', action, params }, deps.vod.region);
      const result = await handler(params, caller, req.headers.host ?? 'localhost');
      sendJson(res, 200, { RequestId: requestId, ...result });
    } catch (err) {
      drain(req);
      const e = err instanceof CloudError ? err : new CloudError(500, 'InternalError', 'The request processing has failed due to some unknown error.');
      if (!(err instanceof CloudError)) deps.log.error({ err, action }, 'PopInternalError');
      else deps.log.debug({ action, code: e.code, status: e.status }, 'PopRequestRejected');
      sendPopError(res, e, requestId, deps.hostId);
    }
  };
}

function sendPopError(res: ServerResponse, e: CloudError, requestId: string, hostId: string): void {
  const recommend = `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(e.code)}`;
  sendJson(res, e.status, { RequestId: requestId, HostId: hostId, Code: e.code, Message: e.message, Recommend: recommend }, e.headers);
}

/** Answers an `OPTIONS` preflight for a POP API before authentication, by the same CORS rule as OSS. */
export function handlePopPreflight(req: IncomingMessage, res: ServerResponse, deps: Pick<PopDeps, 'cors' | 'hostId'>): void {
  drain(req);
  const verdict = deps.cors.preflight(req, POP_EXPOSED_HEADERS);
  if (!verdict.allowed) {
    return sendPopError(
      res,
      new CloudError(403, 'AccessForbidden', 'CORSResponse: This CORS request is not allowed.'),
      randomUUID().toUpperCase(),
      deps.hostId,
    );
  }
  res.writeHead(200, { ...verdict.headers, 'content-length': 0 });
  res.end();
}

function checkTimestamp(stamp: string): void {
  const t = Date.parse(stamp);
  if (Number.isNaN(t)) throw new CloudError(400, 'InvalidTimeStamp.Format', 'Specified time stamp or date value is not well formatted.');
  if (Math.abs(Date.now() - t) > MAX_SKEW_MS) throw new CloudError(400, 'InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.');
}

function authenticate(
  req: IncomingMessage,
  pathname: string,
  query: Array<{ key: string; value: string | null }>,
  params: Map<string, string>,
  body: Buffer,
  authority: CredentialAuthority,
  nonces: NonceCache,
): ResolvedKey {
  const acs3 = parseAcs3(req.headers.authorization);
  const accessKeyId = acs3 ? acs3.accessKeyId : params.get('AccessKeyId');
  if (!accessKeyId || (!acs3 && !params.get('Signature'))) {
    throw new CloudError(
      400,
      'MissingParameter',
      'The input parameter "AccessKeyId" or "Signature" that is mandatory for processing this request is not supplied.',
    );
  }
  // Alibaba's web upload SDK signs its v2 GETs without a Timestamp and VOD serves them; then the
  // nonce alone (checked below) stops a replay. A Timestamp that is sent must be good.
  const stamp = acs3 ? String(req.headers['x-acs-date'] ?? '') : params.get('Timestamp');
  if (stamp !== undefined) checkTimestamp(stamp);

  const token = acs3 ? (req.headers['x-acs-security-token'] as string | undefined) : params.get('SecurityToken');
  let key: ResolvedKey;
  try {
    key = authority.resolve(accessKeyId, token);
  } catch (err) {
    if (err instanceof KeyError) throw popKeyError(err);
    throw err;
  }
  if (acs3) verifyAcs3(req, pathname, query, body, acs3, key.secret);
  else verifyRpcV2(req.method ?? 'POST', params, key.secret);
  const nonce = acs3 ? String(req.headers['x-acs-signature-nonce'] ?? '') : (params.get('SignatureNonce') ?? '');
  if (!nonce)
    throw new CloudError(400, 'MissingParameter', 'The input parameter "SignatureNonce" that is mandatory for processing this request is not supplied.');
  nonces.check(`${accessKeyId}/${nonce}`);
  return key;
}
