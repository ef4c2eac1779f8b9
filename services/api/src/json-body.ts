import type { Request } from 'express';
import { AppError } from '@vod-ingest/shared';

/**
 * The parsed JSON body (express.json of `createBaseApp` parsed it, after refusing one nested more
 * than 32 deep with a 400 `JSON_TOO_DEEP`, so validation never meets such a body). A body of
 * another media type is a 415 `UNSUPPORTED_MEDIA_TYPE`; no body at all is `undefined`, for
 * validation to refuse.
 */
export function jsonBody(req: Request): unknown {
  if (req.body !== undefined) return req.body;
  const empty = req.headers['transfer-encoding'] === undefined && !Number(req.headers['content-length'] ?? 0);
  if (!empty) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json', { status: 415 });
  return undefined;
}
