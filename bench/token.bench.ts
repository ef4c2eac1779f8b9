/**
 * Token service under 50 concurrent clients on a warm cache, side by side with the same clients
 * calling STS AssumeRole directly (what every worker would do without the token service), both
 * against the local emulator in one run. Prints req/s, p50/p99, the AssumeRole count, and the
 * CPU the token service and its Redis spent per warm request (from /proc: what one token core
 * serves, whatever this noisy machine's wall clock says), with the load average.
 *   npm run bench:token [-- --clients 50 --seconds 10]
 * Needs the compiled services: `npm run build` (the npm script does it).
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Agent, setGlobalDispatcher } from 'undici';
import { startEmulator, startTestRedis, startTokenService, TEST_INGEST_ROLE_ARN } from '@vod-ingest/shared/testing';
import { AlibabaSts } from '../services/token/src/sts.client.js';
import { closedLoop, formatLoad } from './load.js';
import { cpuSeconds, findRedisPid } from './proc-cpu.js';

const { values } = parseArgs({ options: { clients: { type: 'string', default: '50' }, seconds: { type: 'string', default: '10' } } });
const clients = Number(values.clients);
const seconds = Number(values.seconds);
setGlobalDispatcher(new Agent({ connections: clients, keepAliveTimeout: 30_000 }));

const emu = await startEmulator();
const redis = await startTestRedis();
const token = await startTokenService({ emulator: emu, redisUrl: redis.url });
try {
  const url = `${token.url}/v1/credentials/ingest`;
  const headers = { authorization: `Bearer ${token.secret}` };
  let served = 0;
  const get = async () => {
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    if (res.status === 200) served++;
    return res.status === 200;
  };
  await get(); // warm the cache: the one AssumeRole of the run
  await emu.resetStats();
  const redisPid = findRedisPid(Number(new URL(redis.url).port));
  const load0 = loadavg()[0];
  served = 0;
  const cpu0 = { token: cpuSeconds(token.proc.pid), redis: redisPid ? cpuSeconds(redisPid) : NaN };
  const cached = await closedLoop(clients, seconds, get);
  const cpuMs = {
    token: (1000 * (cpuSeconds(token.proc.pid) - cpu0.token)) / served,
    redis: redisPid ? (1000 * (cpuSeconds(redisPid) - cpu0.redis)) / served : NaN,
  };
  const load1 = loadavg()[0];
  const assumeRolesCached = (await emu.stats()).requests.AssumeRole ?? 0;

  const sts = new AlibabaSts({ accessKeyId: emu.accessKeyId, accessKeySecret: emu.accessKeySecret, region: emu.region, endpoint: emu.url });
  const profile = { name: 'ingest', roleArn: TEST_INGEST_ROLE_ARN, sessionName: 'bench', durationSeconds: 3600 };
  await emu.resetStats();
  const direct = await closedLoop(clients, seconds, async () => Boolean((await sts.assumeRole(profile)).accessKeyId));
  const assumeRolesDirect = (await emu.stats()).requests.AssumeRole ?? 0;

  console.log(`Token service vs direct AssumeRole, ${clients} concurrent clients, ${seconds} s each (Node ${process.version}, ${cpus().length} cores)`);
  console.log(formatLoad('token service, warm cache (GET /v1/credentials)', cached) + `   AssumeRole calls ${assumeRolesCached}`);
  console.log(
    `  CPU per warm request: token service ${cpuMs.token.toFixed(3)} ms (${(1000 / cpuMs.token).toFixed(0)} requests/s per token core), its Redis ${cpuMs.redis.toFixed(3)} ms; load average ${load0.toFixed(2)} → ${load1.toFixed(2)}`,
  );
  console.log(formatLoad('direct STS AssumeRole (emulator, no cache)', direct) + `   AssumeRole calls ${assumeRolesDirect}`);
  console.log(`ratio token/direct: throughput ${(cached.perSecond / direct.perSecond).toFixed(2)}x, p99 ${(cached.p99ms / direct.p99ms).toFixed(2)}x`);
  console.log(`(real STS allows ~100 AssumeRole/s per account; the direct run would have needed ${direct.perSecond.toFixed(0)}/s)`);
} finally {
  await token.stop();
  await emu.stop();
  await redis.stop();
}
