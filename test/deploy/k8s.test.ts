// deploy/k8s, rendered offline: every resource against the Kubernetes and KEDA schemas, every
// environment variable against the services' own config schemas, and what the manifests promise
// (probes, shutdown grace, autoscaling on the ingest queue, secrets only from the Secret). The
// second half breaks the manifests on purpose and checks that each check then fails.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { parseConfig, QUEUES, shardPrefixes } from '@vod-ingest/shared';
import { REPO_ROOT } from '@vod-ingest/shared/testing';
import { apiConfigSchema } from '../../services/api/src/config.js';
import { tokenConfigSchema } from '../../services/token/src/config.js';
import { workerConfigSchema } from '../../services/worker/src/config.js';
import { type Container, kustomize, podSpecs, type Resource } from './kustomize.js';
import { containerEnv, crdProblems, describeResource, envProblems, envShape, fieldProblems, schemaProblems, vendoredCrdKinds } from './manifest-checks.js';

const BASE = path.join(REPO_ROOT, 'deploy/k8s');
const OVERLAY = path.join(REPO_ROOT, 'deploy/k8s/overlays/example');
const CLUSTER = path.join(REPO_ROOT, 'deploy/k8s/overlays/redis-cluster-example');
/** Each container's service, by container name. */
const SCHEMAS: Record<string, z.ZodType> = { api: apiConfigSchema, token: tokenConfigSchema, worker: workerConfigSchema };
/** The Secret the base reads and does not hold (an operator creates it; the example overlay generates it). */
const EXTERNAL_SECRET = 'vod-ingest-secrets';
/** Variables that are secrets: they may come only from a Secret, never from a literal or a ConfigMap. */
const SECRET_VARS = [
  'TOKEN_SERVICE_SECRET',
  'TOKEN_CACHE_KEY',
  'ALIBABA_CLOUD_ACCESS_KEY_ID',
  'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
  'WEBHOOK_SECRET',
  'SOURCE_HEADERS_KEY',
  'API_KEYS',
  'ADMIN_TOKEN',
  'VOD_CALLBACK_KEY',
  'REDIS_PASSWORD',
];
/**
 * The trigger metadata KEDA's redis and redis-cluster scalers read (pkg/scalers/redis_scaler.go,
 * v2.10.1 and v2.20.2): the CRD leaves `metadata` free-form, so a misspelt key would silently fall
 * back to a default.
 */
const SCALER_KEYS: Record<string, Set<string>> = {
  redis: new Set(['address', 'addressFromEnv', 'host', 'hostFromEnv', 'port', 'portFromEnv', 'databaseIndex']),
  'redis-cluster': new Set(['addresses', 'addressesFromEnv', 'hosts', 'hostsFromEnv', 'ports', 'portsFromEnv']),
};
const COMMON_SCALER_KEYS = ['username', 'usernameFromEnv', 'passwordFromEnv', 'listName', 'listLength', 'activationListLength', 'enableTLS', 'unsafeSsl'];
/** handleShutdown's own limit (shared/src/http/server.ts) for the api and the token service. */
const HTTP_SHUTDOWN_SECONDS = 10;
/** The worker's process gives up this long after SHUTDOWN_GRACE_SECONDS (services/worker/src/main.ts). */
const WORKER_SHUTDOWN_EXTRA_SECONDS = 5;

const clone = <T>(v: T): T => structuredClone(v);
const find = (rs: Resource[], kind: string, name: string) => {
  const r = rs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(r, `${kind}/${name} is rendered`);
  return r;
};
const deployments = (rs: Resource[]) => rs.filter((r) => r.kind === 'Deployment');
const containerOf = (d: Resource): Container => podSpecs(d)[0].containers![0];
type Any = Record<string, any>;

let base: Resource[];
let overlay: Resource[];
let cluster: Resource[];
const temp = mkdtempSync(path.join(tmpdir(), 'k8s-test-'));

