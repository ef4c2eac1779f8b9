import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usageError } from './errors.js';

/** Where the api is and who calls it: `--url`/`VOD_INGEST_URL`, `--api-key`/`VOD_INGEST_API_KEY`. */
export interface Connection {
  url: string;
  apiKey?: string;
}

export const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export function connectionOf(values: { url?: string; 'api-key'?: string }, env: NodeJS.ProcessEnv): Connection {
  return { url: values.url ?? env.VOD_INGEST_URL ?? 'http://localhost:3000', apiKey: values['api-key'] ?? env.VOD_INGEST_API_KEY };
}

export function requireApiKey(c: Connection): string {
  if (!c.apiKey) throw usageError('no API key: set VOD_INGEST_API_KEY or pass --api-key');
  return c.apiKey;
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/** What `parse` found: each option's value (boolean or string) and the positionals. */
export interface Parsed<O extends OptionSpec> {
  values: { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string };
  positionals: string[];
}

/** node:util parseArgs, its errors turned into one usage line. */
export function parse<O extends OptionSpec>(args: string[], options: O): Parsed<O> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true }) as unknown as Parsed<O>;
  } catch (err) {
    throw usageError((err as Error).message.split('\n')[0]);
  }
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** `8388608`, `8M`, `8MiB`, `512KiB` (binary units) → bytes. */
export function parseSize(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw usageError(`--${option}: "${text}" is not a size (e.g. 8MiB, 512KiB, 1048576)`);
  return Math.round(Number(m[1]) * unit);
}

export function parseCount(text: string, option: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw usageError(`--${option}: must be a whole number from ${min} to ${max}`);
  return n;
}

/** Exactly one of `--vod`/`--oss`, with what each needs. */
export type TargetChoice = { type: 'vod'; title?: string } | { type: 'oss'; bucket: string; key: string; contentType?: string };

export const TARGET_OPTIONS = {
  vod: { type: 'boolean' },
  oss: { type: 'boolean' },
  title: { type: 'string' },
  bucket: { type: 'string' },
  key: { type: 'string' },
  'content-type': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export function targetOf(v: { vod?: boolean; oss?: boolean; title?: string; bucket?: string; key?: string; 'content-type'?: string }): TargetChoice {
  if (v.vod && v.oss) throw usageError('--vod and --oss: pick one target');
  if (v.oss) {
    if (!v.bucket || !v.key) throw usageError('--oss needs --bucket and --key');
    return { type: 'oss', bucket: v.bucket, key: v.key, contentType: v['content-type'] };
  }
  if (v.bucket || v.key) throw usageError('--bucket and --key go with --oss');
  return { type: 'vod', title: v.title };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  for (; v >= 1024 && i < units.length - 1; i++) v /= 1024;
  return `${v.toFixed(1)} ${units[i]}`;
}
