/**
 * openapi-core wants `host[:port]` plus a protocol; operators write URLs. Accepts
 * `http://localhost:9100`, `localhost:9100` (http assumed for localhost), or `sts.aliyuncs.com`.
 */
export function popEndpoint(value: string): { endpoint: string; protocol: 'http' | 'https' } {
  const m = /^(https?):\/\/([^/]+)\/?$/i.exec(value.trim());
  if (m) return { protocol: m[1].toLowerCase() as 'http' | 'https', endpoint: m[2] };
  const host = value.trim().replace(/\/$/, '');
  const local = /^(localhost|127\.|\[::1\])/.test(host);
  return { endpoint: host, protocol: local ? 'http' : 'https' };
}
