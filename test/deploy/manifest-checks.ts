// Checks of rendered Kubernetes resources, offline:
// - `schemaProblems`: each resource against its JSON schema — Kubernetes' own (kubernetes-models
//   4.5.1, generated from the Kubernetes 1.33 OpenAPI spec) and KEDA's (@kubernetes-models/keda
//   0.4.2, generated from KEDA 2.10.1's CRDs);
// - `fieldProblems`: no field the API does not know, at any depth (the schemas above allow unknown
//   fields, as the API server does unless asked to be strict; kubectl is strict). The same
//   packages' type declarations are the reference: the resources are type-checked as object
//   literals of those types, so TypeScript's excess-property check names unknown fields (a resource
//   with a wrong type as well may show only the first problem: fix, rerun);
// - `crdProblems`: the KEDA resources also against the current KEDA release's CRDs, vendored in
//   deploy/k8s/schemas/ (see SOURCE.md there), unknown fields refused as the API server's strict
//   field validation refuses them;
// - `envProblems`: every environment variable a container gets is one its service's zod schema knows.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import ts from 'typescript';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { REPO_ROOT } from '@vod-ingest/shared/testing';
import { type Container, podSpecs, type Resource } from './kustomize.js';

interface Kind {
  /** The model class: its `validate()` runs the JSON schema. */
  model: new (
    data: never,
  ) => { validate(): void };
  /** Module and interface of the type declaration. */
  types: [string, string];
}

const KINDS: Record<string, Kind> = {
  'v1/ConfigMap': { model: ConfigMap, types: ['kubernetes-models/v1/ConfigMap', 'IConfigMap'] },
  'v1/Secret': { model: Secret, types: ['kubernetes-models/v1/Secret', 'ISecret'] },
  'v1/Service': { model: Service, types: ['kubernetes-models/v1/Service', 'IService'] },
  'apps/v1/Deployment': { model: Deployment, types: ['kubernetes-models/apps/v1/Deployment', 'IDeployment'] },
  'policy/v1/PodDisruptionBudget': { model: PodDisruptionBudget, types: ['kubernetes-models/policy/v1/PodDisruptionBudget', 'IPodDisruptionBudget'] },
  'autoscaling/v2/HorizontalPodAutoscaler': {
    model: HorizontalPodAutoscaler,
    types: ['kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler', 'IHorizontalPodAutoscaler'],
  },
  'keda.sh/v1alpha1/ScaledObject': { model: ScaledObject, types: ['@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject', 'IScaledObject'] },
  'keda.sh/v1alpha1/TriggerAuthentication': {
    model: TriggerAuthentication,
    types: ['@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication', 'ITriggerAuthentication'],
  },
};

export const describeResource = (r: Resource) => `${r.kind}/${r.metadata.name}`;

/** JSON-schema problems, one line each (`Deployment/x: /spec/replicas must be integer`); a kind without a schema is one. */
export function schemaProblems(resources: Resource[]): string[] {
  const problems: string[] = [];
  for (const r of resources) {
    const kind = KINDS[`${r.apiVersion}/${r.kind}`];
    if (!kind) {
      problems.push(`${describeResource(r)}: no schema known for ${r.apiVersion} ${r.kind}`);
      continue;
    }
    try {
      new kind.model(structuredClone(r) as never).validate();
    } catch (err) {
      const errors = (err as { errors?: { instancePath: string; message?: string }[] }).errors;
      if (!errors) throw err;
      for (const e of errors) problems.push(`${describeResource(r)}: ${e.instancePath || '/'} ${e.message}`);
    }
  }
  return problems;
}

type Schema = Record<string, unknown>;

/** A structural schema with unknown fields refused: `additionalProperties: false` wherever it lists properties and keeps no unknown fields. */
function strictSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strictSchema);
  if (!schema || typeof schema !== 'object') return schema;
  const s = schema as Schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as Schema).map(([name, sub]) => [name, strictSchema(sub)])) : strictSchema(v);
  }
  if (s.properties && s.additionalProperties === undefined && !s['x-kubernetes-preserve-unknown-fields']) out.additionalProperties = false;
  return out;
}

