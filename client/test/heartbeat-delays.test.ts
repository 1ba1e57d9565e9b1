import { strict as assert } from 'node:assert';
import { nextHeartbeatDelay } from '../src/heartbeat-loop';

describe('heartbeat retry delays', () => {
  const interval = 8 * 3_600_000;

  it('wait the interval, with ±10% jitter, after an answer', () => {
    assert.equal(nextHeartbeatDelay('renewed', 0, interval, 0), interval * 0.9);
    assert.equal(nextHeartbeatDelay('refused', 0, interval, 1), interval * 1.1);
  });

  it('back off exponentially from 2 s while the server cannot be reached, capped at 15 minutes', () => {
    const ceilings = [1, 2, 3, 4, 5, 10, 30].map((n) => nextHeartbeatDelay('unreachable', n, interval, 1));
    assert.deepEqual(ceilings, [2_000, 4_000, 8_000, 16_000, 32_000, 900_000, 900_000]);
  });

  it('keep at least half of the backoff fixed and randomise the rest', () => {
    assert.equal(nextHeartbeatDelay('unreachable', 3, interval, 0), 4_000);
    assert.equal(nextHeartbeatDelay('unreachable', 3, interval, 0.5), 6_000);
  });

  it('never back off for longer than the heartbeat interval', () => {
    assert.equal(nextHeartbeatDelay('unreachable', 30, 60_000, 1), 60_000);
  });
});
