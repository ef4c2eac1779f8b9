import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface TokenMetrics {
  assumeRoleCalls: Counter<'profile' | 'outcome'>;
  assumeRoleDuration: Histogram<'profile' | 'outcome'>;
  cacheHits: Counter<'profile'>;
  cacheMisses: Counter<'profile'>;
}

/** The token service's own series; `secondsToExpiry` feeds the expiry gauge at scrape time. */
export function createTokenMetrics(registry: Registry, profiles: string[], secondsToExpiry: (profile: string) => number | undefined): TokenMetrics {
  new Gauge({
    name: 'sts_credential_expiry_seconds',
    help: 'Seconds until the newest cached STS credential of a profile expires.',
    labelNames: ['profile'] as const,
    registers: [registry],
    collect() {
      for (const profile of profiles) {
        const s = secondsToExpiry(profile);
        if (s !== undefined) this.set({ profile }, s);
      }
    },
  });
  const metrics: TokenMetrics = {
    assumeRoleCalls: new Counter({
      name: 'sts_assume_role_total',
      help: 'AssumeRole calls by profile and outcome (success, throttled, error).',
      labelNames: ['profile', 'outcome'] as const,
      registers: [registry],
    }),
    assumeRoleDuration: new Histogram({
      name: 'sts_assume_role_duration_seconds',
      help: 'AssumeRole call duration by profile and outcome.',
      labelNames: ['profile', 'outcome'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    cacheHits: new Counter({
      name: 'token_cache_hits_total',
      help: 'Credential requests served from the cache.',
      labelNames: ['profile'] as const,
      registers: [registry],
    }),
    cacheMisses: new Counter({
      name: 'token_cache_misses_total',
      help: 'Credential requests that found no valid cached credential.',
      labelNames: ['profile'] as const,
      registers: [registry],
    }),
  };
  // Export every profile's series from the start (a hit ratio needs both, even at zero).
  for (const profile of profiles) {
    metrics.cacheHits.inc({ profile }, 0);
    metrics.cacheMisses.inc({ profile }, 0);
  }
  return metrics;
}
