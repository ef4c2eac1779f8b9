/** Deepest nesting of objects and arrays a JSON body may have. */
export const MAX_JSON_DEPTH = 32;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = new Set([0x5b, 0x7b]); // [ {
const CLOSE = new Set([0x5d, 0x7d]); // ] }

/**
 * True when the JSON `text` nests objects and arrays deeper than `max`. One pass that skips
 * strings, without parsing, so it runs before `JSON.parse`, zod or `JSON.stringify` could recurse
 * into a hostile body. Takes raw UTF-8 bytes as they are (no byte of a multi-byte character is
 * ASCII) or a decoded string. Malformed text is left for the parser to refuse.
 */
export function jsonTooDeep(text: Uint8Array | string, max = MAX_JSON_DEPTH): boolean {
  const at = typeof text === 'string' ? (i: number) => text.charCodeAt(i) : (i: number) => text[i];
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const b = at(i);
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) {
      inString = true;
    } else if (OPEN.has(b)) {
      if (++depth > max) return true;
    } else if (CLOSE.has(b)) {
      depth--;
    }
  }
  return false;
}
