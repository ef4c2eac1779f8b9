// The Grafana dashboard against what the services really export: every metric a panel queries,
// every label it filters or groups by, every label value it pins, scraped from the compiled
// services after a run that fills the histograms (a failed job, a vod upload with a retried part
// and an expired credential, webhooks, client STS tokens, a 404).
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { KEYS, startStack, writeRandomFile, type Stack } from '../e2e/stack.js';
import { startReceiver, type Receiver } from '../e2e/webhook-receiver.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DASHBOARD = path.join(ROOT, 'deploy/grafana/dashboards/vod-ingest.json');
/** The uid of deploy/grafana/provisioning/datasources/prometheus.yml. */
const DATASOURCE_UID = 'prometheus';

/** Series Prometheus adds to every target itself; no service exports them. */
const PROMETHEUS_SERIES = new Set(['up']);
/** Labels Prometheus attaches at scrape time (`job`, `instance`), and histogram buckets' `le`. */
const SCRAPE_LABELS = new Set(['job', 'instance', 'le']);
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'inf', 'nan']);
/** PromQL functions and aggregations; a misspelt one would otherwise pass as "a function". */
const FUNCTIONS = new Set(
  (
    'sum min max avg count stddev stdvar topk bottomk quantile count_values group ' +
    'rate irate increase delta idelta deriv predict_linear resets changes histogram_quantile ' +
    'abs ceil floor round clamp clamp_min clamp_max exp ln log2 log10 sqrt sgn scalar vector time timestamp ' +
    'absent absent_over_time label_replace label_join sort sort_desc ' +
    'avg_over_time min_over_time max_over_time sum_over_time count_over_time quantile_over_time last_over_time ' +
    'stddev_over_time stdvar_over_time present_over_time day_of_month day_of_week hour minute month year'
  ).split(' '),
);

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

/** What one PromQL expression refers to. */
export interface ExprRefs {
  metrics: string[];
  functions: string[];
  /** Label matchers, by the metric they follow (`''` for a bare `{...}`). */
  selectors: Array<{ metric: string; matchers: Matcher[] }>;
  /** Labels of `by`, `without`, `on`, `ignoring`, `group_left`, `group_right` clauses. */
  grouping: string[];
}

/**
 * Splits a PromQL expression (Grafana variables allowed) into metric names, functions, label
 * matchers and grouping labels. Enough PromQL for dashboards: strings, selectors, ranges, clauses.
 */
export function parseExpr(expr: string): ExprRefs {
  const selectors: ExprRefs['selectors'] = [];
  const grouping: string[] = [];
  const metrics: string[] = [];
  const functions: string[] = [];
  const str = String.raw`"(?:[^"\\]|\\.)*"`;
  let s = expr.replace(new RegExp(String.raw`([A-Za-z_:][\w:]*)?\s*\{((?:[^}"]|${str})*)\}`, 'g'), (_m, metric: string | undefined, body: string) => {
    const matchers: Matcher[] = [];
    for (const m of body.matchAll(new RegExp(String.raw`([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*(${str})`, 'g'))) {
      matchers.push({ label: m[1], op: m[2] as Matcher['op'], value: JSON.parse(m[3]) as string });
    }
    selectors.push({ metric: metric ?? '', matchers });
    return ` ${metric ?? ''} `;
  });
  s = s.replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_m, _kw, labels: string) => {
    grouping.push(
      ...labels
        .split(',')
        .map((l) => l.trim())
        .filter(Boolean),
    );
    return ' ';
  });
  s = s.replace(new RegExp(str, 'g'), ' ');
  for (const m of s.matchAll(/(?<![\w.:$])([A-Za-z_:][\w:]*)(?![\w:])(\s*\()?/g)) {
    if (m[2]) functions.push(m[1]);
    else if (!KEYWORDS.has(m[1].toLowerCase())) metrics.push(m[1]);
  }
  return { metrics, functions, selectors, grouping };
}

/** One scraped metric: its type and the label sets of its samples. */
interface Family {
  type: string;
  samples: Array<Record<string, string>>;
}

/**
 * Every series name a Prometheus text exposition offers: each `# TYPE` family, with `_bucket`,
 * `_sum` and `_count` for histograms (`_sum`, `_count` for summaries), and their samples' labels.
 */
export function parseExposition(text: string, into = new Map<string, Family>()): Map<string, Family> {
  const family = (name: string, type = 'untyped') => {
    let f = into.get(name);
    if (!f) into.set(name, (f = { type, samples: [] }));
    return f;
  };
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)/.exec(line);
    if (t) {
      family(t[1], t[2]).type = t[2];
      const suffixes = t[2] === 'histogram' ? ['_bucket', '_sum', '_count'] : t[2] === 'summary' ? ['_sum', '_count'] : [];
      for (const suffix of suffixes) family(t[1] + suffix, 'series');
      continue;
    }
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+\S+/.exec(line);
    if (!m || line.startsWith('#')) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([A-Za-z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    family(m[1]).samples.push(labels);
  }
  return into;
}

interface Panel {
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: Array<{ expr?: string; refId?: string; datasource?: { uid?: string } }>;
  panels?: Panel[];
}

