import { AppError, isProgrammingError } from '../errors.js';
import type { Credential } from './credential.js';
import { popEndpoint } from './endpoint.js';

type OpenApiClient = { callApi(params: unknown, request: unknown, runtime: unknown): Promise<{ body: Record<string, unknown> }> };
interface OpenApi {
  ClientClass: new (config: unknown) => OpenApiClient;
  $OpenApiUtil: { Config: new (c: object) => unknown; Params: new (p: object) => unknown; OpenApiRequest: new (r: object) => unknown };
  OpenApiUtil: { query(p: object): Record<string, string> };
  RuntimeOptions: new (o: object) => unknown;
}
let openApi: Promise<OpenApi> | undefined;

/**
 * openapi-core and its runtime, loaded on the first POP call, not at start-up: they hold ~16 MB
 * of a process's memory, and a worker that only uploads to OSS, or an api no tenant of which
 * uses VOD, never calls POP. A load that failed is tried again on the next call.
 */
function loadOpenApi(): Promise<OpenApi> {
  openApi ??= Promise.all([import('@alicloud/openapi-core'), import('@darabonba/typescript')]).then(
    ([Core, Dara]) => {
      // CommonJS interop: Node's ESM loader puts the client class at `.default.default`; tsx (tests
      // on the sources) at `.default`.
      type Default = OpenApi['ClientClass'] | { default: OpenApi['ClientClass'] };
      const core = Core as unknown as Pick<OpenApi, '$OpenApiUtil' | 'OpenApiUtil'> & { default: Default };
      const ClientClass = typeof core.default === 'function' ? core.default : core.default.default;
      const { RuntimeOptions } = Dara as unknown as Pick<OpenApi, 'RuntimeOptions'>;
      return { ClientClass, $OpenApiUtil: core.$OpenApiUtil, OpenApiUtil: core.OpenApiUtil, RuntimeOptions };
    },
    (err: unknown) => {
      openApi = undefined;
      throw err;
    },
  );
  return openApi;
}

const OUR_CREDENTIAL_CODES =
  /^(InvalidAccessKeyId|InvalidSecurityToken|SecurityTokenExpired|SignatureDoesNotMatch|MissingSecurityToken|IncompleteSignature|InvalidTimeStamp)/;

/** An Alibaba Cloud API error, with its own `code` and `requestId` kept. */
export class AlibabaError extends AppError {
  /** HTTP status the cloud answered (0 for network errors). */
  readonly upstreamStatus: number;
  /** Milliseconds the cloud asked us to wait (throttling), when it said. */
  readonly retryAfterMs?: number;
  constructor(
    code: string,
    message: string,
    upstreamStatus: number,
    opts: { requestId?: string; cause?: unknown; retryAfterMs?: number; retryable?: boolean; status?: number },
  ) {
    const throttled = /Throttling/i.test(code);
    const retryable = opts.retryable ?? (throttled || upstreamStatus === 0 || upstreamStatus >= 500);
    // Our own credential or signature being refused is our problem (502), not the caller's —
    // whatever status the cloud used for it (InvalidAccessKeyId.NotFound is a 404).
    const ours = [401, 403].includes(upstreamStatus) || OUR_CREDENTIAL_CODES.test(code);
    const status = opts.status ?? (throttled ? 503 : retryable || ours ? 502 : upstreamStatus || 502);
    super(code, message, { status, retryable, requestId: opts.requestId, cause: opts.cause });
    this.upstreamStatus = upstreamStatus;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/**
 * A request that could not be built or sent because of what it carries (a URIError for a lone
 * surrogate, a TypeError for a header character Node refuses): not the network, never retried.
 */
export function localRequestError(err: unknown, what: string): AlibabaError {
  const message = `${what} could not be made: ${(err as Error).message}`;
  return new AlibabaError('INTERNAL_ERROR', message, 0, { cause: err, retryable: false, status: 500 });
}

/** Maps an openapi-core error (ClientError, ServerError, ThrottlingError, network) once, here. */
export function mapPopError(err: unknown): AlibabaError {
  const e = err as {
    code?: string;
    name?: string;
    statusCode?: number;
    message?: string;
    requestId?: string;
    retryAfter?: number;
    data?: { Message?: string };
  };
  if (e && typeof e.statusCode === 'number') {
    return new AlibabaError(String(e.code ?? 'Unknown'), e.data?.Message ?? e.message ?? 'Alibaba Cloud error', e.statusCode, {
      requestId: e.requestId,
      retryAfterMs: typeof e.retryAfter === 'number' ? e.retryAfter : undefined,
      cause: err,
    });
  }
  // openapi-core parses every reply as JSON: a SyntaxError is a reply that is not (a gateway's HTML page).
  if (e?.name === 'SyntaxError') return new AlibabaError('ALIBABA_BAD_REPLY', `Alibaba Cloud sent an unreadable reply: ${e.message}`, 0, { cause: err });
  if (isProgrammingError(err)) return localRequestError(err, 'The Alibaba Cloud request');
  return new AlibabaError('NETWORK_ERROR', `Could not reach Alibaba Cloud: ${e?.message ?? String(err)}`, 0, { cause: err });
}

export interface PopCallOptions {
  /** `host:port`, `http://host:port` or a domain (https). */
  endpoint: string;
  region: string;
  /** Per-request read timeout (ms). Defaults to 10 s. */
  readTimeoutMs?: number;
}

/** One RPC-style POP call (as the generated clients send it), signed with `credential`. */
export async function callPop(
  opts: PopCallOptions,
  credential: Pick<Credential, 'accessKeyId' | 'accessKeySecret'> & { securityToken?: string },
  version: string,
  action: string,
  params: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const { endpoint, protocol } = popEndpoint(opts.endpoint);
  const { ClientClass, $OpenApiUtil, OpenApiUtil, RuntimeOptions } = await loadOpenApi();
  const client = new ClientClass(
    new $OpenApiUtil.Config({
      accessKeyId: credential.accessKeyId,
      accessKeySecret: credential.accessKeySecret,
      securityToken: credential.securityToken,
      endpoint,
      protocol,
      regionId: opts.region,
      readTimeout: opts.readTimeoutMs ?? 10_000,
      connectTimeout: 5000,
    }),
  );
  const p = new $OpenApiUtil.Params({
    action,
    version,
    protocol: protocol.toUpperCase(),
    pathname: '/',
    method: 'POST',
    authType: 'AK',
    style: 'RPC',
    reqBodyType: 'formData',
    bodyType: 'json',
  });
  const defined = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
  try {
    const res = await client.callApi(p, new $OpenApiUtil.OpenApiRequest({ query: OpenApiUtil.query(defined) }), new RuntimeOptions({}));
    return res.body;
  } catch (err) {
    throw mapPopError(err);
  }
}
