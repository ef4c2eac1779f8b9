import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { GENERATED_FILE, renderClientTypes } from '../../packages/cli/scripts/generate-client.js';

describe('the CLI client types', () => {
  it('are generated from the api OpenAPI document as it is now (npm run generate --workspace packages/cli)', async () => {
    const committed = readFileSync(GENERATED_FILE, 'utf8');
    assert.ok(committed === (await renderClientTypes()), 'packages/cli/src/api.generated.ts is stale: run `npm run generate --workspace packages/cli`');
  });
});