/** Every problem of the dashboard against what the services export; empty when it is right. */
export function dashboardProblems(dashboard: { panels: Panel[] }, exported: Map<string, Family>): string[] {
  const problems: string[] = [];
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
  for (const panel of panels) {
    const where = `panel "${panel.title}"`;
    if (!panel.targets?.length) problems.push(`${where}: no query`);
    if (panel.datasource?.uid !== DATASOURCE_UID) problems.push(`${where}: datasource uid ${panel.datasource?.uid} is not the provisioned "${DATASOURCE_UID}"`);
    for (const target of panel.targets ?? []) {
      const expr = target.expr?.trim() ?? '';
      if (!expr) {
        problems.push(`${where} ${target.refId}: empty expr`);
        continue;
      }
      const refs = parseExpr(expr);
      if (refs.metrics.length === 0) problems.push(`${where}: no metric in ${expr}`);
      for (const fn of refs.functions) if (!FUNCTIONS.has(fn)) problems.push(`${where}: unknown function ${fn}() in ${expr}`);
      const known = refs.metrics.filter((m) => exported.has(m));
      for (const metric of refs.metrics) {
        if (!exported.has(metric) && !PROMETHEUS_SERIES.has(metric)) problems.push(`${where}: metric ${metric} is exported by no service (${expr})`);
      }
      // Labels of every metric of the expression, as their samples carry them.
      const labelsOf = (metric: string) => new Set((exported.get(metric)?.samples ?? []).flatMap((s) => Object.keys(s)));
      const exprLabels = new Set([...SCRAPE_LABELS, ...known.flatMap((m) => [...labelsOf(m)])]);
      for (const metric of known) {
        if ((exported.get(metric)?.samples.length ?? 0) === 0)
          problems.push(`${where}: ${metric} has no sample after the run, so its labels cannot be checked (exercise it)`);
      }
      for (const { metric, matchers } of refs.selectors) {
        if (!exported.has(metric)) continue;
        const family = exported.get(metric)!;
        const labels = labelsOf(metric);
        for (const { label, op, value } of matchers) {
          if (!labels.has(label) && !SCRAPE_LABELS.has(label)) {
            problems.push(`${where}: ${metric} has no label "${label}" (has ${[...labels].join(', ')})`);
          } else if (op === '=' && !SCRAPE_LABELS.has(label) && !value.includes('$') && !family.samples.some((s) => s[label] === value)) {
            const seen = [...new Set(family.samples.map((s) => s[label]))].join(', ');
            problems.push(`${where}: ${metric}{${label}="${value}"} matches no sample (values seen: ${seen})`);
          } else if (op.endsWith('~')) {
            try {
              new RegExp(`^(?:${value})$`);
            } catch {
              problems.push(`${where}: bad regex ${value}`);
            }
          }
        }
      }
      for (const label of refs.grouping) {
        if (!exprLabels.has(label)) problems.push(`${where}: groups by "${label}", which none of ${refs.metrics.join(', ')} has`);
      }
    }
  }
  return problems;
}

describe('parseExpr', () => {
  test('finds metrics, functions, matchers and grouping labels, not keywords, ranges or variables', () => {
    const refs = parseExpr(
      'histogram_quantile(0.95, sum by (le, target) (rate(ingest_part_upload_duration_seconds_bucket{target="vod", status=~"5.."}[$__rate_interval]))) / on (target) group_left sum(x_total offset 5m) > 1e3',
    );
    assert.deepEqual(refs.metrics, ['ingest_part_upload_duration_seconds_bucket', 'x_total']);
    assert.deepEqual(refs.functions, ['histogram_quantile', 'sum', 'rate', 'sum']);
    assert.deepEqual(refs.grouping, ['le', 'target', 'target']);
    assert.deepEqual(refs.selectors, [
      {
        metric: 'ingest_part_upload_duration_seconds_bucket',
        matchers: [
          { label: 'target', op: '=', value: 'vod' },
          { label: 'status', op: '=~', value: '5..' },
        ],
      },
    ]);
  });

  test('a grouping clause after the aggregation, and a bare metric', () => {
    const refs = parseExpr('max(queue_jobs) by (state) + process_resident_memory_bytes');
    assert.deepEqual(refs.metrics, ['queue_jobs', 'process_resident_memory_bytes']);
    assert.deepEqual(refs.grouping, ['state']);
  });
});

test('parseExposition: histograms offer _bucket, _sum and _count; counters only their own name', () => {
  const families = parseExposition(
    [
      '# HELP a_seconds x',
      '# TYPE a_seconds histogram',
      'a_seconds_bucket{le="1",service="worker"} 1',
      'a_seconds_sum{service="worker"} 0.5',
      'a_seconds_count{service="worker"} 1',
      '# TYPE b_total counter',
      'b_total{outcome="ok",service="api"} 3',
    ].join('\n'),
  );
  assert.deepEqual([...families.keys()].sort(), ['a_seconds', 'a_seconds_bucket', 'a_seconds_count', 'a_seconds_sum', 'b_total']);
  assert.equal(families.has('b_total_bucket'), false);
  assert.deepEqual(families.get('b_total')?.samples, [{ outcome: 'ok', service: 'api' }]);
});

