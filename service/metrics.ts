// The service's own Prometheus metrics (prom-client), one registry per service so that two in
// one process (the tests) do not share counters. Names follow Prometheus' conventions
// (https://prometheus.io/docs/practices/naming/): a unit suffix, _total on counters, labels of
// few values (a route's pattern, never its path with ids in it).
import type { Kysely } from 'kysely'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { poolOf } from './db/connect.ts'
import type { Database } from './db/database.ts'

export type DeliveryOutcome = 'delivered' | 'retried' | 'rate_limited' | 'failed'

export interface ServiceMetrics {
  readonly registry: Registry
  request(method: string, route: string, status: number, seconds: number): void
  ingest(outcome: 'created' | 'reposted', seconds: number): void
  comparison(kind: 'history' | 'ab', seconds: number): void
  delivery(kind: string, outcome: DeliveryOutcome): void
  /** The text exposition of every metric, read at scrape time. */
  scrape(): Promise<string>
}

export function createMetrics(db: Kysely<Database>): ServiceMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'infergate_' })
  const requests = new Counter({
    name: 'infergate_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  })
  const requestSeconds = new Histogram({
    name: 'infergate_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route pattern',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  })
  const ingestSeconds = new Histogram({
    name: 'infergate_ingest_duration_seconds',
    help: 'Time to store a posted report (comparison included), by outcome',
    labelNames: ['outcome'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  })
  const runs = new Counter({
    name: 'infergate_runs_ingested_total',
    help: 'Reports posted: created (a new run stored) or reposted (the run it already had)',
    labelNames: ['outcome'],
    registers: [registry],
  })
  const comparisonSeconds = new Histogram({
    name: 'infergate_comparison_duration_seconds',
    help: 'Time the detector took on a run (history: against baselines; ab: between its arms)',
    labelNames: ['kind'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  })
  const deliveries = new Counter({
    name: 'infergate_notification_deliveries_total',
    help: 'Outbox delivery attempts by notification kind and outcome',
    labelNames: ['kind', 'outcome'],
    registers: [registry],
  })
  const scrapeErrors = new Counter({
    name: 'infergate_metrics_database_errors_total',
    help: 'Scrapes whose database gauges could not be read (they keep their last values)',
    registers: [registry],
  })
  // Read from the database at scrape time: every replica's outbox is the same table.
  new Gauge({
    name: 'infergate_outbox_pending',
    help: 'Notifications waiting in the outbox, by kind (all replicas)',
    labelNames: ['kind'],
    registers: [registry],
    async collect() {
      try {
        const rows = await db
          .selectFrom('notifications')
          .select(['kind', db.fn.countAll<string>().as('n')])
          .where('state', '=', 'pending')
          .groupBy('kind')
          .execute()
        this.reset()
        for (const r of rows) this.set({ kind: r.kind }, Number(r.n))
      } catch {
        scrapeErrors.inc()
      }
    },
  })
  const pool = poolOf(db)
  if (pool) {
    new Gauge({
      name: 'infergate_db_pool_connections',
      help: 'Postgres pool connections: total open, idle, and queries waiting for one',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        this.set({ state: 'total' }, pool.totalCount)
        this.set({ state: 'idle' }, pool.idleCount)
        this.set({ state: 'waiting' }, pool.waitingCount)
      },
    })
    new Gauge({
      name: 'infergate_db_pool_max',
      help: 'Postgres pool size (INFERGATE_DB_POOL_MAX)',
      registers: [registry],
      collect() {
        this.set(pool.options.max ?? 10)
      },
    })
  }
  return {
    registry,
    request(method, route, status, seconds) {
      requests.inc({ method, route, status: String(status) })
      requestSeconds.observe({ method, route }, seconds)
    },
    ingest(outcome, seconds) {
      runs.inc({ outcome })
      ingestSeconds.observe({ outcome }, seconds)
    },
    comparison(kind, seconds) {
      comparisonSeconds.observe({ kind }, seconds)
    },
    delivery(kind, outcome) {
      deliveries.inc({ kind, outcome })
    },
    scrape: () => registry.metrics(),
  }
}
