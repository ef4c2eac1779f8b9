import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { AppError, ValidationError } from '../errors.js';
import { isForbiddenAddress } from './address.js';

export interface UrlPolicy {
  /** Hosts (names or IPs, lower case) that may be reached even when private or loopback (URL_ALLOWLIST). */
  allowlist: readonly string[];
}

const urlError = (code: string, message: string) => new ValidationError(message, [{ field: 'source.url', message }], code);

/** 403 `SOURCE_URL_FORBIDDEN_ADDRESS`: a URL or one of its redirect hops leads to an address the guard refuses. */
export const forbiddenAddressError = (cause?: unknown): AppError =>
  new AppError('SOURCE_URL_FORBIDDEN_ADDRESS', 'source.url points at a private, loopback, link-local or reserved address', { status: 403, cause });

/** Checks a URL's shape: http(s) only, no credentials in it, a host. Throws with a specific code. */
export function checkUrlShape(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw urlError('SOURCE_URL_INVALID', 'source.url is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw urlError('SOURCE_URL_SCHEME', `source.url scheme ${url.protocol} is not allowed (http and https only)`);
  if (url.username || url.password) throw urlError('SOURCE_URL_CREDENTIALS', 'source.url may not carry credentials; use source.headers');
  if (!url.hostname) throw urlError('SOURCE_URL_INVALID', 'source.url has no host');
  return url;
}

/** A URL's host as it is dialled and allowlisted: WHATWG-normalized (`2130706433` → `127.0.0.1`), no brackets, lower case. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

const allowlisted = (host: string, policy: UrlPolicy) => policy.allowlist.includes(host.toLowerCase());

/**
 * Checks one hop before it is requested: its shape (`checkUrlShape`), and, when its host is an IP
 * literal, the address itself — Node dials IP literals without calling `lookup`, so the guarded
 * lookup alone would let `http://169.254.169.254/` through. Host names are left to the agent's
 * `guardedLookup`, which checks the address actually dialled.
 */
export function checkUrlHop(raw: string, policy: UrlPolicy): URL {
  const url = checkUrlShape(raw);
  const host = hostOf(url);
  if (isIP(host) && !allowlisted(host, policy) && isForbiddenAddress(host)) throw forbiddenAddressError();
  return url;
}

/**
 * A `dns.lookup` replacement that refuses forbidden addresses at connect time, so the check holds
 * for the address actually dialled (no DNS-rebinding gap between check and connect). Forbidden
 * answers are dropped; when none is left the lookup fails with code `SOURCE_URL_FORBIDDEN_ADDRESS`.
 */
export function guardedLookup(policy: UrlPolicy) {
  return (hostname: string, options: object, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses as LookupAddress[];
      const allowed = allowlisted(hostname, policy) ? list : list.filter((a) => !isForbiddenAddress(a.address));
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
 * Checks where a URL would go without sending anything: its shape, then every address its host
 * resolves to (an IP literal is its own address); one forbidden address refuses it. Allowlisted
 * hosts pass. For URLs that are only stored now and dialled later through the guarded agent
 * (`callbackUrl`); a URL fetched now goes through `probeUrl`.
 */
export async function checkUrlTarget(raw: string, policy: UrlPolicy): Promise<URL> {
  const url = checkUrlShape(raw);
  const host = hostOf(url);
  if (allowlisted(host, policy)) return url;
  const addresses = isIP(host)
    ? [host]
    : await new Promise<string[]>((resolve, reject) =>
        dnsLookup(host, { all: true }, (err, list) =>
          err ? reject(urlError('SOURCE_URL_UNRESOLVABLE', `source.url host ${host} does not resolve`)) : resolve(list.map((a) => a.address)),
        ),
      );
  if (addresses.some(isForbiddenAddress)) throw forbiddenAddressError();
  return url;
}
