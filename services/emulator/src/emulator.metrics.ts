import { Counter, type Registry } from 'prom-client';
import type { FaultInjector } from './faults.js';

/** Actions the emulator serves (and its simulated VOD transcode); anything else a client names is counted as `Other`, so labels stay bounded. */
const KNOWN_ACTIONS = new Set([
  'AssumeRole',
  'CreateUploadVideo',
  'RefreshUploadVideo',
  'GetVideoInfo',
  'PutObject',
  'GetObject',
  'HeadObject',
  'DeleteObject',
  'InitiateMultipartUpload',
  'UploadPart',
  'CompleteMultipartUpload',
  'AbortMultipartUpload',
  'ListParts',
  'ListObjects',
  'ListBuckets',
  'PostObject',
  'Transcode',
]);

/**
 * `emulator_requests_total{action}` and `emulator_faults_injected_total{action}`, read from the
 * fault injector's counters at scrape time (they restart from zero when the admin API resets them).
 */
export function registerEmulatorMetrics(registry: Registry, faults: FaultInjector): void {
  const series = (name: string, help: string, pick: (s: ReturnType<FaultInjector['stats']>) => Record<string, number>) =>
    new Counter({
      name,
      help,
      labelNames: ['action'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [action, n] of Object.entries(pick(faults.stats()))) this.inc({ action: KNOWN_ACTIONS.has(action) ? action : 'Other' }, n);
      },
    });
  series('emulator_requests_total', 'Requests the emulator received, by API action.', (s) => s.requests);
  series('emulator_faults_injected_total', 'Requests answered with an injected error or dropped, by API action.', (s) => s.faults);
}
