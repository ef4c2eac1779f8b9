import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileDigest, objectDigest } from '../e2e/stack.js';
import { skipWithoutChromium, startBrowserStack, startUpload, uploadOutcome, type BrowserStack, type PageEvent } from './harness.js';

const MiB = 1024 * 1024;
const TTL = 15;

// Credentials of 15 s and parts slowed to 3 s each, one at a time: a 6 MiB upload takes about
// 21 s, so the UploadAuth expires mid-upload and the SDK calls onUploadTokenExpired.
describe('credentials expiring mid-upload in the browser', { skip: skipWithoutChromium }, () => {
  let b: BrowserStack;
  before(async () => {
    b = await startBrowserStack({ tokenTtlSeconds: TTL });
  });
  after(() => b?.stop());

  async function slowUpload(mode: 'auth' | 'sts') {
    const file = await b.makeFile(`slow-${mode}.mp4`, 6 * MiB + 777);
    const { status, body: upload } = await b.createUpload({ target: { type: 'vod', title: `Slow (${mode})`, fileName: 'slow.mp4' }, origin: b.pageOrigin });
    assert.equal(status, 201, JSON.stringify(upload));
    await b.stack.emu.clearFaults();
    await b.stack.emu.addFaults([{ action: 'UploadPart', latencyMs: 3000 }]);
    await b.stack.emu.resetStats();
    const page = await b.openPage(file);
    try {
      await startUpload(page, { apiUrl: b.stack.api.url, upload, mode, sdk: { partSize: MiB, parallel: 1 } });
      const events = await uploadOutcome(page, 150_000);
      const done = events.find((e) => e.type === 'succeeded') as PageEvent;
      const expired = events.filter((e) => e.type === 'expired');
      assert.ok(expired.length >= 1, `onUploadTokenExpired never fired: ${JSON.stringify(events.filter((e) => e.type !== 'progress'))}`);
      assert.ok(
        expired.every((e) => e.videoId === done.videoId),
        'the same video throughout',
      );

      // One multipart upload from the first part to the last.
      const uploadIds = new Set(events.filter((e) => e.type === 'progress' && e.uploadId).map((e) => e.uploadId));
      assert.equal(uploadIds.size, 1, `multipart upload ids seen by the page: ${[...uploadIds].join(', ')}`);
      const stats = await b.stack.emu.stats();
      assert.equal(stats.requests.InitiateMultipartUpload, 1);
      assert.equal(stats.requests.CompleteMultipartUpload, 1);
      assert.ok((stats.requests.RefreshUploadVideo ?? 0) >= 1, JSON.stringify(stats.requests));
      assert.equal(stats.partsReplaced, 0);
      const open = await b.stack.emu.admin<{ uploads: unknown[] }>('GET', 'uploads');
      assert.equal(open.uploads.length, 0, JSON.stringify(open.uploads));

      assert.equal(await objectDigest(b.stack.emu, done.bucket!, done.object!), await fileDigest(file));
      return events;
    } finally {
      await page.close();
      await b.stack.emu.clearFaults();
    }
  }

  test('UploadAuth mode: onUploadTokenExpired → /refresh → resumeUploadWithAuth; the same multipart upload completes, bytes equal', async () => {
    await slowUpload('auth');
  });

  test('STS mode: onUploadTokenExpired → a new STS token → setSTSToken again (RefreshUploadVideo of the right video); the same multipart upload completes, bytes equal', async () => {
    const before = b.front.forwarded.length;
    const events = await slowUpload('sts');
    const videoId = events.find((e) => e.type === 'succeeded')!.videoId!;
    const refreshes = b.front.forwarded.slice(before).filter((c) => c.includes('Action=RefreshUploadVideo'));
    assert.ok(refreshes.length >= 1);
    for (const r of refreshes) assert.equal(new URL(r.split(' ')[2], 'https://vod').searchParams.get('VideoId'), videoId);
  });
});
