import { z } from 'zod';

/** C0 controls, DEL and the C1 controls U+0080–U+009F. */
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
/** With the `u` flag a surrogate pair is one code point, so only a lone surrogate matches. */
const LONE_SURROGATE = /\p{Cs}/u;

/** True when `s` is well-formed UTF-16: no lone surrogate, so it has a UTF-8 form (`String.prototype.isWellFormed`). */
export const isWellFormed = (s: string): boolean => !LONE_SURROGATE.test(s);
/** True when `s` has no C0 control, DEL or C1 control character. */
export const hasNoControlChars = (s: string): boolean => !CONTROL_CHARS.test(s);
/** Length of `s` in UTF-8 bytes, as Alibaba Cloud counts its limits. */
export const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');

export const WELL_FORMED_MESSAGE = 'must be well-formed Unicode (a lone UTF-16 surrogate is not)';
export const CONTROL_CHARS_MESSAGE = 'control characters are not allowed';

/** Refinement arguments: at most `max` UTF-8 bytes. */
export const maxBytes = (max: number) => [(s: string) => utf8Length(s) <= max, `at most ${max} bytes (UTF-8)`] as const;

/**
 * A string that is well-formed Unicode. Checked first and aborting, so the later rules (byte
 * counts, patterns) only ever see text that can be encoded.
 */
export const wellFormedString = () => z.string().refine(isWellFormed, { message: WELL_FORMED_MESSAGE, abort: true });

/** A well-formed string without control characters: what every name, title and id must be. */
export const plainText = () => wellFormedString().refine(hasNoControlChars, CONTROL_CHARS_MESSAGE);

/**
 * An HTTP header value that Node sends as it is: printable ASCII and Latin-1 letters (no
 * controls; Node refuses anything above U+00FF with a TypeError when the request is made).
 */
export const headerValue = () => wellFormedString().regex(/^[\x20-\x7e\u00a0-\u00ff]*$/, 'printable ASCII or Latin-1 characters only');

/**
 * Record options that report a refused key with its key schema's own message (`key: …`)
 * instead of zod's bare "Invalid key in record". The issue's path names the key.
 */
export const keyMessages = {
  error: (issue: { code?: string; issues?: ReadonlyArray<{ message?: string }> }) =>
    issue.code === 'invalid_key' ? `key: ${issue.issues?.[0]?.message ?? 'not allowed'}` : undefined,
};

/** What is wrong at one place inside a JSON value. */
export interface JsonValueProblem {
  path: Array<string | number>;
  message: string;
}

/**
 * The first problem inside a parsed JSON value: a key or string that is not well-formed or (with
 * `plain`) has control characters, or nesting deeper than `maxDepth`. Walks with its own stack,
 * never recursion, so no input can overflow the call stack. Defaults: `maxDepth` 32, `plain` true.
 */
export function jsonValueProblem(value: unknown, opts: { maxDepth?: number; plain?: boolean } = {}): JsonValueProblem | undefined {
  const maxDepth = opts.maxDepth ?? 32;
  const textProblem = (s: string) =>
    !isWellFormed(s) ? WELL_FORMED_MESSAGE : opts.plain !== false && !hasNoControlChars(s) ? CONTROL_CHARS_MESSAGE : undefined;
  const todo: Array<{ v: unknown; path: Array<string | number> }> = [{ v: value, path: [] }];
  while (todo.length > 0) {
    const { v, path } = todo.pop()!;
    if (typeof v === 'string') {
      const message = textProblem(v);
      if (message) return { path, message };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (path.length >= maxDepth) return { path, message: `nested more than ${maxDepth} levels deep` };
    for (const [k, child] of Array.isArray(v) ? v.entries() : Object.entries(v)) {
      const message = typeof k === 'string' ? textProblem(k) : undefined;
      if (message) return { path: [...path, k], message: `key: ${message}` };
      todo.push({ v: child, path: [...path, k] });
    }
  }
  return undefined;
}
