// A small kustomize: renders the subset of kustomization.yaml that deploy/k8s uses, offline, so the
// manifests can be checked without a kustomize binary. Anything outside the subset is refused, never
// skipped: a kustomization that uses more fails the test until this renders it too. k8s.test.ts
// compares the output with `kubectl kustomize` whenever kubectl is on the PATH.
//
// Subset: resources (files and directories), namespace, configMapGenerator and secretGenerator
// (envs, files, literals, behavior create/merge/replace, options.disableNameSuffixHash), images
// (newName, newTag), patches (JSON 6902 operations add/replace/remove with a target).
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

export type Resource = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown };

interface Item {
  resource: Resource;
  /** The name before a content-hash suffix; references in other resources use it. */
  baseName: string;
  /** A generated ConfigMap or Secret that gets a content-hash suffix. */
  hashed: boolean;
}

interface Generator {
  name: string;
  behavior?: 'create' | 'merge' | 'replace';
  envs?: string[];
  files?: string[];
  literals?: string[];
  options?: { disableNameSuffixHash?: boolean };
}

const KNOWN = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'configMapGenerator', 'secretGenerator', 'images', 'patches']);
const GENERATOR_FIELDS = new Set(['name', 'behavior', 'envs', 'files', 'literals', 'options']);
/** Kinds that take no namespace (of those a kustomization here could hold). */
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'StorageClass', 'PriorityClass']);

/** Renders the kustomization in `dir` to its resources, as `kubectl kustomize dir` would. */
export function kustomize(dir: string): Resource[] {
  const items = build(path.resolve(dir));
  const renames = new Map<string, string>();
  for (const it of items) {
    if (!it.hashed) continue;
    const name = `${it.baseName}-${contentHash(it.resource)}`;
    renames.set(refKey(it.resource.kind, it.resource.metadata.namespace, it.baseName), name);
    it.resource.metadata.name = name;
  }
  for (const it of items) rewriteReferences(it.resource, renames);
  return items.map((it) => it.resource);
}

function build(dir: string): Item[] {
  const k = parseYaml(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8')) as Record<string, unknown>;
  const unknown = Object.keys(k).filter((key) => !KNOWN.has(key));
  if (unknown.length) throw new Error(`${dir}/kustomization.yaml: not supported by this renderer: ${unknown.join(', ')}`);
  if (k.kind !== undefined && k.kind !== 'Kustomization') throw new Error(`${dir}: kind ${String(k.kind)}`);

  const items: Item[] = [];
  for (const entry of (k.resources as string[] | undefined) ?? []) {
    const target = within(dir, entry);
    if (statSync(target).isDirectory()) items.push(...build(target));
    else items.push(...readResources(target).map((resource) => ({ resource, baseName: resource.metadata.name, hashed: false })));
  }
  for (const g of (k.configMapGenerator as Generator[] | undefined) ?? []) generate(dir, 'ConfigMap', g, items);
  for (const g of (k.secretGenerator as Generator[] | undefined) ?? []) generate(dir, 'Secret', g, items);
  if (typeof k.namespace === 'string') {
    for (const it of items) if (!CLUSTER_SCOPED.has(it.resource.kind)) it.resource.metadata.namespace = k.namespace;
  }
  for (const image of (k.images as ImageRule[] | undefined) ?? []) for (const it of items) setImages(it.resource, image);
  for (const p of (k.patches as Patch[] | undefined) ?? []) applyPatch(p, items);
  return items;
}

/** A path inside the kustomization's own directory (kustomize's default load restriction). */
function within(dir: string, entry: string): string {
  const target = path.resolve(dir, entry);
  if (!statSync(target, { throwIfNoEntry: false })) throw new Error(`${dir}: ${entry} does not exist`);
  if (!statSync(target).isDirectory() && path.relative(dir, target).startsWith('..')) throw new Error(`${dir}: ${entry} is outside the kustomization root`);
  return target;
}

function readResources(file: string): Resource[] {
  const out: Resource[] = [];
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`);
    const value = doc.toJS() as Resource | null;
    if (value === null) continue;
    if (!value.apiVersion || !value.kind || !value.metadata?.name) throw new Error(`${file}: a document without apiVersion, kind or metadata.name`);
    out.push(value);
  }
  return out;
}

function generate(dir: string, kind: 'ConfigMap' | 'Secret', g: Generator, items: Item[]): void {
  const extra = Object.keys(g).filter((key) => !GENERATOR_FIELDS.has(key));
  if (extra.length) throw new Error(`${dir}: ${kind} generator ${g.name}: not supported: ${extra.join(', ')}`);
  const data: Record<string, string> = {};
  for (const file of g.envs ?? []) Object.assign(data, parseEnvFile(readFileSync(within(dir, file), 'utf8')));
  for (const entry of g.files ?? []) {
    const eq = entry.indexOf('=');
    const [key, file] = eq < 0 ? [path.basename(entry), entry] : [entry.slice(0, eq), entry.slice(eq + 1)];
    data[key] = readFileSync(within(dir, file), 'utf8');
  }
  for (const literal of g.literals ?? []) Object.assign(data, parseEnvFile(literal));

  const behavior = g.behavior ?? 'create';
  const existing = items.find((it) => it.resource.kind === kind && it.baseName === g.name);
  if (behavior === 'create') {
    if (existing) throw new Error(`${dir}: ${kind} ${g.name} exists already (behavior merge or replace?)`);
    const resource: Resource = { apiVersion: 'v1', kind, metadata: { name: g.name } };
    if (kind === 'Secret') resource.type = 'Opaque';
    resource.data = encode(kind, data);
    items.push({ resource, baseName: g.name, hashed: !g.options?.disableNameSuffixHash });
    return;
  }
  if (!existing) throw new Error(`${dir}: ${kind} ${g.name}: behavior ${behavior} without a ${kind} of that name to change`);
  const before = behavior === 'merge' ? ((existing.resource.data as Record<string, string> | undefined) ?? {}) : {};
  existing.resource.data = { ...before, ...encode(kind, data) };
  if (g.options?.disableNameSuffixHash !== undefined) existing.hashed = !g.options.disableNameSuffixHash;
}

/** `KEY=value` lines; `#` comments and blank lines skipped; the value is everything after the first `=`. */
function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`env line without KEY=: ${line}`);
    out[line.slice(0, eq).trim()] = line.slice(eq + 1);
  }
  return out;
}

