import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './api.generated.js';
import { CliError, EXIT } from './errors.js';

export type ApiClient = Client<paths>;
export type Schemas = components['schemas'];
export type JobView = Schemas['JobView'];
export type JobRequest = Schemas['JobRequest'];
export type UploadRequest = Schemas['UploadRequest'];

/**
 * The api, typed from its own OpenAPI document (src/api.generated.ts). `token` is an API key or a
 * direct upload's client token; both go as `Authorization: Bearer`.
 */
export function apiClient(baseUrl: string, token: string | undefined): ApiClient {
  const client = createClient<paths>({ baseUrl: baseUrl.replace(/\/+$/, '') });
  client.use({
    onRequest({ request }) {
      if (token) request.headers.set('authorization', `Bearer ${token}`);
      return request;
    },
  });
  return client;
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/**
 * The data of a successful answer; otherwise a CliError carrying the api's error code and message
 * (exit 3), or, when the api could not be reached, exit 4.
 */
export async function unwrap<T>(call: Promise<Answer<T>>, what: string): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await call;
  } catch (err) {
    throw unreachable(err, what);
  }
  if (answer.response.ok && answer.data !== undefined) return answer.data;
  throw refusal(answer.response.status, answer.error, what);
}

export function unreachable(err: unknown, what: string): CliError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return new CliError(`${what}: cannot reach the api: ${cause?.code ?? cause?.message ?? (err as Error).message}`, EXIT.io, 'UNREACHABLE');
}

/** `{"error":{code,message,details}}` as one line: `CODE: message (field: problem, …)`. */
export function refusal(status: number, body: unknown, what: string): CliError {
  const e = (body as { error?: { code?: string; message?: string; details?: Array<{ field: string; message: string }> } } | undefined)?.error;
  const details = e?.details?.length ? ` (${e.details.map((d) => (d.message === e.message ? d.field : `${d.field}: ${d.message}`)).join('; ')})` : '';
  const reason = e ? `${e.code}: ${e.message}${details}` : `HTTP ${status}`;
  return new CliError(`${what}: ${status} ${reason}`, EXIT.refused, e?.code);
}