before(() => {
  base = kustomize(BASE);
  overlay = kustomize(OVERLAY);
  cluster = kustomize(CLUSTER);
});
after(() => rmSync(temp, { recursive: true, force: true }));

/**
 * A Deployment's container environment as the pod would get it, parsed by its service's schema.
 * Files mounted from ConfigMaps are written under a temp directory and variables naming them
 * pointed there, so TENANTS_FILE is read from what the pod would see.
 */
/** The worker settings the scaler follows, from the worker pods' environment (the Secret need not be rendered). */
function workerSettings(rs: Resource[]): Any {
  const values = containerEnv(containerOf(find(rs, 'Deployment', 'vod-ingest-worker')), rs).values;
  const shape = envShape(workerConfigSchema);
  const names = ['KEY_PREFIX', 'REDIS_SHARDS', 'WORKER_CONCURRENCY', 'WORKER_SMALL_CONCURRENCY'];
  return Object.fromEntries(names.map((name) => [name, shape[name].parse(values.get(name))]));
}

function parsedConfig(rs: Resource[], deployment: string): Any {
  const d = find(rs, 'Deployment', deployment);
  const pod = podSpecs(d)[0];
  const c = containerOf(d);
  const { values, unresolved } = containerEnv(c, rs);
  assert.deepEqual(unresolved, [], `${deployment}: every reference resolves`);
  const root = mkdtempSync(path.join(temp, `${c.name}-`));
  const files = new Map<string, string>();
  for (const m of (c.volumeMounts ?? []) as { name: string; mountPath: string }[]) {
    const cm = pod.volumes?.find((v) => v.name === m.name)?.configMap;
    if (!cm) continue;
    for (const [key, text] of Object.entries((find(rs, 'ConfigMap', cm.name as string).data ?? {}) as Record<string, string>)) {
      const local = path.join(root, m.mountPath, key);
      mkdirSync(path.dirname(local), { recursive: true });
      writeFileSync(local, text);
      files.set(path.posix.join(m.mountPath, key), local);
    }
  }
  const env: Record<string, string> = {};
  for (const [k, v] of values) if (v !== undefined) env[k] = files.get(v) ?? v;
  return parseConfig(SCHEMAS[c.name], env) as Any;
}