function encode(kind: string, data: Record<string, string>): Record<string, string> {
  if (kind !== 'Secret') return data;
  return Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'utf8').toString('base64')]));
}

/**
 * kustomize's name suffix (api/hasher): the SHA-256 of Go's JSON of {data, kind, name: ""} (and
 * type for a Secret), keys sorted, `<>&` escaped; the first 10 hex digits with 0 1 3 a e replaced.
 */
function contentHash(r: Resource): string {
  const fields: Record<string, unknown> = { kind: r.kind, name: '', data: r.data ?? {} };
  if (r.kind === 'Secret') fields.type = r.type ?? '';
  const json = goJson(fields);
  const hex = createHash('sha256').update(json).digest('hex').slice(0, 10);
  return hex.replace(/[013ae]/g, (c) => ({ '0': 'g', '1': 'h', '3': 'k', a: 'm', e: 't' })[c] ?? c);
}

function goJson(value: unknown): string {
  const sorted = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
        )
      : v;
  return JSON.stringify(sorted(value)).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const refKey = (kind: string, namespace: string | undefined, name: string) => `${kind}/${namespace ?? ''}/${name}`;

/** Points a pod template's ConfigMap and Secret references at the suffixed names. */
function rewriteReferences(r: Resource, renames: Map<string, string>): void {
  const ns = r.metadata.namespace;
  const rename = (kind: string, holder: Record<string, unknown> | undefined, field: string) => {
    const name = holder?.[field];
    if (typeof name !== 'string') return;
    const to = renames.get(refKey(kind, ns, name));
    if (to) holder![field] = to;
  };
  for (const pod of podSpecs(r)) {
    for (const c of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
      for (const e of c.envFrom ?? []) rename('ConfigMap', e.configMapRef, 'name'), rename('Secret', e.secretRef, 'name');
      for (const e of c.env ?? []) rename('ConfigMap', e.valueFrom?.configMapKeyRef, 'name'), rename('Secret', e.valueFrom?.secretKeyRef, 'name');
    }
    for (const v of pod.volumes ?? []) {
      rename('ConfigMap', v.configMap, 'name');
      rename('Secret', v.secret, 'secretName');
      for (const s of v.projected?.sources ?? []) rename('ConfigMap', s.configMap, 'name'), rename('Secret', s.secret, 'name');
    }
    for (const s of pod.imagePullSecrets ?? []) rename('Secret', s, 'name');
  }
}

