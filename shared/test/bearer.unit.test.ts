import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bearerToken } from '../src/index.js';

test('bearerToken reads the token of a Bearer header, the scheme in any case', () => {
  assert.equal(bearerToken('Bearer abc.DEF-123'), 'abc.DEF-123');
  assert.equal(bearerToken('bearer ct_x'), 'ct_x');
  assert.equal(bearerToken('BEARER  tok  '), 'tok');
});

test('bearerToken refuses no header, other schemes, an empty token and whitespace inside it', () => {
  for (const h of [undefined, '', 'Bearer', 'Bearer ', 'Basic YWRtaW46eA==', 'Token abc', 'Bearer a b', 'xBearer abc', 'Bearer\tabc']) {
    assert.equal(bearerToken(h), undefined, JSON.stringify(h));
  }
});
