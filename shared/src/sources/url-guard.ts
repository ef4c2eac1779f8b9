import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { AppError, ValidationError } from '../errors.js';

/**
 * Addresses a `url` source may not reach unless its host is allowlisted: loopback, private,
 * link-local (cloud metadata at 169.254.169.254 / 100.100.100.200 on Alibaba Cloud), CGNAT,
 * unspecified, multicast and reserved ranges, IPv4 and IPv6 (IPv4-mapped forms included).
 */
const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96], ['2001:db8::', 32],
] as const) blocked.addSubnet(net, prefix, 'ipv6');

export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return blocked.check(mapped[1], 'ipv4');
    return blocked.check(address, 'ipv6');
  }
  return blocked.check(address, 'ipv4');
}

export interface UrlPolicy {
  /** Hosts (names or IPs, lower case) that may be reached even when private or loopback (URL_ALLOWLIST). */
  allowlist: readonly string[];
}

const urlError = (code: string, message: string) => new ValidationError(message, [{ field: 'source.url', message }], code);

/** Checks a URL's shape: http(s) only, no credentials in it, a host. Throws with a specific code. */
export function checkUrlShape(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw urlError('SOURCE_URL_INVALID', 'source.url is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw urlError('SOURCE_URL_SCHEME', `source.url scheme ${url.protocol} is not allowed (http and https only)`);
  if (url.username || url.password) throw urlError('SOURCE_URL_CREDENTIALS', 'source.url may not carry credentials; use source.headers');
  if (!url.hostname) throw urlError('SOURCE_URL_INVALID', 'source.url has no host');
  return url;
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

/**
 * A `dns.lookup` replacement that refuses forbidden addresses at connect time, so the check holds
 * for the address actually dialled (no DNS-rebinding gap between check and connect).
 */
export function guardedLookup(policy: UrlPolicy) {
  return (hostname: string, options: object, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses as LookupAddress[];
      const allowed = policy.allowlist.includes(hostname.toLowerCase()) ? list : list.filter((a) => !isForbiddenAddress(a.address));
      if (allowed.length === 0) {
        const e = Object.assign(new Error(`${hostname} resolves only to forbidden addresses`), { code: 'SOURCE_URL_FORBIDDEN_ADDRESS' });
        return callback(e, []);
      }
      if ((options as { all?: boolean }).all) return callback(null, allowed);
      callback(null, allowed[0].address, allowed[0].family);
    });
  };
}

/**
 * Checks where a URL would go before anything is sent: its shape, then every address its host
 * resolves to (an IP literal is its own address). Allowlisted hosts pass.
 */
export async function checkUrlTarget(raw: string, policy: UrlPolicy): Promise<URL> {
  const url = checkUrlShape(raw);
  const host = hostOf(url);
  if (policy.allowlist.includes(host)) return url;
  const addresses = isIP(host)
    ? [host]
    : await new Promise<string[]>((resolve, reject) =>
        dnsLookup(host, { all: true }, (err, list) => (err ? reject(urlError('SOURCE_URL_UNRESOLVABLE', `source.url host ${host} does not resolve`)) : resolve(list.map((a) => a.address)))),
      );
  if (addresses.some(isForbiddenAddress)) {
    throw new AppError('SOURCE_URL_FORBIDDEN_ADDRESS', `source.url points at a private, loopback, link-local or reserved address`, { status: 403 });
  }
  return url;
}

/**
 * Follows a URL's redirects by hand (at most `maxHops`), checking each hop's target with
 * `checkUrlTarget` before requesting it. Returns the final URL; the caller fetches it. The api's
 * pre-check: the address dialled is not pinned here, so the worker's download re-checks at
 * connect time (`guardedLookup`). `headers` are dropped once a hop leaves the first origin.
 */
export async function resolveRedirects(raw: string, policy: UrlPolicy, init: { headers?: Record<string, string>; maxHops?: number } = {}): Promise<URL> {
  let url = await checkUrlTarget(raw, policy);
  let headers = init.headers;
  for (let hop = 0; hop <= (init.maxHops ?? 5); hop++) {
    const res = await fetch(url, { method: 'HEAD', redirect: 'manual', headers, signal: AbortSignal.timeout(10_000) });
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) return url;
    const next = await checkUrlTarget(new URL(location, url).toString(), policy);
    // The caller's headers (Authorization, cookies) go to the origin they were meant for only.
    if (next.origin !== url.origin) headers = undefined;
    url = next;
  }
  throw new AppError('SOURCE_URL_TOO_MANY_REDIRECTS', 'source.url redirects too many times', { status: 400 });
}
