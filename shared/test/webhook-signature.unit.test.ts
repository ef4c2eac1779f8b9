import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signWebhook } from '../src/events/webhook-signature.js';

// The example of the Standard Webhooks / svix documentation.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TS = 1614265330;
const BODY = '{"test": 2432232314}';

test('signs as the spec example does', () => {
  assert.equal(signWebhook(SECRET, ID, TS, BODY)['webhook-signature'], 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
});
