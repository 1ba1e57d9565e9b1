import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from '../domain/clock';
import { ACTIVITIES } from '../domain/marketplace/production-requests';
import { RESULT_CODES } from '../domain/marketplace/result-codes';
import type { ScrapeFigures } from '../storage/scrape-figures';
import type { SweepReport } from '../domain/sweeper';
import type { CheckpointResult, CheckpointTally } from '../storage/sqlite-checkpoint';

/** Figures read from the database when Prometheus scrapes (never on a request). */
interface MetricsSources {
  clock: Clock;
  readFigures(): Promise<ScrapeFigures>;
  /** Lease tokens signed by this process so far. */
  signatures(): number;
  /** SQLite: what the latest background checkpoint found; absent on PostgreSQL. */
  wal?: () => CheckpointResult | null;
  /** SQLite: the background checkpoints made and the ticks skipped; absent on PostgreSQL. */
  checkpoints?: () => CheckpointTally;
}

/** Database figures are re-read at most this often, however often /metrics is scraped. */
const FIGURES_CACHE_MS = 5_000;

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const KNOWN_ACTIVITIES = new Set<string>(ACTIVITIES);
const KNOWN_RESULT_CODES = new Set<string>(Object.values(RESULT_CODES));

/** For a counter fed from a running total kept elsewhere: what the total grew by since the last call. */
function growth(): (total: number) => number {
  let before = 0;
  return (total) => {
    const grown = Math.max(0, total - before);
    before = total;
    return grown;
  };
}

interface RequestSeries {
  count: Counter.Internal;
  duration: Histogram.Internal<'method' | 'route' | 'status'>;
}

/**
 * The process's Prometheus metrics, in a registry of its own (several servers may share a
 * process in tests). On a request the cost is a few Map lookups, one counter increment and one
 * histogram observation: label children are created once per series and kept. Every label value
 * comes from a closed set — route patterns, status codes, error codes, activities — never from
 * a raw path or a client string.
 */
