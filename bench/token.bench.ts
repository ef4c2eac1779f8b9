/**
 * Token service under 50 concurrent clients on a warm cache, side by side with the same clients
 * calling STS AssumeRole directly (what every worker would do without the token service), both
 * against the local emulator in one run. Prints req/s, p50/p99 and the AssumeRole count.
 *   npm run bench:token [-- --clients 50 --seconds 10]
 * Needs the compiled services: `npm run build` (the npm script does it).
 */
import { parseArgs } from 'node:util';
import { Agent, setGlobalDispatcher } from 'undici';
import { startEmulator, startTestRedis, startTokenService, TEST_INGEST_ROLE_ARN } from '@vod-ingest/shared/testing';
import { AlibabaSts } from '../services/token/src/sts.client.js';
import { closedLoop, formatLoad } from './load.js';

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
  const get = async () => {
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    return res.status === 200;
  };
  await get(); // warm the cache: the one AssumeRole of the run
  await emu.resetStats();
  const cached = await closedLoop(clients, seconds, get);
  const assumeRolesCached = (await emu.stats()).requests.AssumeRole ?? 0;

  const sts = new AlibabaSts({ accessKeyId: emu.accessKeyId, accessKeySecret: emu.accessKeySecret, region: emu.region, endpoint: emu.url });
  const profile = { name: 'ingest', roleArn: TEST_INGEST_ROLE_ARN, sessionName: 'bench', durationSeconds: 3600 };
  await emu.resetStats();
  const direct = await closedLoop(clients, seconds, async () => Boolean((await sts.assumeRole(profile)).accessKeyId));
  const assumeRolesDirect = (await emu.stats()).requests.AssumeRole ?? 0;

  console.log(
    `Token service vs direct AssumeRole, ${clients} concurrent clients, ${seconds} s each (Node ${process.version}, ${(await import('node:os')).cpus().length} cores)`,
  );
  console.log(formatLoad('token service, warm cache (GET /v1/credentials)', cached) + `   AssumeRole calls ${assumeRolesCached}`);
  console.log(formatLoad('direct STS AssumeRole (emulator, no cache)', direct) + `   AssumeRole calls ${assumeRolesDirect}`);
  console.log(`ratio token/direct: throughput ${(cached.perSecond / direct.perSecond).toFixed(2)}x, p99 ${(cached.p99ms / direct.p99ms).toFixed(2)}x`);
  console.log(`(real STS allows ~100 AssumeRole/s per account; the direct run would have needed ${direct.perSecond.toFixed(0)}/s)`);
} finally {
  await token.stop();
  await emu.stop();
  await redis.stop();
}
