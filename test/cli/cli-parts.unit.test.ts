import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSize } from '../../packages/cli/src/options.js';
import { renderProgress } from '../../packages/cli/src/progress.js';
import { readEvents } from '../../packages/cli/src/sse.js';

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const s of chunks) c.enqueue(enc.encode(s));
      c.close();
    },
  });
}

describe('CLI parts', () => {
  it('reads server-sent events split anywhere, skipping comments', async () => {
    const text = ': keep-alive\n\nid: 1\nevent: job.queued\ndata: {"a":1}\n\nid: 2\r\nevent: job.progress\r\ndata: x\r\ndata: y\r\n\r\n';
    const events = [];
    for await (const e of readEvents(streamOf(text.match(/[\s\S]{1,7}/g)!))) events.push(e);
    assert.deepEqual(events, [
      { id: '1', event: 'job.queued', data: '{"a":1}' },
      { id: '2', event: 'job.progress', data: 'x\ny' },
    ]);
  });

  it('draws bytes, parts, rate and ETA', () => {
    const line = renderProgress({ bytesUploaded: 50 * 1024 ** 2, bytesTotal: 100 * 1024 ** 2, partsUploaded: 5, partsTotal: 10 }, 10);
    assert.equal(line, '[############------------]  50%  50.0 MiB / 100.0 MiB  parts 5/10  5.0 MiB/s  ETA 10s');
    assert.match(renderProgress({ bytesUploaded: 0, bytesTotal: 10 }, 0), /ETA --$/);
  });

  it('reads sizes in binary units', () => {
    assert.equal(parseSize('1MiB', 'part-size'), 1048576);
    assert.equal(parseSize('512k', 'part-size'), 524288);
    assert.equal(parseSize('102400', 'part-size'), 102400);
    assert.throws(() => parseSize('lots', 'part-size'), /--part-size: "lots" is not a size/);
  });
});
