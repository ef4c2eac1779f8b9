import type { IncomingMessage, ServerResponse } from 'node:http';
import { OSS_EXPOSED_HEADERS, type CorsPolicy } from '../cors.js';
import { drain } from '../http-util.js';
import { newRequestId, sendXml } from './reply.js';
import { toXml } from './xml.js';

/** OSS's words when a preflight does not match the bucket's CORS rule (sic). */
const CORS_REFUSED =
  "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Requet-Headers are not whitelisted by the resource's CORS spec.";

/**
 * Answers an `OPTIONS` preflight as OSS does with a bucket CORS rule: before any authentication
 * (a browser sends no credentials with it), 403 `AccessForbidden` when the rule does not match.
 */
export function handleOssPreflight(req: IncomingMessage, res: ServerResponse, deps: { cors: CorsPolicy; hostId: string }): void {
  drain(req);
  const requestId = newRequestId();
  const verdict = deps.cors.preflight(req, OSS_EXPOSED_HEADERS);
  if (verdict.allowed) {
    res.writeHead(200, { ...verdict.headers, 'x-oss-request-id': requestId, server: 'AliyunOSS', 'content-length': 0 });
    res.end();
    return;
  }
  const xml = toXml('Error', {
    Code: 'AccessForbidden',
    Message: CORS_REFUSED,
    RequestId: requestId,
    HostId: deps.hostId,
    Method: String(req.headers['access-control-request-method'] ?? ''),
    Header: String(req.headers['access-control-request-headers'] ?? ''),
  });
  sendXml(res, 403, xml, { 'x-oss-request-id': requestId, server: 'AliyunOSS' });
}
