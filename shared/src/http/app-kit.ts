import { timingSafeEqual, createHash } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import { AppError, NotFoundError, UnauthorizedError, ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import { jsonTooDeep, MAX_JSON_DEPTH } from './json-depth.js';
import { httpMetrics } from './metrics.js';
import { isPathDecodeError, malformedPathParams } from './path-params.js';

/** Readiness check: resolves when a dependency answers, throws otherwise. */
export type ReadinessCheck = () => Promise<void>;

export interface BaseAppOptions {
  log: Logger;
  registry: Registry;
  /** Named checks run by `/readyz`. */
  readiness: Record<string, ReadinessCheck>;
  /** Largest JSON body accepted. Defaults to 64 KiB. */
  jsonLimit?: string;
  /** Deepest nesting of objects and arrays in a JSON body (deeper: 400 `JSON_TOO_DEEP`). Defaults to 32. */
  jsonMaxDepth?: number;
}

/**
 * An express app with what every service serves: request metrics, JSON bodies with a size and
 * depth limit, `/healthz`, `/readyz`, `/metrics`. Add routes, then call `finishApp`.
 */
export function createBaseApp(options: BaseAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(httpMetrics(options.registry));
  app.use(
    express.json({
      limit: options.jsonLimit ?? '64kb',
      type: ['application/json', 'application/*+json'],
      verify: (_req, _res, body, encoding) => checkJsonDepth(body, encoding, options.jsonMaxDepth ?? MAX_JSON_DEPTH),
    }),
  );
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', async (_req, res) => {
    const results: Record<string, string> = {};
    let ok = true;
    await Promise.all(
      Object.entries(options.readiness).map(async ([name, check]) => {
        try {
          await withTimeout(check(), 2000);
          results[name] = 'ok';
        } catch (err) {
          ok = false;
          results[name] = (err as Error).message || 'unavailable';
        }
      }),
    );
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', checks: results });
  });
  app.get('/metrics', async (_req, res) => {
    res.set('content-type', options.registry.contentType);
    res.send(await options.registry.metrics());
  });
  return app;
}

/**
 * Refuses a body nested deeper than `max` before it is parsed (body-parser's `verify` runs first):
 * nothing after, JSON.parse, zod or JSON.stringify, then meets a body deep enough to exhaust the
 * stack. JSON other than UTF-8 is decoded for the count; one Node cannot decode is refused.
 */
function checkJsonDepth(body: Buffer, encoding: string, max: number): void {
  let text: Uint8Array | string = body;
  if (!/^utf-?8$/i.test(encoding)) {
    try {
      text = new TextDecoder(encoding).decode(body);
    } catch {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send JSON as UTF-8', { status: 415 });
    }
  }
  if (jsonTooDeep(text, max)) {
    const message = `JSON may nest objects and arrays at most ${max} levels deep`;
    throw new ValidationError('Request body is nested too deeply', [{ field: '(body)', message }], 'JSON_TOO_DEEP');
  }
}

/** 404 for anything unrouted, and the one error handler. */
export function finishApp(app: Express, log: Logger): Express {
  app.use((_req, _res, next) => next(new NotFoundError('No such route', 'ROUTE_NOT_FOUND')));
  app.use(errorHandler(log));
  return app;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}

/**
 * Maps body-parser failures, malformed path escapes (400 `INVALID_PATH`, naming the parameter)
 * and `AppError`s to `{"error":{code,message,details}}`; the rest is a 500 that leaks nothing.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const e = toAppError(err, req);
    if (e.status >= 500) log.error({ err, code: e.code, method: req.method, path: req.path }, 'RequestFailed');
    const retryAfter = (e as { retryAfterSeconds?: number }).retryAfterSeconds;
    if (retryAfter !== undefined) res.set('retry-after', String(retryAfter));
    res.status(e.status).json(e.toJSON());
  };
}

function toAppError(err: unknown, req: Request): AppError {
  if (err instanceof AppError) return err;
  if (isPathDecodeError(err)) {
    const message = 'not a valid percent-encoded path segment';
    const names = malformedPathParams(req);
    const details = (names.length ? names : ['path']).map((field) => ({ field, message }));
    return new ValidationError('Request path is malformed', details, 'INVALID_PATH');
  }
  const type = (err as { type?: string }).type;
  if (type === 'entity.too.large') return new AppError('PAYLOAD_TOO_LARGE', 'Request body is too large', { status: 413 });
  if (type === 'entity.parse.failed') return new AppError('INVALID_JSON', 'Request body is not valid JSON', { status: 400 });
  if (type === 'charset.unsupported' || type === 'encoding.unsupported') {
    return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported body encoding', { status: 415 });
  }
  return new AppError('INTERNAL', 'Internal server error', { status: 500, cause: err });
}

/** Constant-time string equality (hashes first so lengths do not leak). */
export function safeEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

const BEARER = /^Bearer +(\S+) *$/i;

/**
 * The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 7235;
 * the token has no whitespace), or undefined for no header or another scheme. The one Bearer
 * parser: service secrets, API keys, client tokens and the admin token all go through it.
 */
export function bearerToken(authorization: string | undefined): string | undefined {
  return BEARER.exec(authorization ?? '')?.[1];
}

/** Middleware: requires `Authorization: Bearer <secret>` (service-to-service calls). */
export function requireBearer(secret: string): RequestHandler {
  return (req, _res, next) => {
    const token = bearerToken(req.headers.authorization);
    if (token === undefined || !safeEqual(token, secret)) return next(new UnauthorizedError());
    next();
  };
}

/** Wraps an async route so a rejection reaches the error handler (express 5 does this too; kept explicit). */
export function route(fn: RequestHandler): RequestHandler {
  return (req, res, next) => {
    Promise.resolve(fn(req, res, next)).catch(next);
  };
}
