import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../observability/metrics.js';

/** Counts and times every answer, labelled by route pattern (never by raw URL: ids would explode it). */
export function installRequestMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
}