let crdValidators: Map<string, { source: string; validate: ValidateFunction }> | undefined;

/** The vendored CRDs (deploy/k8s/schemas/<name>/*.yaml), compiled once: `apiVersion/kind` → validator. */
function loadCrds(): Map<string, { source: string; validate: ValidateFunction }> {
  if (crdValidators) return crdValidators;
  const ajv = new Ajv({ strict: false, allErrors: true });
  for (const f of ['int32', 'int64']) ajv.addFormat(f, { type: 'number', validate: Number.isInteger });
  ajv.addFormat('date-time', true);
  crdValidators = new Map();
  const root = path.join(REPO_ROOT, 'deploy/k8s/schemas');
  for (const dir of readdirSync(root)) {
    for (const file of readdirSync(path.join(root, dir)).filter((f) => f.endsWith('.yaml'))) {
      const crd = parseYaml(readFileSync(path.join(root, dir, file), 'utf8')) as {
        spec: { group: string; names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: Schema } }[] };
      };
      for (const v of crd.spec.versions) {
        const schema = strictSchema(v.schema.openAPIV3Schema) as Schema & { properties: Schema };
        // The API server checks metadata itself (ObjectMeta); the CRD says only `type: object`.
        schema.properties = { ...schema.properties, metadata: { type: 'object' } };
        crdValidators.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, { source: `${dir}/${file}`, validate: ajv.compile(schema) });
      }
    }
  }
  return crdValidators;
}

/** Problems of the resources that a vendored CRD describes, against its schema; other resources are not looked at. */
export function crdProblems(resources: Resource[]): string[] {
  const crds = loadCrds();
  const problems: string[] = [];
  for (const r of resources) {
    const crd = crds.get(`${r.apiVersion}/${r.kind}`);
    if (!crd || crd.validate(r)) continue;
    for (const e of crd.validate.errors ?? []) {
      const extra = e.keyword === 'additionalProperties' ? ` (${(e.params as { additionalProperty: string }).additionalProperty})` : '';
      problems.push(`${describeResource(r)}: ${e.instancePath || '/'} ${e.message}${extra} [${crd.source}]`);
    }
  }
  return problems;
}

/** The `apiVersion/kind`s the vendored CRDs describe. */
export const vendoredCrdKinds = () => [...loadCrds().keys()];

/** Unknown fields and type mismatches against the declared types, with the path of each. */
export function fieldProblems(resources: Resource[]): string[] {
  const file = path.join(REPO_ROOT, 'test/deploy/__rendered-manifests__.ts');
  const known = resources.map((r) => KINDS[`${r.apiVersion}/${r.kind}`]);
  const imports = [...new Set(known.filter(Boolean).map((k) => `import type { ${k.types[1]} } from '${k.types[0]}';`))];
  const decls = resources.map((r, i) => (known[i] ? `export const r${i}: ${known[i].types[1]} = ${JSON.stringify(r, null, 1)};` : ''));
  const text = [...imports, ...decls].join('\n');

  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    types: [],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
  };
  const host = ts.createCompilerHost(options);
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, ...rest) => (name === file ? source : getSourceFile(name, ...rest));
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);

  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, ' ').replace(/ in type '[^']{80,}'/, ' in its type');
    if (d.file !== source || d.start === undefined) return `type declarations: ${message}`;
    const { index, path: where } = pathAt(source, d.start);
    return `${index === undefined ? 'imports' : describeResource(resources[index])}: ${where} ${message}`;
  });
}

