import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newWebhookSecret, signWebhook, verifyWebhook } from '../src/events/webhook-signature.js';

// The example of the Standard Webhooks / svix documentation.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TS = 1614265330;
const BODY = '{"test": 2432232314}';

test('signs as the spec example does', () => {
  assert.equal(signWebhook(SECRET, ID, TS, BODY)['webhook-signature'], 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
});

test('verifies good deliveries and refuses tampered, stale or unsigned ones', () => {
  const h = signWebhook(SECRET, ID, TS, BODY);
  verifyWebhook(SECRET, h, BODY, TS + 10);
  verifyWebhook(SECRET, { ...h, 'webhook-signature': `v1,bm90IGl0 ${h['webhook-signature']}` }, BODY, TS); // rotation: any match
  assert.throws(() => verifyWebhook(SECRET, h, BODY.replace('2', '3'), TS), /no matching/);
  assert.throws(() => verifyWebhook(SECRET, { ...h, 'webhook-id': 'msg_other' }, BODY, TS), /no matching/);
  assert.throws(() => verifyWebhook(newWebhookSecret(), h, BODY, TS), /no matching/);
  assert.throws(() => verifyWebhook(SECRET, h, BODY, TS + 301), /tolerance/);
  assert.throws(() => verifyWebhook(SECRET, { ...h, 'webhook-signature': undefined }, BODY, TS), /missing/);
  assert.throws(() => verifyWebhook(SECRET, { ...h, 'webhook-signature': 'v2,abc' }, BODY, TS), /no matching/);
});
