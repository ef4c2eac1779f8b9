import { msToExpiry, withCredential, type Credential, type CredentialSource, type Logger, type VodApi, type VodUploadTicket } from '@vod-ingest/shared';

/** Refresh an UploadAuth this long before it expires (at most a fifth of its life), rather than wait for a refusal. */
const REFRESH_AHEAD_MS = 30_000;

const aheadOf = (c: Credential) => Math.min(REFRESH_AHEAD_MS, msToExpiry(c) / 5);

/**
 * The OSS credential inside a VOD video's `UploadAuth`. When OSS refuses it (or it is about to
 * expire), `RefreshUploadVideo` gives a new one for the same video: the upload goes on with the
 * same upload id. Concurrent parts share one refresh.
 */
export class VodUploadCredentials implements CredentialSource {
  private current: Credential;
  private aheadMs: number;
  private inflight?: Promise<Credential>;

  constructor(
    private readonly deps: { vod: VodApi; ingest: CredentialSource; log: Logger; onRefresh?: () => void },
    private readonly videoId: string,
    ticket: VodUploadTicket,
  ) {
    this.current = ticket.auth;
    this.aheadMs = aheadOf(ticket.auth);
  }

  async get(): Promise<Credential> {
    if (msToExpiry(this.current) > this.aheadMs) return this.current;
    return this.refresh(this.current);
  }

  async refreshAfterRejection(rejected: Credential): Promise<Credential> {
    if (this.current.accessKeyId !== rejected.accessKeyId) return this.current; // already replaced
    return this.refresh(rejected);
  }

  private refresh(stale: Credential): Promise<Credential> {
    this.inflight ??= (async () => {
      try {
        const ticket = await withCredential(this.deps.ingest, (c) => this.deps.vod.refreshUploadVideo(c, this.videoId));
        if (this.current.accessKeyId === stale.accessKeyId) {
          this.current = ticket.auth;
          this.aheadMs = aheadOf(ticket.auth);
        }
        this.deps.onRefresh?.();
        this.deps.log.info({ videoId: this.videoId, expiration: ticket.auth.expiration }, 'UploadAuthRefreshed');
        return this.current;
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }
}
