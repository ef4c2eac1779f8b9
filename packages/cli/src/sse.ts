/** One server-sent event as the api sends a job's: `id`, `event` (the type) and `data` (JSON). */
export interface ServerEvent {
  id?: string;
  event: string;
  data: string;
}

/**
 * The events of an SSE body, in order (comment lines skipped). Ends when the server ends the
 * stream. Follows the WHATWG rules the api uses: fields up to a blank line, `data` lines joined.
 */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let current: { id?: string; event?: string; data: string[] } = { data: [] };
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + (buffer.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (current.data.length > 0 || current.event) yield { id: current.id, event: current.event ?? 'message', data: current.data.join('\n') };
        current = { data: [] };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') current.id = value;
      else if (field === 'event') current.event = value;
      else if (field === 'data') current.data.push(value);
    }
  }
}
