/**
 * An error as the emulated cloud reports it. The OSS and POP front ends render it in their own
 * formats (XML / JSON); `extra` carries API-specific fields (StringToSign, ServerTime, ...).
 */
export class CloudError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
    /** Extra response headers (for example a throttling answer's retry-after). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'CloudError';
  }
}
