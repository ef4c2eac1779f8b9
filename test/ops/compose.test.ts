// docker-compose.yml as docker-compose itself resolves it (`docker-compose config`: anchors,
// merges and ${VAR:-default} applied), checked against what each service and the deploy/ files
// need. No engine is needed; without docker-compose on PATH the suite is skipped.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { apiConfigSchema } from '../../services/api/src/config.js';
import { emulatorConfigSchema } from '../../services/emulator/src/config.js';
import { tokenConfigSchema } from '../../services/token/src/config.js';
import { workerConfigSchema } from '../../services/worker/src/config.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const INBOX = '/srv/media/inbox';

interface Service {
  image?: string;
  command?: string | string[];
  environment?: Record<string, string | null>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  depends_on?: Record<string, { condition?: string }> | string[];
  deploy?: { replicas?: number };
  volumes?: Array<string | { type?: string; source?: string; target?: string }>;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const composeVersion = spawnSync('docker-compose', ['version', '--short'], { encoding: 'utf8' });
const skip = composeVersion.status === 0 ? false : 'docker-compose is not on PATH (apt-get install docker-compose; .ci/run installs it)';

/** `source:target[:mode]` or the long form, as `{source, target}`. */
function mounts(s: Service): Array<{ source: string; target: string }> {
  return (s.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return { source: v.source ?? '', target: v.target ?? '' };
    const [source, target] = v.split(':');
    return { source, target };
  });
}

function dependsOn(s: Service): Record<string, string> {
  if (Array.isArray(s.depends_on)) return Object.fromEntries(s.depends_on.map((d) => [d, 'service_started']));
  return Object.fromEntries(Object.entries(s.depends_on ?? {}).map(([d, o]) => [d, o.condition ?? 'service_started']));
}

