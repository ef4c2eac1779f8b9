import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyAddress, isForbiddenAddress } from '../src/sources/address.js';
import { checkUrlHop, hostOf } from '../src/sources/url-guard.js';

/** address → the range that refuses it (and the IPv4 inside, for the IPv6 forms that carry one). */
const forbidden: Array<[string, string, string?]> = [
  // IPv4
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['10.0.0.1', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['100.64.0.1', 'carrierGradeNat'],
  ['100.100.100.200', 'carrierGradeNat'], // Alibaba Cloud metadata
  ['169.254.169.254', 'linkLocal'], // metadata
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.255', 'broadcast'],
  ['192.0.0.8', 'reserved'],
  ['192.0.2.1', 'reserved'],
  ['198.18.0.1', 'reserved'], // benchmarking
  ['198.51.100.7', 'reserved'],
  ['203.0.113.9', 'reserved'],
  ['192.88.99.1', 'reserved'],
  // IPv6
  ['::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['::', 'unspecified'],
  ['fe80::1', 'linkLocal'],
  ['fe80::1%eth0', 'linkLocal'],
  ['febf::1', 'linkLocal'],
  ['fec0::1', 'deprecatedSiteLocal'],
  ['fc00::1', 'uniqueLocal'],
  ['fd00::1', 'uniqueLocal'],
  ['fd00:ec2::254', 'uniqueLocal'], // AWS's IPv6 metadata
  ['ff02::1', 'multicast'],
  ['ff05::2', 'multicast'],
  ['100::1', 'discard'],
  ['2001:db8::1', 'reserved'],
  ['3fff::1', 'reserved'],
  ['5f00::1', 'segmentRouting'],
  ['4000::1', 'notGlobalUnicast'],
  ['e000::1', 'notGlobalUnicast'],
  // IPv4-mapped, judged by the IPv4 inside, dotted or hex
  ['::ffff:127.0.0.1', 'ipv4Mapped', '127.0.0.1'],
  ['::ffff:7f00:1', 'ipv4Mapped', '127.0.0.1'],
  ['0:0:0:0:0:ffff:7f00:1', 'ipv4Mapped', '127.0.0.1'],
  ['::ffff:10.0.0.1', 'ipv4Mapped', '10.0.0.1'],
  ['::ffff:a9fe:a9fe', 'ipv4Mapped', '169.254.169.254'],
  ['::ffff:100.100.100.200', 'ipv4Mapped', '100.100.100.200'],
  ['::ffff:0.0.0.0', 'ipv4Mapped', '0.0.0.0'],
  // NAT64 well-known prefix, judged by the IPv4 inside
  ['64:ff9b::127.0.0.1', 'nat64', '127.0.0.1'],
  ['64:ff9b::a9fe:a9fe', 'nat64', '169.254.169.254'],
  ['64:ff9b::10.1.2.3', 'nat64', '10.1.2.3'],
  // Refused whatever the IPv4 inside
  ['::127.0.0.1', 'ipv4Compatible', '127.0.0.1'],
  ['::7f00:1', 'ipv4Compatible', '127.0.0.1'],
  ['::8.8.8.8', 'ipv4Compatible', '8.8.8.8'],
  ['::ffff:0:127.0.0.1', 'rfc6145', '127.0.0.1'],
  ['::ffff:0:808:808', 'rfc6145', '8.8.8.8'],
  ['64:ff9b:1::7f00:1', 'nat64Local'],
  ['64:ff9b:1:808:8:800::', 'nat64Local'],
  ['2002:7f00:1::', '6to4', '127.0.0.1'],
  ['2002:a9fe:a9fe::1', '6to4', '169.254.169.254'],
  ['2002:808:808::1', '6to4', '8.8.8.8'],
  ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'teredo', '127.0.0.1'],
  ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', 'teredo', '8.8.8.8'],
  // Not an address
  ['', 'invalid'],
  ['localhost', 'invalid'],
  ['127.1', 'invalid'],
  ['0177.0.0.1', 'invalid'],
  ['2130706433', 'invalid'],
  ['[::1]', 'invalid'],
];

const allowed: Array<[string, string, string?]> = [
  ['8.8.8.8', 'unicast'],
  ['47.100.1.1', 'unicast'], // Alibaba Cloud public
  ['100.63.255.255', 'unicast'],
  ['100.128.0.1', 'unicast'],
  ['172.15.255.255', 'unicast'],
  ['172.32.0.1', 'unicast'],
  ['2400:3200::1', 'unicast'], // Alibaba public DNS
  ['2606:4700:4700::1111', 'unicast'],
  ['::ffff:8.8.8.8', 'ipv4Mapped', '8.8.8.8'],
  ['::ffff:2f64:101', 'ipv4Mapped', '47.100.1.1'],
  ['64:ff9b::8.8.8.8', 'nat64', '8.8.8.8'],
];

describe('classifyAddress', () => {
  for (const [address, range, inner] of forbidden) {
    test(`${address || '(empty)'} is refused as ${range}${inner ? ` (${inner})` : ''}`, () => {
      const c = classifyAddress(address);
      assert.equal(c.forbidden, true);
      assert.equal(c.range, range);
      assert.equal(c.embedded, inner);
      assert.equal(isForbiddenAddress(address), true);
    });
  }
  for (const [address, range, inner] of allowed) {
    test(`${address} is allowed as ${range}${inner ? ` (${inner})` : ''}`, () => {
      const c = classifyAddress(address);
      assert.equal(c.forbidden, false);
      assert.equal(c.range, range);
      assert.equal(c.embedded, inner);
      assert.equal(isForbiddenAddress(address), false);
    });
  }
});

/** How a URL may spell a host → the address WHATWG parsing makes of it, which is what is dialled. */
const spellings: Array<[string, string]> = [
  ['127.1', '127.0.0.1'],
  ['2130706433', '127.0.0.1'],
  ['0x7f000001', '127.0.0.1'],
  ['0x7f.1', '127.0.0.1'],
  ['0177.0.0.1', '127.0.0.1'],
  ['017700000001', '127.0.0.1'],
  ['127.000.000.001', '127.0.0.1'],
  ['127.0.0.1.', '127.0.0.1'],
  ['%31%32%37.0.0.1', '127.0.0.1'],
  ['0', '0.0.0.0'],
  ['0xa9fea9fe', '169.254.169.254'],
  ['0251.0376.0251.0376', '169.254.169.254'],
  ['100.6579400', '100.100.100.200'],
  ['012.1', '10.0.0.1'],
  ['[0:0:0:0:0:0:0:1]', '::1'],
  ['[::ffff:127.0.0.1]', '::ffff:7f00:1'],
  ['[::127.0.0.1]', '::7f00:1'],
  ['[::ffff:0:127.0.0.1]', '::ffff:0:7f00:1'],
  ['[64:ff9b::127.0.0.1]', '64:ff9b::7f00:1'],
  ['[::ffff:169.254.169.254]', '::ffff:a9fe:a9fe'],
  ['[FE80::1]', 'fe80::1'],
];

describe('odd spellings in URLs are classified as the address they are dialled at', () => {
  for (const [spelled, host] of spellings) {
    test(`http://${spelled}/ → ${host}, refused`, () => {
      const url = new URL(`http://${spelled}/`);
      assert.equal(hostOf(url), host);
      assert.equal(isForbiddenAddress(host), true);
      assert.throws(
        () => checkUrlHop(url.href, { allowlist: [] }),
        (e: { code?: string }) => e.code === 'SOURCE_URL_FORBIDDEN_ADDRESS',
      );
    });
  }

  test('an allowlisted literal passes in its normalized form', () => {
    assert.equal(checkUrlHop('http://2130706433:8080/x', { allowlist: ['127.0.0.1'] }).host, '127.0.0.1:8080');
    assert.equal(checkUrlHop('http://[0::1]/x', { allowlist: ['::1'] }).hostname, '[::1]');
  });
});
