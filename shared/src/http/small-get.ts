import http from 'node:http';
import https from 'node:https';

/** What `getSmall` resolves with: the status, the headers and the whole body as text. */
export interface SmallAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** The most `getSmall` reads of an answer; a longer one fails the request. */
const MAX_ANSWER_BYTES = 1024 * 1024;

const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

/**
 * A GET whose answer is small (a credential, a health check), over `node:http` on keep-alive
 * connections; rejects on a network error, after `timeoutMs` (answer included) or past 1 MiB.
 *
 * Not `fetch`: the first request of a process through fetch (undici) makes V8 compile undici's
 * WebAssembly HTTP parser with its optimizing compiler in the background, a one-time rise of
 * ~27 MB in resident memory; in a worker, its first upload asks for a credential, so that rise
 * would land on top of the upload's own memory. Node's own HTTP parser costs nothing to start.
 */
export function getSmall(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<SmallAnswer> {
  const secure = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    // However the request ends, its timer goes with it.
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    const req = (secure ? https : http).get(url, { headers, agent: secure ? agents.https : agents.http }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_ANSWER_BYTES) req.destroy(new Error(`answer longer than ${MAX_ANSWER_BYTES} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', fail);
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', fail);
  });
}
