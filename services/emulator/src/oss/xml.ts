/** Minimal XML writing and the one XML body OSS reads from clients (CompleteMultipartUpload). */

export function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|apos|quot);/g, (_, e: string) => ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' })[e]!);
}

/** A value is a string (text element), an array (repeated element) or a nested record. */
export type XmlValue = string | number | boolean | XmlRecord | XmlRecord[];
export interface XmlRecord {
  [name: string]: XmlValue | undefined;
}

function render(name: string, value: XmlValue | undefined): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map((v) => render(name, v)).join('');
  if (typeof value === 'object')
    return `<${name}>${Object.entries(value)
      .map(([k, v]) => render(k, v))
      .join('')}</${name}>`;
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

export function toXml(root: string, body: XmlRecord): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${render(root, body)}`;
}

/** Parses `<CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>...`; undefined when malformed. */
export function parseCompleteBody(xml: string): Array<{ partNumber: number; etag: string }> | undefined {
  if (!/<CompleteMultipartUpload>[\s\S]*<\/CompleteMultipartUpload>/.test(xml)) return undefined;
  const parts: Array<{ partNumber: number; etag: string }> = [];
  const re = /<Part>([\s\S]*?)<\/Part>/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const num = /<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(m[1]);
    const etag = /<ETag>([\s\S]*?)<\/ETag>/.exec(m[1]);
    if (!num || !etag) return undefined;
    parts.push({ partNumber: Number(num[1]), etag: unescapeXml(etag[1].trim()) });
  }
  return parts;
}