export class LicensorMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly latency: Histogram<'method' | 'route' | 'status'>;
  private readonly series = new Map<string, Map<string, Map<number, RequestSeries>>>();
  private readonly heartbeats: Counter<'result'>;
  private readonly activations: Counter<'result'>;
  private readonly deactivations: Counter<'result'>;
  private readonly outcomeChildren = new Map<Counter<'result'>, Map<string, Counter.Internal>>();
  private readonly callbacks: Counter<'activity' | 'result_code'>;
  private readonly sweeperRuns: Counter<'result'>;
  private readonly sweeperChanges: Counter<'change'>;
  private readonly sweeperLastRun: Gauge;
  private readonly collectFailures: Counter;
  private readonly outboxAttempts: Counter<'kind' | 'result'>;
  private figures: ScrapeFigures | null = null;
  private figuresAt = -Infinity;
  private reading: Promise<ScrapeFigures | null> | null = null;

  constructor(private readonly sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'licensor_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'licensor_http_request_duration_seconds',
      help: 'Time from the request reaching the app to the last byte of the answer, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.heartbeats = new Counter({
      name: 'licensor_heartbeats_total',
      help: 'Client heartbeats: result "ok" or the refusal code',
      labelNames: ['result'],
      registers,
    });
    this.activations = new Counter({
      name: 'licensor_activations_total',
      help: 'Client activations: "created", "existing" (same machine again) or the refusal code',
      labelNames: ['result'],
      registers,
    });
    this.deactivations = new Counter({
      name: 'licensor_deactivations_total',
      help: 'Client deactivations: "ok" or the refusal code',
      labelNames: ['result'],
      registers,
    });
    this.callbacks = new Counter({
      name: 'licensor_marketplace_callbacks_total',
      help: 'Marketplace production-interface calls by activity and the resultCode answered',
      labelNames: ['activity', 'result_code'],
      registers,
    });
    this.sweeperRuns = new Counter({
      name: 'licensor_sweeper_runs_total',
      help: 'Sweeper runs: "ran", "skipped" (another process held the lock) or "failed"',
      labelNames: ['result'],
      registers,
    });
    this.sweeperChanges = new Counter({
      name: 'licensor_sweeper_changes_total',
      help: 'Codes expired and released, floating seats culled, by the sweeper in this process',
      labelNames: ['change'],
      registers,
    });
    this.sweeperLastRun = new Gauge({
      name: 'licensor_sweeper_last_run_timestamp_seconds',
      help: 'When a sweep last completed in this process (0: never)',
      registers,
    });
    this.collectFailures = new Counter({
      name: 'licensor_metrics_collect_failures_total',
      help: 'Scrapes whose database figures could not be read (the previous figures are shown)',
      registers,
    });
    this.outboxAttempts = new Counter({
      name: 'licensor_outbox_attempts_total',
      help: 'Outbox delivery attempts in this process by kind: "delivered", "retry" (failed, due again later) or "failed" (given up)',
      labelNames: ['kind', 'result'],
      registers,
    });

    const signed = growth();
    new Counter({
      name: 'licensor_token_signatures_total',
      help: 'Lease tokens signed by this process',
      registers,
      collect() {
        this.inc(signed(sources.signatures()));
      },
    });
    // A WAL that grows past its bound, or frames that stay uncopied, mean that something holds an
    // old snapshot and no checkpoint can copy past it (docs/performance.md#sqlite-checkpoints-in-the-background).
    const wal = sources.wal;
    if (wal) {
      new Gauge({
        name: 'licensor_sqlite_wal_frames',
        help: 'SQLite: frames (pages) in the WAL, and of those not yet copied into the database file, at the latest background checkpoint',
        labelNames: ['state'],
        registers,
        collect() {
          const last = wal();
          if (!last || last.busy || last.walFrames < 0) return;
          this.set({ state: 'in_wal' }, last.walFrames);
          this.set({ state: 'not_checkpointed' }, last.walFrames - last.checkpointed);
        },
      });
    }
    // Ticks skipped mean a copy outlasts the interval: a slow disk, or a backlog after a burst.
    const checkpoints = sources.checkpoints;
    if (checkpoints) {
      const grown = { made: growth(), skipped: growth() };
      new Counter({
        name: 'licensor_sqlite_checkpoints_total',
        help: 'SQLite: background checkpoints made ("made"), and timer ticks that found one still copying and skipped ("skipped")',
        labelNames: ['result'],
        registers,
        collect() {
          const tally = checkpoints();
          for (const result of ['made', 'skipped'] as const) this.inc({ result }, grown[result](tally[result]));
        },
      });
    }
    // The gauges below are filled from one cached read of the database figures.
    const currentFigures = () => this.currentFigures();
    const figureGauge = (name: string, help: string, label: string, fill: (figures: ScrapeFigures, set: (value: string, n: number) => void) => void) => {
      new Gauge({
        name,
        help,
        labelNames: [label],
        registers,
        async collect() {
          const figures = await currentFigures();
          if (!figures) return;
          this.reset();
          fill(figures, (value, n) => this.set({ [label]: value }, n));
        },
      });
    };
    figureGauge('licensor_codes', 'Authorization codes by stored status (read at most every 5 s)', 'status', (f, set) => {
      for (const [status, n] of Object.entries(f.codesByStatus)) set(status, n);
    });
    figureGauge('licensor_seats_used', 'Active activations (seats taken) per product (read at most every 5 s)', 'product', (f, set) => {
      for (const seat of f.seats) set(seat.product, seat.used);
    });
    figureGauge('licensor_seats_licensed', 'Seats of issued and alive codes per product (read at most every 5 s)', 'product', (f, set) => {
      for (const seat of f.seats) set(seat.product, seat.licensed);
    });
    // An endpoint switched off (by the operator, or by licensor after failing too long) hears nothing: alert on off > 0.
    figureGauge('licensor_webhook_endpoints', 'Webhook endpoints by state: on, or off (read at most every 5 s)', 'state', (f, set) => {
      set('on', f.webhookEndpoints.on);
      set('off', f.webhookEndpoints.off);
    });
    // What is owed and what failed, by kind: the backlog is the pending entries.
    new Gauge({
      name: 'licensor_outbox_entries',
      help: 'Outbox entries by kind and status: pending (owed), delivered (kept for a while), failed (given up) (read at most every 5 s)',
      labelNames: ['kind', 'status'],
      registers,
      async collect() {
        const figures = await currentFigures();
        if (!figures) return;
        this.reset();
        for (const row of figures.outbox) this.set({ kind: row.kind, status: row.status }, row.count);
      },
    });
    new Gauge({
      name: 'licensor_outbox_oldest_pending_seconds',
      help: 'Age of the oldest pending outbox entry by kind (read at most every 5 s)',
      labelNames: ['kind'],
      registers,
      async collect() {
        const figures = await currentFigures();
        if (!figures) return;
        this.reset();
        const now = sources.clock.now();
        for (const row of figures.outbox) if (row.status === 'pending') this.set({ kind: row.kind }, Math.max(0, (now - row.oldestAt) / 1000));
      },
    });
  }

  /** Hot path: called once per answered request. `route` is a pattern from a closed set. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    let byRoute = this.series.get(method);
    if (!byRoute) this.series.set(method, (byRoute = new Map()));
    let byStatus = byRoute.get(route);
    if (!byStatus) byRoute.set(route, (byStatus = new Map()));
    let series = byStatus.get(status);
    if (!series) {
      const labels = [method, route, String(status)];
      series = { count: this.requests.labels(...labels), duration: this.latency.labels(...labels) };
      byStatus.set(status, series);
    }
    series.count.inc();
    series.duration.observe(seconds);
  }

  countHeartbeat(result: string): void {
    this.countOutcome(this.heartbeats, result);
  }

  countActivation(result: string): void {
    this.countOutcome(this.activations, result);
  }

  countDeactivation(result: string): void {
    this.countOutcome(this.deactivations, result);
  }

  countMarketplaceCallback(activity: string, resultCode: string): void {
    this.callbacks.inc({
      activity: KNOWN_ACTIVITIES.has(activity) ? activity : 'unknown',
      result_code: KNOWN_RESULT_CODES.has(resultCode) ? resultCode : 'other',
    });
  }

  /** An outbox delivery attempt's outcome (src/jobs/outbox-worker.ts). */
  outboxAttempt(kind: string, result: 'delivered' | 'retry' | 'failed'): void {
    this.outboxAttempts.inc({ kind, result });
  }

  sweeperRan(report: SweepReport | undefined, failed: boolean): void {
    if (failed || !report) {
      this.sweeperRuns.inc({ result: 'failed' });
      return;
    }
    if (!report.ran) {
      this.sweeperRuns.inc({ result: 'skipped' });
      return;
    }
    this.sweeperRuns.inc({ result: 'ran' });
    this.sweeperChanges.inc({ change: 'expired' }, report.expired);
    this.sweeperChanges.inc({ change: 'culled' }, report.culled);
    this.sweeperChanges.inc({ change: 'released' }, report.released);
    this.sweeperLastRun.set(this.sources.clock.now() / 1000);
  }

  /** The text exposition format, with the database figures refreshed when they are older than 5 s. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private countOutcome(counter: Counter<'result'>, result: string): void {
    let children = this.outcomeChildren.get(counter);
    if (!children) this.outcomeChildren.set(counter, (children = new Map()));
    let child = children.get(result);
    if (!child) children.set(result, (child = counter.labels(result)));
    child.inc();
  }

  /** One read for every gauge of a scrape, and none while the last one is fresh; a failure keeps the last figures. */
  private currentFigures(): Promise<ScrapeFigures | null> {
    if (this.sources.clock.now() - this.figuresAt < FIGURES_CACHE_MS) return Promise.resolve(this.figures);
    this.reading ??= this.sources
      .readFigures()
      .then(
        (figures) => (this.figures = figures),
        () => {
          this.collectFailures.inc();
          return this.figures;
        },
      )
      .finally(() => {
        // A failed read is not retried for the same interval either: a scrape costs one attempt.
        this.figuresAt = this.sources.clock.now();
        this.reading = null;
      });
    return this.reading;
  }
}
