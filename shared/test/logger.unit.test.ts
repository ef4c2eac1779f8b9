import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger, safeUrl } from '../src/logger.js';

function capture() {
  let out = '';
  const destination = new Writable({
    write(chunk, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  return { destination, text: () => out };
}

test('secrets are redacted wherever they sit in a logged object', async () => {
  const sink = capture();
  const log = createLogger('test', { destination: sink.destination });
  const secrets = ['ak-secret-1', 'sts-token-2', 'Bearer api-key-3', 'oss-token-4', 'upload-auth-5', 'whsec_6'];
  log.info({ AccessKeySecret: secrets[0], credentials: { SecurityToken: secrets[1] } }, 'CredentialIssued');
  log.info({ req: { headers: { authorization: secrets[2], 'x-oss-security-token': secrets[3] } } }, 'Request');
  log.info({ body: { UploadAuth: secrets[4] }, webhookSecret: secrets[5] }, 'Other');
  await new Promise((r) => setImmediate(r));
  const text = sink.text();
  for (const s of secrets) assert.ok(!text.includes(s), `${s} must not be logged`);
  assert.equal((text.match(/\[REDACTED\]/g) ?? []).length, secrets.length);
  const first = JSON.parse(text.split('\n')[0]);
  assert.equal(first.msg, 'CredentialIssued');
  assert.equal(first.service, 'test');
});

test('safeUrl drops user info and query', () => {
  assert.equal(safeUrl('https://user:pw@example.com/a?token=x'), 'https://example.com/a?[REDACTED]');
  assert.equal(safeUrl('not a url'), '[unparseable url]');
});