describe('the Grafana dashboard against the metrics the services export', () => {
  const MiB = 1024 * 1024;
  let stack: Stack;
  let receiver: Receiver;
  let exported: Map<string, Family>;
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; panels: Panel[] };

  before(async () => {
    stack = await startStack({ workers: 0 });
    receiver = await startReceiver(stack.webhookSecret);
    // A job that fails for good: its file is gone before any worker runs.
    const gone = path.join(stack.inbox, 'gone.bin');
    await writeRandomFile(gone, 64 * 1024);
    const failing = await stack.submit({ source: { type: 'file', path: gone }, target: { type: 'oss', bucket: stack.emu.bucket, key: 'ops/gone.bin' } });
    assert.equal(failing.status, 202, JSON.stringify(failing.body));
    rmSync(gone);
    // A multipart vod upload with one part retried (503) and its credential once refused as expired.
    // Two actions: rules matching one request are all spent by it, though only the first answers.
    await stack.emu.addFaults([
      { action: 'InitiateMultipartUpload', status: 403, code: 'SecurityTokenExpired', times: 1 },
      { action: 'UploadPart', status: 503, code: 'ServiceUnavailable', times: 1 },
    ]);
    await stack.startWorker({ WEBHOOK_URLS: receiver.url });
    assert.equal((await stack.waitFor(failing.body.id, { timeoutMs: 60_000 })).status, 'failed');
    const clip = path.join(stack.inbox, 'clip.mp4');
    await writeRandomFile(clip, MiB / 2);
    const ok = await stack.submit({
      source: { type: 'file', path: clip },
      target: { type: 'vod', title: 'Ops dashboard' },
      upload: { partSize: 100 * 1024, parallel: 2, retryDuration: 0.1 },
    });
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    const job = await stack.waitFor(ok.body.id, { timeoutMs: 60_000 });
    assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
    // The client profile through the api, and a 404.
    const sts = await fetch(`${stack.api.url}/v1/sts-tokens`, { method: 'POST', headers: { authorization: `Bearer ${KEYS.acme}` } });
    assert.equal(sts.status, 200);
    await sts.arrayBuffer();
    assert.equal((await fetch(`${stack.api.url}/v1/jobs/job_missing`, { headers: { authorization: `Bearer ${KEYS.acme}` } })).status, 404);
    // The terminal webhook of the vod job, so the delivery histogram has a sample.
    for (const deadline = Date.now() + 30_000; !receiver.events.some((e) => e.jobId === ok.body.id && e.type === 'job.succeeded'); ) {
      if (Date.now() > deadline) throw new Error(`no job.succeeded webhook (got ${receiver.events.map((e) => e.type).join(', ')})`);
      await new Promise((r) => setTimeout(r, 200));
    }
    exported = new Map();
    for (const url of [stack.api.url, stack.token.url, stack.emu.url, ...stack.workers.map((w) => w.url)]) {
      const res = await fetch(`${url}/metrics`);
      assert.equal(res.status, 200);
      parseExposition(await res.text(), exported);
    }
  });
  after(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  test('every panel queries exported metrics with labels and values they have', () => {
    const problems = dashboardProblems(dashboard, exported);
    assert.deepEqual(problems, [], problems.join('\n'));
  });

  test('the panels the README promises are there', () => {
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr ?? '');
    const uses = (metric: string) => exprs.some((e) => parseExpr(e).metrics.includes(metric));
    for (const metric of [
      'ingest_jobs_total',
      'ingest_uploaded_bytes_total',
      'ingest_job_duration_seconds_bucket',
      'ingest_part_upload_duration_seconds_bucket',
      'queue_jobs',
      'ingest_part_retries_total',
      'ingest_credential_refreshes_total',
      'sts_assume_role_total',
      'sts_assume_role_duration_seconds_bucket',
      'token_cache_hits_total',
      'token_cache_misses_total',
      'webhook_deliveries_total',
      'http_request_duration_seconds_count',
      'http_request_duration_seconds_bucket',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
    ]) {
      assert.ok(uses(metric), `no panel queries ${metric}`);
    }
  });

  test('a panel on a metric, label or value that does not exist is reported', () => {
    const broken = structuredClone(dashboard);
    const target = broken.panels.find((p) => p.title === 'Jobs/s by outcome')!.targets![0];
    target.expr =
      'sum by (outcom) (rate(ingest_jobz_total[5m])) + sum(ingest_jobs_total{outcome="success"}) + sum(ingest_jobs_total_bucket) + histogram_quantil(0.5, queue_jobs)';
    const problems = dashboardProblems(broken, exported).join('\n');
    assert.match(problems, /metric ingest_jobz_total is exported by no service/);
    assert.match(problems, /metric ingest_jobs_total_bucket is exported by no service/);
    assert.match(problems, /groups by "outcom"/);
    assert.match(problems, /outcome="success"\} matches no sample/);
    assert.match(problems, /unknown function histogram_quantil\(\)/);
  });
});
