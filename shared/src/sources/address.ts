import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** What `classifyAddress` says of one IP address. */
export interface AddressClass {
  /** True when a url source, callback or webhook may not reach it (unless its host is allowlisted). */
  forbidden: boolean;
  /**
   * The range that decided: ipaddr.js's name (`unicast`, `loopback`, `private`, `linkLocal`,
   * `carrierGradeNat`, `uniqueLocal`, `ipv4Mapped`, `6to4`, `teredo`, `reserved`, …) or one of ours:
   * `invalid`, `ipv4Compatible` (::/96), `nat64` (64:ff9b::/96), `nat64Local` (64:ff9b:1::/48),
   * `notGlobalUnicast` (IPv6 outside 2000::/3).
   */
  range: string;
  /** The IPv4 address carried inside an IPv6 one (mapped, compatible, translated, NAT64, 6to4, Teredo). */
  embedded?: string;
  /** For an IPv6 address classified by its embedded IPv4 one: that address's range. */
  embeddedRange?: string;
}

const GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR('2000::/3');
const COMPATIBLE = ipaddr.IPv6.parseCIDR('::/96');
const TRANSLATED = ipaddr.IPv6.parseCIDR('::ffff:0:0:0/96');
const NAT64 = ipaddr.IPv6.parseCIDR('64:ff9b::/96');

/**
 * Classifies an IP address (as Node's `isIP` accepts it, or as a WHATWG URL writes a host) for the
 * SSRF guard. Allowed are only public unicast addresses:
 * - IPv4: ipaddr.js's `unicast` range; refused are 0.0.0.0/8, 10/8, 100.64/10 (CGNAT, Alibaba's
 *   metadata 100.100.100.200), 127/8, 169.254/16 (metadata 169.254.169.254), 172.16/12, 192.168/16,
 *   192.0.0/24, the documentation and benchmarking nets, 192.88.99/24, multicast, 240/4, broadcast,
 *   AS112 and AMT.
 * - IPv6: global unicast (2000::/3) minus ipaddr.js's special ranges (2001::/23 with Teredo,
 *   2001:db8::/32, 2002::/16 6to4, 3fff::/20, AS112, ORCHID…). Anything outside 2000::/3 is refused
 *   (::, ::1, fc00::/7, fe80::/10, fec0::/10, ff00::/8, 100::/64, 5f00::/16…), except two forms
 *   that carry an IPv4 address and are judged by it: IPv4-mapped ::ffff:a.b.c.d and the NAT64
 *   well-known prefix 64:ff9b::a.b.c.d (what DNS64 hands out for IPv4-only hosts).
 * - Refused whatever the IPv4 inside: IPv4-compatible ::a.b.c.d, IPv4-translated ::ffff:0:a.b.c.d,
 *   local-use NAT64 64:ff9b:1::/48, 6to4 and Teredo (deprecated transition forms nobody serves
 *   media from; their embedded IPv4 is reported but not trusted).
 * Anything that is not an IP address is `invalid` and forbidden.
 */
export function classifyAddress(address: string): AddressClass {
  const family = isIP(address);
  if (family === 4 && ipaddr.IPv4.isValidFourPartDecimal(address)) return classifyV4(ipaddr.IPv4.parse(address));
  const v6 = family === 6 ? hexSpelling(address) : undefined;
  if (v6 && ipaddr.IPv6.isValid(v6)) return classifyV6(ipaddr.IPv6.parse(v6));
  return { forbidden: true, range: 'invalid' };
}

/**
 * An IPv6 address as WHATWG URLs write it (hex groups only, no zone): ipaddr.js reads `::a.b.c.d`
 * as IPv4-mapped, while it is IPv4-compatible (RFC 4291) and is dialled as `::7f00:1`.
 */
function hexSpelling(address: string): string | undefined {
  try {
    return new URL(`http://[${address.replace(/%.*$/, '')}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}

/** True unless `address` is a public unicast IP address (see `classifyAddress`). */
export function isForbiddenAddress(address: string): boolean {
  return classifyAddress(address).forbidden;
}

function classifyV4(ip: ipaddr.IPv4): AddressClass {
  const range = ip.range();
  return { forbidden: range !== 'unicast', range };
}

function classifyV6(ip: ipaddr.IPv6): AddressClass {
  const range = ip.range();
  if (range === 'ipv4Mapped') return embedded(range, ip.toIPv4Address(), true);
  if (ip.match(NAT64)) return embedded('nat64', lowV4(ip), true);
  if (range === 'rfc6052') return { forbidden: true, range: 'nat64Local' };
  if (ip.match(TRANSLATED)) return embedded('rfc6145', lowV4(ip), false);
  if (range === 'unspecified' || range === 'loopback') return { forbidden: true, range };
  if (ip.match(COMPATIBLE)) return embedded('ipv4Compatible', lowV4(ip), false);
  if (range === '6to4') return embedded(range, new ipaddr.IPv4(bytes(ip.parts[1], ip.parts[2])), false);
  if (range === 'teredo') return embedded(range, new ipaddr.IPv4(bytes(ip.parts[6] ^ 0xffff, ip.parts[7] ^ 0xffff)), false);
  if (!ip.match(GLOBAL_UNICAST)) return { forbidden: true, range: range === 'unicast' ? 'notGlobalUnicast' : range };
  return { forbidden: range !== 'unicast', range };
}

/** An IPv6 form carrying `v4`: judged by it when `trusted`, refused otherwise. */
function embedded(range: string, v4: ipaddr.IPv4, trusted: boolean): AddressClass {
  const inner = classifyV4(v4);
  return { forbidden: !trusted || inner.forbidden, range, embedded: v4.toString(), embeddedRange: inner.range };
}

const lowV4 = (ip: ipaddr.IPv6) => new ipaddr.IPv4(bytes(ip.parts[6], ip.parts[7]));
const bytes = (hi: number, lo: number) => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff];