describe('deploy/k8s renders and validates offline', () => {
  test('the renderer gives what kubectl kustomize gives, hash suffixes included', (t) => {
    let kubectl: string | undefined;
    try {
      execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
      kubectl = 'kubectl';
    } catch {
      return t.skip('kubectl is not on the PATH: the renderer is checked by the tests below only');
    }
    for (const [dir, mine] of [
      [BASE, base],
      [OVERLAY, overlay],
      [CLUSTER, cluster],
    ] as const) {
      const theirs: Resource[] = parseAllDocuments(execFileSync(kubectl, ['kustomize', dir], { encoding: 'utf8' })).map((doc) => doc.toJS() as Resource);
      const key = (r: Resource) => `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`;
      assert.deepEqual(mine.map(key).sort(), theirs.map(key).sort(), `${dir}: the same resources`);
      for (const r of mine) {
        const other = theirs.find((o) => key(o) === key(r));
        assert.ok(isDeepStrictEqual(JSON.parse(JSON.stringify(r)), other), `${dir}: ${key(r)} is rendered as kubectl renders it`);
      }
    }
  });

  test('what the base deploys: three Deployments with their Services, HPAs, PDBs, ConfigMaps and the ScaledObject', () => {
    const names = base.map(describeResource).sort();
    for (const want of [
      'Deployment/vod-ingest-api',
      'Deployment/vod-ingest-token',
      'Deployment/vod-ingest-worker',
      'Service/vod-ingest-api',
      'Service/vod-ingest-token',
      'Service/vod-ingest-worker-metrics',
      'HorizontalPodAutoscaler/vod-ingest-api',
      'HorizontalPodAutoscaler/vod-ingest-token',
      'PodDisruptionBudget/vod-ingest-api',
      'PodDisruptionBudget/vod-ingest-token',
      'PodDisruptionBudget/vod-ingest-worker',
      'ScaledObject/vod-ingest-worker',
    ]) {
      assert.ok(names.includes(want), `${want} in ${names.join(', ')}`);
    }
    assert.ok(
      base.every((r) => r.metadata.namespace === 'vod-ingest'),
      'every resource in the vod-ingest namespace',
    );
    assert.equal(base.filter((r) => r.kind === 'Secret').length, 0, 'no Secret in the base: secrets are never committed');
  });

  test('every resource passes the Kubernetes (kubernetes-models) and KEDA (@kubernetes-models/keda) JSON schemas', () => {
    assert.deepEqual(schemaProblems(base), []);
    assert.deepEqual(schemaProblems(overlay), []);
    assert.deepEqual(schemaProblems(cluster), []);
  });

  test('the KEDA resources also pass the current KEDA release’s CRDs (deploy/k8s/schemas), unknown fields refused', () => {
    assert.deepEqual(vendoredCrdKinds().sort(), ['keda.sh/v1alpha1/ScaledObject', 'keda.sh/v1alpha1/TriggerAuthentication']);
    for (const rs of [base, overlay, cluster]) {
      assert.ok(rs.some((r) => r.kind === 'ScaledObject') && rs.some((r) => r.kind === 'TriggerAuthentication'));
      assert.deepEqual(crdProblems(rs), []);
    }
  });

  test('no resource has a field its API does not know, at any depth', () => {
    assert.deepEqual(fieldProblems([...base, ...overlay, ...cluster]), []);
  });

  test("every environment variable a container gets is one its service's config schema knows", () => {
    assert.deepEqual(envProblems(base, SCHEMAS), []);
    assert.deepEqual(envProblems(overlay, SCHEMAS), []);
    assert.deepEqual(envProblems(cluster, SCHEMAS), []);
  });

  test("each service's schema accepts the environment the example overlay gives it, tenants file included", () => {
    const api = parsedConfig(overlay, 'vod-ingest-api');
    assert.equal(api.port, 3000);
    assert.deepEqual(
      api.tenants.list().map((t: { name: string }) => t.name),
      ['example'],
    );
    const token = parsedConfig(overlay, 'vod-ingest-token');
    assert.equal(token.port, 3001);
    assert.equal(token.TENANTS_FILE.length, 1);
    const worker = parsedConfig(overlay, 'vod-ingest-worker');
    assert.equal(worker.port, 3002);
    assert.equal(worker.TOKEN_SERVICE_URL, 'http://vod-ingest-token:3001');
    assert.equal(find(overlay, 'Service', 'vod-ingest-token').metadata.name, new URL(worker.TOKEN_SERVICE_URL).hostname);
  });

  test('secrets come only from the Secret, one key each, and the example Secret holds every key read', () => {
    for (const rs of [base, overlay, cluster]) {
      for (const d of deployments(rs)) {
        const c = containerOf(d);
        for (const e of c.env ?? []) {
          if (SECRET_VARS.includes(e.name)) assert.ok(e.valueFrom?.secretKeyRef, `${describeResource(d)}: ${e.name} from a secretKeyRef`);
        }
        assert.ok(!(c.envFrom ?? []).some((f) => f.secretRef), `${describeResource(d)}: no envFrom of a whole Secret (each pod gets only its keys)`);
      }
      for (const cm of rs.filter((r) => r.kind === 'ConfigMap')) {
        const secretKeys = Object.keys((cm.data ?? {}) as object).filter((k) => SECRET_VARS.includes(k));
        assert.deepEqual(secretKeys, [], `${describeResource(cm)} holds no secret`);
        const url = (cm.data as Record<string, string> | undefined)?.REDIS_URL;
        if (url) assert.equal(new URL(url).password, '', `${describeResource(cm)}: no password in REDIS_URL (REDIS_PASSWORD is the Secret's)`);
      }
    }
    const secret = find(overlay, 'Secret', EXTERNAL_SECRET);
    const held = Object.keys(secret.data as object);
    for (const { kind, name, key, optional } of secretReferences(base)) {
      assert.equal(name, EXTERNAL_SECRET, `${kind} reads the one Secret`);
      if (!optional) assert.ok(held.includes(key), `the example Secret has ${key}, which ${kind} needs`);
    }
  });

  test('every ConfigMap and Secret a resource names is rendered (the base needs only the operator-made Secret)', () => {
    for (const [rs, external] of [
      [base, [EXTERNAL_SECRET]],
      [overlay, []],
      [cluster, [EXTERNAL_SECRET]],
    ] as const) {
      for (const ref of configReferences(rs)) {
        const rendered = rs.some((r) => r.kind === ref.kind && r.metadata.name === ref.name);
        assert.ok(rendered || (ref.kind === 'Secret' && (external as readonly string[]).includes(ref.name)), `${ref.from}: ${ref.kind}/${ref.name} exists`);
      }
    }
  });

  test('probes on each service port (/readyz, /healthz), requests and limits, and a grace period above the shutdown', () => {
    for (const [name, service] of [
      ['vod-ingest-api', 'api'],
      ['vod-ingest-token', 'token'],
      ['vod-ingest-worker', 'worker'],
    ]) {
      const d = find(overlay, 'Deployment', name);
      const c = containerOf(d) as Any;
      assert.equal(c.name, service);
      const config = parsedConfig(overlay, name);
      const portOf = (p: string | number) => (typeof p === 'number' ? p : c.ports.find((x: Any) => x.name === p)?.containerPort);
      assert.ok(
        c.ports.some((p: Any) => p.containerPort === config.port),
        `${name}: the container port is the port the service listens on (${config.port})`,
      );
      assert.equal(c.readinessProbe.httpGet.path, '/readyz');
      assert.equal(portOf(c.readinessProbe.httpGet.port), config.port);
      assert.equal(c.livenessProbe.httpGet.path, '/healthz');
      assert.equal(portOf(c.livenessProbe.httpGet.port), config.port);
      for (const kind of ['requests', 'limits']) for (const what of ['cpu', 'memory']) assert.ok(c.resources?.[kind]?.[what], `${name}: ${kind}.${what}`);

      const preStop = c.lifecycle?.preStop?.exec?.command;
      const sleep = preStop?.[0] === 'sleep' ? Number(preStop[1]) : 0;
      const shutdown = service === 'worker' ? config.SHUTDOWN_GRACE_SECONDS + WORKER_SHUTDOWN_EXTRA_SECONDS : HTTP_SHUTDOWN_SECONDS;
      const grace = (d as Any).spec.template.spec.terminationGracePeriodSeconds;
      assert.ok(grace > sleep + shutdown, `${name}: terminationGracePeriodSeconds ${grace} > preStop ${sleep} s + shutdown ${shutdown} s`);
    }
  });

  test('Services and PodDisruptionBudgets select their pods; api and token scale on CPU (autoscaling/v2)', () => {
    const labels = (d: Resource) => (d as Any).spec.template.metadata.labels as Record<string, string>;
    const selects = (selector: Record<string, string>, d: Resource) => Object.entries(selector).every(([k, v]) => labels(d)[k] === v);
    for (const d of deployments(base)) {
      assert.deepEqual(
        (d as Any).spec.selector.matchLabels,
        Object.fromEntries(Object.keys((d as Any).spec.selector.matchLabels).map((k) => [k, labels(d)[k]])),
      );
      const pdbs = base.filter((r) => r.kind === 'PodDisruptionBudget' && selects((r as Any).spec.selector.matchLabels, d));
      assert.equal(pdbs.length, 1, `${describeResource(d)}: one PodDisruptionBudget`);
      assert.ok(!('replicas' in (d as Any).spec), `${describeResource(d)}: replicas left to its autoscaler`);
    }
    for (const s of base.filter((r) => r.kind === 'Service')) {
      const targets = deployments(base).filter((d) => selects((s as Any).spec.selector, d));
      assert.equal(targets.length, 1, `${describeResource(s)} selects one Deployment's pods`);
      const ports = (containerOf(targets[0]) as Any).ports.map((p: Any) => p.name);
      for (const p of (s as Any).spec.ports) assert.ok(ports.includes(p.targetPort), `${describeResource(s)}: targetPort ${p.targetPort} is a container port`);
    }
    for (const name of ['vod-ingest-api', 'vod-ingest-token']) {
      const hpa = find(base, 'HorizontalPodAutoscaler', name) as Any;
      assert.equal(hpa.apiVersion, 'autoscaling/v2');
      assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name });
      assert.ok(hpa.spec.minReplicas >= 2, `${name}: at least 2 replicas`);
      assert.equal(hpa.spec.metrics[0].resource.name, 'cpu');
    }
    assert.ok(!base.some((r) => r.kind === 'HorizontalPodAutoscaler' && (r as Any).spec.scaleTargetRef.name === 'vod-ingest-worker'), 'the workers are KEDA’s');
  });

  test("KEDA scales the workers on every shard's ingest lanes' waiting lists, the keys BullMQ uses", () => {
    for (const rs of [base, overlay, cluster]) {
      const worker = workerSettings(rs);
      const so = find(rs, 'ScaledObject', 'vod-ingest-worker') as Any;
      assert.equal(so.spec.scaleTargetRef.name, 'vod-ingest-worker');
      find(rs, 'Deployment', so.spec.scaleTargetRef.name);
      assert.ok(so.spec.minReplicaCount >= 1, 'never 0 workers: they also deliver webhooks');
      // One trigger per shard (REDIS_SHARDS) and ingest lane: the main lane, then the small lane (its own worker slots).
      const shards = shardPrefixes(worker.KEY_PREFIX, worker.REDIS_SHARDS);
      assert.equal(shards.length, rs === cluster ? 3 : 1, 'the cluster example runs 3 shards');
      const lanes = shards.flatMap((prefix) => [
        { prefix, queue: QUEUES.ingest, slots: Math.ceil(worker.WORKER_CONCURRENCY / shards.length), name: 'WORKER_CONCURRENCY' },
        { prefix, queue: QUEUES.ingestSmall, slots: Math.ceil(worker.WORKER_SMALL_CONCURRENCY / shards.length), name: 'WORKER_SMALL_CONCURRENCY' },
      ]);
      assert.equal(so.spec.triggers.length, lanes.length);
      for (const [i, trigger] of (so.spec.triggers as Any[]).entries()) {
        assert.equal(trigger.type, rs === cluster ? 'redis-cluster' : 'redis');
        for (const key of Object.keys(trigger.metadata)) {
          assert.ok(SCALER_KEYS[trigger.type].has(key) || COMMON_SCALER_KEYS.includes(key), `${key} is a ${trigger.type} scaler setting`);
        }
        // BullMQ keeps a queue's waiting jobs in the list `<prefix>:<queue>:wait`.
        assert.equal(trigger.metadata.listName, `${lanes[i].prefix}:${lanes[i].queue}:wait`);
        assert.equal(Number(trigger.metadata.listLength), lanes[i].slots, `one worker per ${lanes[i].name}/REDIS_SHARDS waiting jobs of a shard`);
        assert.deepEqual(find(rs, 'TriggerAuthentication', trigger.authenticationRef.name).spec, {
          secretTargetRef: [{ parameter: 'password', name: EXTERNAL_SECRET, key: 'REDIS_PASSWORD' }],
        });
      }
    }
    // The api and the workers agree on the shards.
    const apiEnv = containerEnv(containerOf(find(cluster, 'Deployment', 'vod-ingest-api')), cluster).values;
    assert.equal(envShape(apiConfigSchema).REDIS_SHARDS.parse(apiEnv.get('REDIS_SHARDS')), workerSettings(cluster).REDIS_SHARDS);
    const worker = parsedConfig(overlay, 'vod-ingest-worker');
    // One node: the scaler's address is REDIS_URL's.
    const so = find(overlay, 'ScaledObject', 'vod-ingest-worker') as Any;
    const redis = new URL(worker.REDIS_URL);
    for (const t of so.spec.triggers as Any[])
      assert.equal(t.metadata.address, `${redis.hostname}:${redis.port || 6379}`, 'the scaler reads the Redis the services use');
    // A cluster: the scaler reads the workers' own REDIS_CLUSTER_NODES, which the worker schema accepts.
    const triggers = (find(cluster, 'ScaledObject', 'vod-ingest-worker') as Any).spec.triggers as Any[];
    for (const t of triggers) assert.equal(t.metadata.addressesFromEnv, 'REDIS_CLUSTER_NODES');
    const seeds = containerEnv(containerOf(find(cluster, 'Deployment', 'vod-ingest-worker')), cluster).values.get('REDIS_CLUSTER_NODES');
    assert.ok(seeds, 'the worker pods get REDIS_CLUSTER_NODES');
    const nodes = envShape(workerConfigSchema).REDIS_CLUSTER_NODES.parse(seeds) as unknown[];
    assert.equal(nodes.length, 3);
  });
});

