import { createServer, type Server } from 'node:http';
import type { Express } from 'express';
import type { AddressInfo } from 'node:net';
import type { Config } from './config';
import { createApp } from './http/app';
import { RequestsInFlight } from './http/heartbeat/in-flight';
import { expressMessageClasses } from './http/heartbeat/message-classes';
import { marketplaceDeliveries } from './domain/marketplace/outbound';
import { marketplaceClient } from './outbound/marketplace-client';
import { webhookSender } from './outbound/webhook-sender';
import { webhookDelivery } from './domain/webhook-delivery';
import { startOutboxWorker, type OutboxWorker } from './jobs/outbox-worker';
import { startSweeper, type SweeperJob } from './jobs/sweeper-job';
import { startUsagePushJob, type UsagePushJob } from './jobs/usage-push-job';
import type { Logger } from './logger';
import { metricsFor } from './metrics/runtime-metrics';
import { openRuntime, resolveAdminToken, type Runtime, type RuntimeOptions } from './runtime';

export interface RunningServer {
  runtime: Runtime;
  app: Express;
  server: Server;
  sweeper: SweeperJob;
  /** Delivers the calls licensor owes (docs/operations.md "Calls licensor owes"). */
  outbox: OutboxWorker;
  /** Owes the marketplace the usage of on-demand instances. */
  usagePushes: UsagePushJob;
  url: string;
  port: number;
  adminToken: { token: string; generated: boolean; file: string | null };
  /** Stops accepting, lets in-flight requests finish, flushes coalesced writes, closes the database. */
  close(): Promise<void>;
}

const KEY_RELOAD_MS = 15_000;

export async function startServer(config: Config, logger: Logger, options: RuntimeOptions = {}): Promise<RunningServer> {
  // The requests this server answers: the signer asks it whether a heartbeat is alone (where to sign).
  const inFlight = new RequestsInFlight();
  const runtime = await openRuntime(config, {
    ...options,
    requestLoad: inFlight,
    // The error itself, not String(err): its fields go through the log's scrubbing (src/logger.ts).
    onBackgroundError: options.onBackgroundError ?? ((err) => logger.warn({ err }, 'background write failed; will retry')),
    onDriverLog: options.onDriverLog ?? ((level, message) => logger[level]({ driver: message }, 'database driver')),
  });
  let http: Awaited<ReturnType<typeof listen>>;
  try {
    http = await listen(runtime, config, logger, inFlight);
  } catch (err) {
    // A taken port, say: let go of the database and the change feed, or the process would hang on them.
    await runtime.close();
    throw err;
  }
  const { adminToken, draining, metrics, app, server } = http;

  const sweeper = startSweeper(runtime.ctx, { releaseExpiredAfterMs: config.releaseExpiredAfterMs }, config.sweepIntervalMs, logger, (report, failed) =>
    metrics.sweeperRan(report, failed),
  );
  const outbox = startOutboxWorker(
    runtime.ctx,
    outboxDeliveries(runtime, logger),
    {
      pollMs: config.outbox.pollMs,
      leaseMs: OUTBOX_LEASE_MS,
      batch: OUTBOX_BATCH,
      retry: { firstDelayMs: config.outbox.firstRetryMs, maxDelayMs: OUTBOX_MAX_RETRY_DELAY_MS, giveUpAfterMs: config.outbox.giveUpAfterMs },
      keepDeliveredMs: config.outbox.keepDeliveredMs,
    },
    logger,
    (kind, result) => metrics.outboxAttempt(kind, result),
  );
  const usagePushes = startUsagePushJob(runtime.ctx, config.marketplace, logger);
  // Another process (or the CLI) may rotate keys: pick the new key up without a restart.
  const keyTimer = setInterval(() => runtime.reloadKeys().catch(() => undefined), KEY_RELOAD_MS);
  keyTimer.unref();

  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | null = null;
  return {
    runtime,
    app,
    server,
    sweeper,
    outbox,
    usagePushes,
    port,
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    adminToken,
    close() {
      closing ??= (async () => {
        clearInterval(keyTimer);
        // Drain first: /readyz turns 503 so a load balancer stops sending, and requests that are
        // already on their way are still served; only then stop accepting and close idle sockets.
        draining.value = true;
        await new Promise((r) => setTimeout(r, config.shutdownGraceMs));
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await sweeper.stop();
        await usagePushes.stop();
        // Late work may still owe an upload: it is enqueued before the worker stops (what is left is delivered at the next start).
        await runtime.background.settled();
        await outbox.stop();
        await runtime.close();
      })();
      return closing;
    },
  };
}

/** A claim holds an entry this long: far longer than a delivery (each call to each base URL is bounded by its timeout). */
const OUTBOX_LEASE_MS = 5 * 60_000;
const OUTBOX_BATCH = 20;
/** Retries double from LICENSOR_OUTBOX_RETRY_SECONDS up to an hour apart. */
const OUTBOX_MAX_RETRY_DELAY_MS = 3_600_000;

/** What the outbox delivers: webhooks, and the calls to the marketplace when licensor makes them. */
function outboxDeliveries(runtime: Runtime, logger: Logger) {
  const webhooks = webhookDelivery(runtime.ctx, {
    post: webhookSender(runtime.config.webhooks),
    disableAfterMs: runtime.config.webhooks.disableAfterMs,
    disableAfterFailures: WEBHOOK_DISABLE_AFTER_FAILURES,
    keepAttemptsMs: runtime.config.outbox.keepDeliveredMs,
    // The origin only: an operator's URL may carry a token in its path or query.
    onDisabled: (endpoint, reason) =>
      logger.warn({ webhook: { id: endpoint.id, origin: new URL(endpoint.url).origin }, reason }, 'webhook endpoint switched off after failing too long'),
  });
  const settings = runtime.config.marketplace;
  if (settings.apiCredentials === null) return [webhooks];
  const api = marketplaceClient(
    { apiUrls: settings.apiUrls, credentials: settings.apiCredentials, sellerKey: settings.accessKeys[0] ?? null, timeoutMs: settings.apiTimeoutMs },
    runtime.ctx.clock,
  );
  return [webhooks, ...marketplaceDeliveries(runtime.ctx, api, settings)];
}

/** With LICENSOR_WEBHOOKS_DISABLE_AFTER_HOURS: an endpoint is switched off after this many failures in a row over that long. */
const WEBHOOK_DISABLE_AFTER_FAILURES = 10;

/** The HTTP side: admin token, app and a listening server with bounded header and request times. */
async function listen(runtime: Runtime, config: Config, logger: Logger, inFlight: RequestsInFlight) {
  const adminToken = resolveAdminToken(config);
  const draining = { value: false };
  const metrics = metricsFor(runtime);
  const app = createApp(runtime, { adminToken: adminToken.token, logger, draining, metrics, inFlight });
  // A few slow or idle connections must not hold the server: bounded header and request times,
  // checked often enough that the bound is what a slow client actually gets.
  const server = createServer(
    {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      keepAliveTimeout: 5_000,
      connectionsCheckingInterval: Math.min(1_000, config.headersTimeoutMs),
      ...expressMessageClasses(app),
    },
    app,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  return { adminToken, draining, metrics, app, server };
}
