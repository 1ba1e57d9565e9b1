import { strict as assert } from 'node:assert';
import { Unavailable } from '../src/domain/errors';
import { skipWithoutPostgres } from './support/databases';
import { aCode, aProduct } from './support/factories';
import { startTestRuntime, type TestRuntime } from './support/harness';

/**
 * Two transactions that lock the same rows in opposite orders deadlock; PostgreSQL refuses one
 * of them. That is a refusal to try again (503 database_busy, with Retry-After), not a failure
 * of the server (docs/deploy.md "Several processes, PostgreSQL, behind a load balancer").
 */
describe('a transaction PostgreSQL refuses to break a deadlock [postgres]', () => {
  let t: TestRuntime;
  before(async function () {
    await skipWithoutPostgres(this);
    t = await startTestRuntime('postgres');
  });
  after(async () => t?.close());

  it('is refused as database_busy, and the other one commits', async function () {
    this.timeout(20_000);
    const ctx = t.runtime.ctx;
    const product = await aProduct(ctx);
    const [x, y] = [await aCode(ctx, product), await aCode(ctx, product)];
    let holding = 0;
    let bothHold!: () => void;
    const both = new Promise<void>((resolve) => (bothHold = resolve));
    const crosswise = (first: string, second: string) =>
      ctx.repo.transaction(async (tx) => {
        await tx.codes.lockForUpdate(first);
        if (++holding === 2) bothHold();
        await both;
        await tx.codes.lockForUpdate(second);
        return 'committed';
      });
    const outcomes = await Promise.allSettled([crosswise(x.id, y.id), crosswise(y.id, x.id)]);
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    assert.equal(refused.length, 1, JSON.stringify(outcomes));
    assert.ok(refused[0]!.reason instanceof Unavailable, String(refused[0]!.reason));
    assert.equal((refused[0]!.reason as Unavailable).code, 'database_busy');
    assert.deepEqual(
      outcomes.filter((o) => o.status === 'fulfilled').map((o) => (o as PromiseFulfilledResult<string>).value),
      ['committed'],
    );
  });
});
