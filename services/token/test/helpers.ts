import OSS from 'ali-oss';
import type { Credential } from '@vod-ingest/shared';
import type { TestEmulator, TestService } from '@vod-ingest/shared/testing';

export async function getCredential(
  svc: TestService & { secret: string },
  profile = 'ingest',
  query = '',
): Promise<{ status: number; body: Credential & { error?: { code: string } }; headers: Headers; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${svc.url}/v1/credentials/${profile}${query}`, { headers: { authorization: `Bearer ${svc.secret}` } });
  const body = (await res.json()) as Credential & { error?: { code: string } };
  return { status: res.status, body, headers: res.headers, ms: performance.now() - t0 };
}

/** ali-oss on the emulator's bucket with an STS credential from the token service. */
export function ossWith(emu: TestEmulator, c: Credential): OSS {
  return new OSS({
    endpoint: emu.url,
    sldEnable: true,
    region: `oss-${emu.region}`,
    bucket: emu.bucket,
    accessKeyId: c.accessKeyId,
    accessKeySecret: c.accessKeySecret,
    stsToken: c.securityToken,
  } as OSS.Options);
}

/** Uses the credential against the emulator's OSS: undefined if accepted, else the error code. */
export async function rejectionOf(emu: TestEmulator, c: Credential): Promise<string | undefined> {
  const oss = ossWith(emu, c);
  try {
    await oss.head('probe/does-not-exist');
    return undefined;
  } catch (err) {
    const code = (err as { code?: string }).code;
    return code === 'NoSuchKey' ? undefined : code; // NoSuchKey: signature and token were accepted
  }
}

/** Sums a counter over replicas from their /metrics text, for series whose labels include `match`. */
export async function sumMetric(services: TestService[], name: string, match: Record<string, string> = {}): Promise<number> {
  let total = 0;
  for (const s of services) {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    for (const line of text.split('\n')) {
      if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
      if (Object.entries(match).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.split(' ').pop());
    }
  }
  return total;
}