/** The service's environment as the process would see it (unset values dropped). */
function envOf(s: Service): Record<string, string> {
  return Object.fromEntries(Object.entries(s.environment ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** The environment with TENANTS_FILE pointing at the host file mounted there, so the schema reads what the container would. */
function hostEnvOf(s: Service): Record<string, string> {
  const env = envOf(s);
  const mount = mounts(s).find((m) => m.target === env.TENANTS_FILE);
  return mount ? { ...env, TENANTS_FILE: path.resolve(ROOT, mount.source) } : env;
}

describe('docker-compose.yml', { skip }, () => {
  let compose: Compose;
  let services: Record<string, Service>;
  const APP = ['emulator', 'token', 'api', 'worker'] as const;

  before(() => {
    // Not the caller's secrets: the file's own defaults are what is checked.
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
    const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: ROOT, encoding: 'utf8', env });
    assert.equal(r.status, 0, `docker-compose config failed:\n${r.stderr}`);
    compose = parse(r.stdout) as Compose;
    services = compose.services;
  });

  test('has the whole stack', () => {
    assert.deepEqual(Object.keys(services).sort(), ['api', 'emulator', 'grafana', 'prometheus', 'redis', 'token', 'worker']);
  });

  test('redis: AOF fsynced every second, never evicting, data on a volume', () => {
    const redis = services.redis;
    assert.match(redis.image ?? '', /^redis:7-alpine$/);
    const command = Array.isArray(redis.command) ? redis.command.join(' ') : (redis.command ?? '');
    assert.match(command, /--appendonly yes\b/);
    assert.match(command, /--appendfsync everysec\b/);
    assert.match(command, /--maxmemory-policy noeviction\b/);
    const data = mounts(redis).find((m) => m.target === '/data');
    assert.ok(data && compose.volumes && data.source in compose.volumes, 'redis /data is a named volume');
  });

  test('three workers, kept by docker-compose config', () => {
    assert.equal(services.worker.deploy?.replicas, 3);
  });

  test('every service has a healthcheck; the node services fetch /healthz on the port they listen on', () => {
    for (const [name, s] of Object.entries(services)) {
      assert.ok(s.healthcheck && !s.healthcheck.disable && s.healthcheck.test?.length, `${name} has no healthcheck`);
    }
    for (const name of APP) {
      const test = [services[name].healthcheck!.test!].flat().join(' ');
      const port = envOf(services[name]).PORT;
      assert.ok(port, `${name} sets PORT`);
      assert.ok(test.includes(`fetch('http://127.0.0.1:${port}/healthz')`), `${name} healthcheck: ${test}`);
    }
    assert.match([services.redis.healthcheck!.test!].flat().join(' '), /redis-cli ping/);
  });

  test('start order: redis healthy, emulator healthy, token healthy, then api and workers', () => {
    assert.deepEqual(dependsOn(services.token), { redis: 'service_healthy', emulator: 'service_healthy' });
    assert.deepEqual(dependsOn(services.api), { redis: 'service_healthy', token: 'service_healthy' });
    assert.deepEqual(dependsOn(services.worker), { redis: 'service_healthy', emulator: 'service_healthy', token: 'service_healthy' });
  });

  test('api and workers share the media-inbox volume at INGEST_ROOTS', () => {
    assert.ok(compose.volumes && 'media-inbox' in compose.volumes, 'media-inbox is a named volume');
    for (const name of ['api', 'worker']) {
      assert.ok(
        mounts(services[name]).some((m) => m.source === 'media-inbox' && m.target === INBOX),
        `${name} mounts media-inbox at ${INBOX}`,
      );
      assert.equal(envOf(services[name]).INGEST_ROOTS, INBOX);
    }
  });

  test("each service's environment passes its own config schema", () => {
    const schemas = { emulator: emulatorConfigSchema, token: tokenConfigSchema, api: apiConfigSchema, worker: workerConfigSchema };
    for (const name of APP) {
      const r = schemas[name].safeParse(hostEnvOf(services[name]));
      assert.ok(r.success, `${name}: ${r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
  });

  test('api, workers and token service read the same mounted tenants file', () => {
    const files = (['token', 'api', 'worker'] as const).map((name) => {
      const file = envOf(services[name]).TENANTS_FILE;
      assert.ok(file, `${name} sets TENANTS_FILE`);
      assert.ok(
        mounts(services[name]).some((m) => m.target === file),
        `${name} mounts ${file}`,
      );
      return hostEnvOf(services[name]).TENANTS_FILE;
    });
    assert.equal(new Set(files).size, 1, `one file: ${files}`);
  });

  test('the services agree: shared secrets, the emulator key, endpoints, admin off, cache encrypted', () => {
    const env = Object.fromEntries(APP.map((n) => [n, envOf(services[n])])) as Record<(typeof APP)[number], Record<string, string>>;
    const emulatorUrl = `http://emulator:${env.emulator.PORT}`;
    const tokenUrl = `http://token:${env.token.PORT}`;
    assert.ok(env.token.TOKEN_CACHE_KEY, 'the stack configures TOKEN_CACHE_KEY (cached secrets encrypted)');
    for (const name of ['api', 'worker'] as const) {
      assert.equal(env[name].TOKEN_SERVICE_SECRET, env.token.TOKEN_SERVICE_SECRET, `${name} TOKEN_SERVICE_SECRET`);
      assert.equal(env[name].TOKEN_SERVICE_URL, tokenUrl, `${name} TOKEN_SERVICE_URL`);
      assert.equal(env[name].VOD_ENDPOINT, emulatorUrl, `${name} VOD_ENDPOINT`);
      assert.equal(env[name].REDIS_URL, 'redis://redis:6379', `${name} REDIS_URL`);
    }
    assert.equal(env.token.REDIS_URL, 'redis://redis:6379');
    assert.equal(env.worker.SOURCE_HEADERS_KEY, env.api.SOURCE_HEADERS_KEY, 'api and workers share SOURCE_HEADERS_KEY');
    assert.ok(env.api.SOURCE_HEADERS_KEY);
    assert.ok(env.worker.WEBHOOK_SECRET);
    assert.equal(env.token.ALIBABA_CLOUD_ACCESS_KEY_ID, env.emulator.EMULATOR_ACCESS_KEY_ID);
    assert.equal(env.token.ALIBABA_CLOUD_ACCESS_KEY_SECRET, env.emulator.EMULATOR_ACCESS_KEY_SECRET);
    assert.equal(env.token.STS_ENDPOINT, emulatorUrl);
    assert.equal(env.worker.OSS_ENDPOINT, emulatorUrl);
    // ali-oss would address `<bucket>.emulator` (virtual-host style) without it.
    assert.equal(env.worker.OSS_PATH_STYLE, '1');
    // VOD UploadAddress must name an endpoint the workers reach, not the emulator's own localhost.
    assert.equal(env.emulator.EMULATOR_PUBLIC_URL, emulatorUrl);
    assert.equal(env.emulator.EMULATOR_ADMIN, '0');
    const region = env.emulator.EMULATOR_REGION;
    for (const name of ['token', 'api', 'worker'] as const) assert.equal(env[name].ALIBABA_CLOUD_REGION_ID, region, `${name} region`);
  });

  test('Prometheus scrapes every service that has /metrics, workers found by DNS', () => {
    const prom = services.prometheus;
    const file = mounts(prom).find((m) => m.target === '/etc/prometheus/prometheus.yml');
    assert.equal(file?.source, path.join(ROOT, 'deploy/prometheus/prometheus.yml'));
    const config = parse(readFileSync(file.source, 'utf8')) as {
      global: { scrape_interval: string };
      scrape_configs: Array<{
        job_name: string;
        static_configs?: Array<{ targets: string[] }>;
        dns_sd_configs?: Array<{ names: string[]; type: string; port: number }>;
      }>;
    };
    assert.equal(config.global.scrape_interval, '15s');
    const targets = new Map<string, string>();
    for (const job of config.scrape_configs) {
      for (const t of job.static_configs?.flatMap((c) => c.targets) ?? []) targets.set(t.split(':')[0], t.split(':')[1]);
      for (const sd of job.dns_sd_configs ?? []) {
        assert.equal(sd.type, 'A');
        for (const name of sd.names) targets.set(name, String(sd.port));
      }
    }
    assert.deepEqual([...targets.keys()].sort(), ['api', 'emulator', 'token', 'worker']);
    for (const [name, port] of targets) assert.equal(port, envOf(services[name]).PORT, `${name} is scraped on its PORT`);
    const dns = config.scrape_configs.find((j) => j.job_name === 'worker')?.dns_sd_configs;
    assert.deepEqual(dns?.[0].names, ['worker'], 'workers are found by DNS, so --scale worker=N needs no change');
  });

  test('Grafana is provisioned with the Prometheus datasource and the dashboard', () => {
    const grafana = services.grafana;
    const target = (dir: string) => mounts(grafana).find((m) => m.source === path.join(ROOT, dir))?.target;
    assert.equal(target('deploy/grafana/provisioning'), '/etc/grafana/provisioning');
    const dashboardsDir = target('deploy/grafana/dashboards');
    assert.ok(dashboardsDir, 'deploy/grafana/dashboards is mounted');
    const providers = parse(readFileSync(path.join(ROOT, 'deploy/grafana/provisioning/dashboards/dashboards.yml'), 'utf8')) as {
      providers: Array<{ options: { path: string } }>;
    };
    assert.deepEqual(
      providers.providers.map((p) => p.options.path),
      [dashboardsDir],
    );
    const sources = parse(readFileSync(path.join(ROOT, 'deploy/grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as {
      datasources: Array<{ uid: string; type: string; url: string }>;
    };
    const ds = sources.datasources.find((d) => d.type === 'prometheus');
    assert.equal(ds?.url, 'http://prometheus:9090');
    const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'deploy/grafana/dashboards/vod-ingest.json'), 'utf8')) as {
      panels: Array<{ type: string; datasource?: { uid: string } }>;
    };
    for (const p of dashboard.panels.filter((p) => p.type !== 'row')) assert.equal(p.datasource?.uid, ds?.uid);
    const env = envOf(grafana);
    assert.ok(env.GF_SECURITY_ADMIN_PASSWORD, 'an admin password (local default)');
    assert.equal(env.GF_AUTH_ANONYMOUS_ORG_ROLE, 'Viewer', 'anonymous users only view');
  });
});
