import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per running Herald, so tests can run several side by side. */
export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly jobOutcomes: Counter<'job' | 'outcome'>;
  /** Reads queue depths when scraped; set once the queue is running. */
  setQueueDepthSource(source: () => Promise<Record<string, number>>): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'herald_' });
  let depthSource: (() => Promise<Record<string, number>>) | undefined;
  new Gauge({
    name: 'herald_queue_depth',
    help: 'Jobs waiting to run, by job name',
    labelNames: ['job'],
    registers: [registry],
    async collect() {
      if (!depthSource) return;
      this.reset();
      for (const [job, depth] of Object.entries(await depthSource())) this.set({ job }, depth);
    },
  });
  return {
    registry,
    httpRequests: new Counter({
      name: 'herald_http_requests_total',
      help: 'HTTP requests answered, by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'herald_http_request_duration_seconds',
      help: 'Time to answer an HTTP request',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    jobOutcomes: new Counter({
      name: 'herald_jobs_total',
      help: 'Background jobs run, by job name and outcome (completed, failed)',
      labelNames: ['job', 'outcome'],
      registers: [registry],
    }),
    setQueueDepthSource(source) {
      depthSource = source;
    },
  };
}
