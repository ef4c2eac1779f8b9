import { Counter, Histogram, type Registry } from 'prom-client';

/** How one delivery attempt ended. */
export type DeliveryOutcome = 'delivered' | 'retried' | 'failed' | 'disabled';

/** The webhook metrics; no per-job or per-URL labels, so cardinality stays fixed. */
export interface WebhookMetrics {
  deliveries: Counter<'outcome'>;
  duration: Histogram;
}

/** Registers the webhook metrics on `registry`, or returns the ones already there (a restart in one process). */
export function webhookMetrics(registry: Registry): WebhookMetrics {
  const deliveries =
    (registry.getSingleMetric('webhook_deliveries_total') as Counter<'outcome'> | undefined) ??
    new Counter({
      name: 'webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome (delivered, retried, failed after the last attempt, disabled by a 410)',
      labelNames: ['outcome'],
      registers: [registry],
    });
  const duration =
    (registry.getSingleMetric('webhook_delivery_duration_seconds') as Histogram | undefined) ??
    new Histogram({
      name: 'webhook_delivery_duration_seconds',
      help: 'Time from sending a webhook to its answer (or error), per attempt',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
  return { deliveries, duration };
}
