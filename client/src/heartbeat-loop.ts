/**
 * The background heartbeat (`startHeartbeat`, docs/client.md#methods): beats at the product's
 * interval; when the server cannot be reached it retries with capped exponential backoff and jitter
 * while the license stays valid until the lease ends (grace); an answer that ends the license takes
 * effect on that beat. Timers are `unref`ed: the loop never keeps a process alive.
 */
import type { CheckResult } from './license-state';
import { sameNotice, type UpdateNotice } from './update-notice';

export type HeartbeatOutcome =
  /** The server answered alive and a fresh lease token is stored. */
  | 'renewed'
  /** The server answered expired, frozen or released, or ended this seat: in effect now. */
  | 'revoked'
  /** No answer (network, timeout, 5xx, 429): nothing changes; the lease is the grace period. */
  | 'unreachable'
  /** The server refused this beat (e.g. fingerprint_mismatch) or sent a token we cannot trust. */
  | 'refused'
  /** Nothing stored to beat for. */
  | 'no_license';

export interface HeartbeatResult {
  outcome: HeartbeatOutcome;
  /** `check()` after the beat. */
  license: CheckResult;
  /** Why the beat was unreachable or refused. */
  error?: Error;
}

export interface HeartbeatLoopOptions {
  /** Time between beats; default: the interval the server put in the token (else one hour). */
  intervalMs?: number;
  /** Called when `check()`'s valid / reason / status changes after a beat or at lease end. */
  onChange?: (license: CheckResult, previous: CheckResult) => void;
  /** Called after every beat, whatever its outcome. */
  onHeartbeat?: (result: HeartbeatResult) => void;
  /**
   * Called when a beat brings an update notice (a newer published version than the `version`
   * option; `required` when this version is below the published minimum), and again only when
   * the notice changes.
   */
  onUpdate?: (notice: UpdateNotice) => void;
  /** Receives errors thrown by the callbacks above; without it they are rethrown asynchronously. */
  onError?: (err: unknown) => void;
}

export interface HeartbeatHandle {
  /** Stops the loop; an in-flight beat finishes but schedules nothing. */
  stop(): void;
  readonly running: boolean;
}

interface HeartbeatDriver {
  beat(): Promise<HeartbeatResult>;
  check(): CheckResult;
  /** The interval the server asked for, in ms, or null without a token. */
  serverIntervalMs(): number | null;
  /** When `check()` will change by time alone (lease end + tolerance), or null. */
  changesAt(): number | null;
  now(): number;
  random(): number;
}

const DEFAULT_INTERVAL_MS = 3_600_000;
const FIRST_RETRY_MS = 2_000;
const MAX_RETRY_MS = 15 * 60_000;
// setTimeout holds at most a signed 32-bit delay (~24.8 days).
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The wait before the next beat. After an answer: the interval ±10%. While the server cannot be
 * reached: capped exponential backoff (2 s, 4 s, … at most 15 min and at most the interval)
 * with "equal jitter" — half fixed, half random — so a fleet that lost the server together does
 * not come back in step. `random` is in [0, 1).
 */
export function nextHeartbeatDelay(outcome: HeartbeatOutcome, failures: number, intervalMs: number, random: number): number {
  if (outcome !== 'unreachable') return intervalMs * (0.9 + random * 0.2);
  const ceiling = Math.min(intervalMs, MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(Math.max(failures, 1) - 1, 20));
  return ceiling / 2 + random * (ceiling / 2);
}

export function startHeartbeatLoop(driver: HeartbeatDriver, options: HeartbeatLoopOptions): HeartbeatHandle {
  let timer: NodeJS.Timeout | null = null;
  let running = true;
  let failures = 0;
  let previous = driver.check();
  let notice: UpdateNotice | null = null;

  const report = (call: () => void) => {
    try {
      call();
    } catch (err) {
      if (options.onError) options.onError(err);
      else
        setImmediate(() => {
          throw err;
        });
    }
  };

  const schedule = (delayMs: number) => {
    if (!running) return;
    const deadline = driver.changesAt();
    const untilChange = deadline === null ? Infinity : deadline - driver.now() + 1;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, untilChange > 0 ? Math.min(delayMs, untilChange) : delayMs));
    timer = setTimeout(() => void tick(), delay);
    timer.unref();
  };

  const interval = () => options.intervalMs ?? driver.serverIntervalMs() ?? DEFAULT_INTERVAL_MS;

  const tick = async () => {
    timer = null;
    if (!running) return;
    const result = await driver.beat();
    if (!running) return;
    report(() => options.onHeartbeat?.(result));
    const current = result.license;
    if (result.outcome === 'renewed' && !sameNotice(current.update, notice)) {
      notice = current.update;
      if (notice !== null) {
        const fresh = notice;
        report(() => options.onUpdate?.(fresh));
      }
    }
    if (current.valid !== previous.valid || current.reason !== previous.reason || current.status !== previous.status) {
      const before = previous;
      previous = current;
      report(() => options.onChange?.(current, before));
    }
    const terminal = result.outcome === 'no_license' || current.reason === 'released' || current.reason === 'deactivated';
    if (terminal) {
      running = false;
      return;
    }
    failures = result.outcome === 'unreachable' ? failures + 1 : 0;
    schedule(nextHeartbeatDelay(result.outcome, failures, interval(), driver.random()));
  };

  schedule(0);
  return {
    stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = null;
    },
    get running() {
      return running;
    },
  };
}