describe('the checks fail on broken manifests', () => {
  test('a misspelt field, a wrong type, a KEDA spec without its target', () => {
    const api: Resource & Any = clone(find(base, 'Deployment', 'vod-ingest-api'));
    const container = api.spec.template.spec.containers[0];
    container.readinessProbes = container.readinessProbe;
    api.spec.replicas = 'two';
    const so: Resource & Any = clone(find(base, 'ScaledObject', 'vod-ingest-worker'));
    delete so.spec.scaleTargetRef;
    so.spec.minReplicas = 1;

    const schema = schemaProblems([api, so]);
    assert.ok(schema.includes('Deployment/vod-ingest-api: /spec/replicas must be integer'), schema.join('\n'));
    assert.ok(schema.includes('ScaledObject/vod-ingest-worker: /spec must have required property scaleTargetRef'), schema.join('\n'));

    // KEDA's metadata values are strings; TypeScript would report this before the field above.
    const so2: Resource & Any = clone(find(base, 'ScaledObject', 'vod-ingest-worker'));
    so2.spec.triggers[0].metadata.listLength = 2;
    assert.deepEqual(crdProblems([api, so, so2]), [
      "ScaledObject/vod-ingest-worker: /spec must have required property 'scaleTargetRef' [keda-v2.20.2/keda.sh_scaledobjects.yaml]",
      'ScaledObject/vod-ingest-worker: /spec must NOT have additional properties (minReplicas) [keda-v2.20.2/keda.sh_scaledobjects.yaml]',
      'ScaledObject/vod-ingest-worker: /spec/triggers/0/metadata/listLength must be string [keda-v2.20.2/keda.sh_scaledobjects.yaml]',
    ]);

    const fields = fieldProblems([api, so]).join('\n');
    assert.match(fields, /Deployment\/vod-ingest-api: spec\.template\.spec\.containers\[0\]\.readinessProbes .*'"?readinessProbes"?' does not exist/);
    assert.match(fields, /Deployment\/vod-ingest-api: spec\.replicas .*string.*number/);
    assert.match(fields, /ScaledObject\/vod-ingest-worker: spec\.minReplicas /);

    assert.deepEqual(schemaProblems([{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }]), ['Pod/p: no schema known for v1 Pod']);
  });

  test('an unknown variable, set directly or through a ConfigMap, is named', () => {
    const rs = clone(base);
    const worker = find(rs, 'Deployment', 'vod-ingest-worker');
    containerOf(worker).env!.push({ name: 'WORKER_CONCURENCY', value: '4' });
    const cm = rs.find((r) => r.kind === 'ConfigMap' && r.metadata.name.startsWith('vod-ingest-api-'))!;
    (cm.data as Record<string, string>).API_RATELIMIT = '10';
    const orphan = find(rs, 'Deployment', 'vod-ingest-token');
    containerOf(orphan).envFrom!.push({ configMapRef: { name: 'not-rendered' } });
    assert.deepEqual(envProblems(rs, SCHEMAS).sort(), [
      'Deployment/vod-ingest-api: container api: API_RATELIMIT is not a variable of the api schema',
      'Deployment/vod-ingest-token: container token: the keys of ConfigMap/not-rendered (envFrom) cannot be checked (not rendered)',
      'Deployment/vod-ingest-worker: container worker: WORKER_CONCURENCY is not a variable of the worker schema',
    ]);
    // A variable that the api knows is still unknown to the worker.
    containerOf(worker).env!.splice(-1, 1, { name: 'API_KEYS', value: 'x:y' });
    assert.ok(envProblems(rs, SCHEMAS).includes('Deployment/vod-ingest-worker: container worker: API_KEYS is not a variable of the worker schema'));
  });

  test('the renderer refuses what it does not render', () => {
    const dir = mkdtempSync(path.join(temp, 'kustomization-'));
    writeFileSync(path.join(dir, 'kustomization.yaml'), 'namePrefix: x-\nresources: []\n');
    assert.throws(() => kustomize(dir), /not supported by this renderer: namePrefix/);
  });
});

