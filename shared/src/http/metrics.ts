import type { NextFunction, Request, Response } from 'express';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** A Prometheus registry with the process defaults and the `service` label on every series. */
export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * `http_request_duration_seconds{method,route,status}`. `route` is the matched route pattern
 * (`/v1/credentials/:profile`), never the raw path, so labels stay bounded.
 * Mount routers at the root with full paths: express resets `req.baseUrl` when a route in a
 * router mounted at a prefix fails, which would label its errors without the prefix. A sub-app
 * with many routes of its own sets `res.locals.metricsRoute` to one label for all of them.
 */
export function httpMetrics(registry: Registry) {
  const histogram = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return (req: Request, res: Response, next: NextFunction): void => {
    const end = histogram.startTimer();
    res.on('finish', () => {
      // A mounted sub-app with its own routes (the queue board) names itself in res.locals.metricsRoute.
      const named = typeof res.locals.metricsRoute === 'string' ? res.locals.metricsRoute : undefined;
      const route = named ?? (req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched');
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}