/** Which resource (`r<index>`) and which path inside it a position of the generated source is at. */
function pathAt(source: ts.SourceFile, pos: number): { index?: number; path: string } {
  let index: number | undefined;
  const parts: string[] = [];
  const visit = (node: ts.Node): void => {
    if (pos < node.getStart(source) || pos >= node.getEnd()) return;
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name)) index = Number(node.name.text.slice(1));
    if (ts.isPropertyAssignment(node)) parts.push(`.${(node.name as ts.StringLiteral).text}`);
    if (ts.isArrayLiteralExpression(node)) {
      const i = node.elements.findIndex((e) => pos >= e.getStart(source) && pos < e.getEnd());
      if (i >= 0) parts.push(`[${i}]`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { index, path: parts.join('').replace(/^\./, '') || '(root)' };
}

/** A service's config schema as its fields: the shape of the zod object under its transforms. */
export function envShape(schema: z.ZodType): Record<string, z.ZodType> {
  let s = schema as unknown as { shape?: Record<string, z.ZodType>; in?: unknown; _zod?: { def?: { in?: unknown } } } | undefined;
  while (s && !s.shape) s = (s.in ?? s._zod?.def?.in) as typeof s;
  if (!s?.shape) throw new Error('not a zod object schema (or one under transforms)');
  return s.shape;
}

/** The variable names a service's config schema reads. */
export const envNames = (schema: z.ZodType): Set<string> => new Set(Object.keys(envShape(schema)));

/** Where a container's variables come from: name → value, or undefined for a key of an absent optional Secret/ConfigMap. */
export interface ContainerEnv {
  values: Map<string, string | undefined>;
  /** References that resolve to no rendered ConfigMap or Secret: `Secret/name` or `Secret/name:key`. */
  unresolved: string[];
}

/** Every variable of a container, resolved against the rendered ConfigMaps and Secrets. */
export function containerEnv(container: Container, resources: Resource[]): ContainerEnv {
  const find = (kind: string, name: string | undefined) => resources.find((r) => r.kind === kind && r.metadata.name === name);
  const dataOf = (r: Resource): Record<string, string> => {
    const data = (r.data ?? {}) as Record<string, string>;
    return r.kind === 'Secret' ? Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])) : data;
  };
  const values = new Map<string, string | undefined>();
  const unresolved: string[] = [];
  for (const from of container.envFrom ?? []) {
    const [kind, ref] = from.configMapRef ? ['ConfigMap', from.configMapRef] : ['Secret', from.secretRef];
    const r = find(kind, ref?.name);
    // The keys of an absent source are unknown, so they cannot be checked: an error even if optional.
    if (!r) unresolved.push(`${kind}/${ref?.name} (envFrom)`);
    else for (const [k, v] of Object.entries(dataOf(r))) values.set(`${from.prefix ?? ''}${k}`, v);
  }
  for (const e of container.env ?? []) {
    const ref = e.valueFrom?.configMapKeyRef ?? e.valueFrom?.secretKeyRef;
    if (!ref) {
      values.set(e.name, e.value ?? '');
      continue;
    }
    const kind = e.valueFrom?.configMapKeyRef ? 'ConfigMap' : 'Secret';
    const r = find(kind, ref.name);
    const value = r ? dataOf(r)[ref.key as string] : undefined;
    if (value === undefined && !ref.optional) unresolved.push(`${kind}/${ref.name}:${ref.key}`);
    values.set(e.name, value);
  }
  return { values, unresolved };
}

/** Variables set for a container that its service's schema does not read. */
export function envProblems(resources: Resource[], schemas: Record<string, z.ZodType>): string[] {
  const problems: string[] = [];
  for (const r of resources) {
    for (const pod of podSpecs(r)) {
      for (const c of pod.containers ?? []) {
        const schema = schemas[c.name];
        if (!schema) {
          problems.push(`${describeResource(r)}: container ${c.name} is no service with a config schema`);
          continue;
        }
        const known = envNames(schema);
        const env = containerEnv(c, resources);
        for (const ref of env.unresolved.filter((u) => u.endsWith('(envFrom)'))) {
          problems.push(`${describeResource(r)}: container ${c.name}: the keys of ${ref} cannot be checked (not rendered)`);
        }
        for (const name of env.values.keys()) {
          if (!known.has(name)) problems.push(`${describeResource(r)}: container ${c.name}: ${name} is not a variable of the ${c.name} schema`);
        }
      }
    }
  }
  return problems;
}