/** Every Secret key a resource of `rs` reads: the containers' secretKeyRefs and KEDA's secretTargetRefs. */
function secretReferences(rs: Resource[]): { kind: string; name: string; key: string; optional: boolean }[] {
  const out: { kind: string; name: string; key: string; optional: boolean }[] = [];
  for (const r of rs) {
    for (const pod of podSpecs(r)) {
      for (const c of pod.containers ?? []) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (ref) out.push({ kind: describeResource(r), name: ref.name as string, key: ref.key as string, optional: ref.optional === true });
        }
      }
    }
    if (r.kind === 'TriggerAuthentication') {
      for (const ref of (r as Any).spec.secretTargetRef ?? []) out.push({ kind: describeResource(r), name: ref.name, key: ref.key, optional: false });
    }
  }
  return out;
}

/** Every ConfigMap and Secret a resource of `rs` names (envFrom, env, volumes, KEDA). */
function configReferences(rs: Resource[]): { from: string; kind: string; name: string }[] {
  const out = secretReferences(rs)
    .filter((ref) => !ref.optional)
    .map((ref) => ({ from: ref.kind, kind: 'Secret', name: ref.name }));
  for (const r of rs) {
    for (const pod of podSpecs(r)) {
      for (const c of pod.containers ?? []) {
        for (const f of c.envFrom ?? []) {
          if (f.configMapRef && !f.configMapRef.optional) out.push({ from: describeResource(r), kind: 'ConfigMap', name: f.configMapRef.name as string });
          if (f.secretRef && !f.secretRef.optional) out.push({ from: describeResource(r), kind: 'Secret', name: f.secretRef.name as string });
        }
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.configMapKeyRef;
          if (ref && !ref.optional) out.push({ from: describeResource(r), kind: 'ConfigMap', name: ref.name as string });
        }
      }
      for (const v of pod.volumes ?? []) {
        if (v.configMap && !v.configMap.optional) out.push({ from: describeResource(r), kind: 'ConfigMap', name: v.configMap.name as string });
        if (v.secret && !v.secret.optional) out.push({ from: describeResource(r), kind: 'Secret', name: v.secret.secretName as string });
      }
    }
  }
  return out;
}
