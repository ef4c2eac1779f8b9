import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { Cluster } from 'ioredis';
import { jobKeys } from '@vod-ingest/shared';
import { type NpmStartRun, spawnNpmStart, survivors } from '../support/npm-start.js';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster.js';

let cluster: TestRedisCluster | undefined;
let run: NpmStartRun | undefined;
after(async () => {
  if (run) {
    for (const s of survivors(run)) process.kill(Number(s.split(' ')[0]), 'SIGKILL');
    rmSync(run.tmp, { recursive: true, force: true });
  }
  await cluster?.stop();
});

test('npm start with REDIS_CLUSTER_NODES: no Redis of its own, every service on the cluster, a job runs', async () => {
  cluster = await startRedisCluster();
  run = await spawnNpmStart({ REDIS_CLUSTER_NODES: cluster.clusterNodes });
  await run.waitFor('vod-ingest is up', 120_000);
  assert.match(run.output(), new RegExp(`Redis\\s+cluster ${cluster.clusterNodes}\\s+\\(REDIS_CLUSTER_NODES\\)`));
  assert.doesNotMatch(run.output(), /^\[redis\]/m);
  assert.equal(existsSync(path.join(run.dataDir, 'redis')), false, 'no Redis data directory');
  assert.deepEqual(
    survivors(run).filter((p) => /redis-server/.test(p)),
    [],
  );

  // A job through the printed key lands in the cluster's {vod-ingest} slot and succeeds.
  const key = /API key\s+(\S+)/.exec(run.output())![1];
  const inbox = path.join(run.dataDir, 'inbox');
  const file = path.join(inbox, 'clip.mp4');
  writeFileSync(file, Buffer.alloc(100_000, 7));
  const api = `http://127.0.0.1:${run.ports.api}`;
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const body = JSON.stringify({ source: { type: 'file', path: file }, target: { type: 'oss', bucket: 'vod-ingest-media', key: 'cluster/clip.mp4' } });
  const created = await fetch(`${api}/v1/jobs`, { method: 'POST', headers, body });
  assert.equal(created.status, 202, await created.clone().text());
  const { id } = (await created.json()) as { id: string };
  let status = '';
  for (const end = Date.now() + 60_000; !['succeeded', 'failed', 'canceled'].includes(status) && Date.now() < end; await sleep(200)) {
    status = ((await (await fetch(`${api}/v1/jobs/${id}`, { headers })).json()) as { status: string }).status;
  }
  assert.equal(status, 'succeeded');
  const redis = new Cluster([{ host: '127.0.0.1', port: cluster.nodes[0].port }]);
  try {
    assert.equal(await redis.exists(jobKeys('{vod-ingest}').job(id)), 1, 'the job record is in the cluster');
  } finally {
    redis.disconnect();
  }

  process.kill(run.pid, 'SIGTERM');
  await run.exited;
  await run.waitFor('vod-ingest stopped.', 45_000);
  assert.doesNotMatch(run.stderr(), /was killed|stopped with/);
  assert.ok(readFileSync(path.join(run.dataDir, 'local-secrets.json'), 'utf8').includes('apiKey'));
});
