/** Prometheus HTTP metrics by route template (never the raw path) and status. */
import type { Middleware } from 'koa';
import { Counter, Histogram, type Registry } from 'prom-client';

export function httpMetrics(registry: Registry): Middleware {
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests', labelNames, registers: [registry] });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return async (ctx, next) => {
    const stop = duration.startTimer();
    try {
      await next();
    } finally {
      const route = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
      const labels = { method: ctx.method, route: route ? String(route) : 'unmatched', status: String(ctx.status) };
      requests.inc(labels);
      stop(labels);
    }
  };
}