type Ref = Record<string, unknown> & { name?: string };
export interface Container {
  name: string;
  image?: string;
  env?: { name: string; value?: string; valueFrom?: { configMapKeyRef?: Ref; secretKeyRef?: Ref } }[];
  envFrom?: { configMapRef?: Ref; secretRef?: Ref; prefix?: string }[];
  [k: string]: unknown;
}
export interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  volumes?: { name: string; configMap?: Ref; secret?: Ref; projected?: { sources?: { configMap?: Ref; secret?: Ref }[] } }[];
  imagePullSecrets?: Ref[];
  [k: string]: unknown;
}

/** The pod specs of a workload (Deployment, StatefulSet, DaemonSet, Job: spec.template.spec). */
export function podSpecs(r: Resource): PodSpec[] {
  const spec = (r.spec as { template?: { spec?: PodSpec } } | undefined)?.template?.spec;
  return spec ? [spec] : [];
}

interface ImageRule {
  name: string;
  newName?: string;
  newTag?: string;
}

function setImages(r: Resource, rule: ImageRule): void {
  const extra = Object.keys(rule).filter((key) => !['name', 'newName', 'newTag'].includes(key));
  if (extra.length) throw new Error(`images: not supported: ${extra.join(', ')}`);
  for (const pod of podSpecs(r)) {
    for (const c of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
      if (!c.image) continue;
      const m = /^(.*?)(?::([^:/@]+))?(@.+)?$/.exec(c.image)!;
      if (m[1] !== rule.name) continue;
      c.image = `${rule.newName ?? m[1]}${rule.newTag !== undefined ? `:${rule.newTag}` : m[2] ? `:${m[2]}` : ''}${m[3] ?? ''}`;
    }
  }
}

interface Patch {
  patch: string;
  target: { group?: string; version?: string; kind?: string; name?: string };
}

function applyPatch(p: Patch, items: Item[]): void {
  const extra = [
    ...Object.keys(p).filter((key) => !['patch', 'target'].includes(key)),
    ...Object.keys(p.target ?? {}).filter((key) => !['group', 'version', 'kind', 'name'].includes(key)),
  ];
  if (extra.length || !p.target) throw new Error(`patches: not supported: ${extra.join(', ') || 'a patch without target'}`);
  const ops = parseYaml(p.patch) as { op: string; path: string; value?: unknown }[];
  if (!Array.isArray(ops)) throw new Error('patches: only JSON 6902 operation lists are supported');
  const matches = items.filter(({ resource: r, baseName }) => {
    const [group, version] = r.apiVersion.includes('/') ? r.apiVersion.split('/') : ['', r.apiVersion];
    const t = p.target;
    return (
      (t.group === undefined || t.group === group) &&
      (t.version === undefined || t.version === version) &&
      (t.kind === undefined || t.kind === r.kind) &&
      (t.name === undefined || t.name === baseName)
    );
  });
  if (matches.length === 0) throw new Error(`patches: no resource matches ${JSON.stringify(p.target)}`);
  for (const { resource } of matches) for (const op of ops) jsonPatch(resource, op);
}

function jsonPatch(doc: Resource, op: { op: string; path: string; value?: unknown }): void {
  const parts = op.path
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = parts.pop()!;
  let parent: unknown = doc;
  for (const key of parts) {
    parent = (parent as Record<string, unknown>)?.[key];
    if (parent === undefined) throw new Error(`patch ${op.op} ${op.path}: no such path`);
  }
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (op.op === 'add') parent.splice(index, 0, op.value);
    else if (op.op === 'replace' && index < parent.length) parent[index] = op.value;
    else if (op.op === 'remove' && index < parent.length) parent.splice(index, 1);
    else throw new Error(`patch ${op.op} ${op.path}: not supported or no such path`);
    return;
  }
  const holder = parent as Record<string, unknown>;
  if (op.op === 'add') {
    holder[last] = op.value;
  } else if (op.op === 'replace' || op.op === 'remove') {
    if (!(last in holder)) throw new Error(`patch ${op.op} ${op.path}: no such path`);
    if (op.op === 'replace') holder[last] = op.value;
    else delete holder[last];
  } else {
    throw new Error(`patch op ${op.op}: not supported`);
  }
}
