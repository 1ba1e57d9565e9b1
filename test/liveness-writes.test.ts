import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { activateMachine, deactivateMachine } from '../src/domain/seat-allocation';
import { MINUTE } from './support/clock';
import { forEachEngine } from './support/databases';
import { aCode, aProduct, machine } from './support/factories';
import { startTestRuntime, type TestRuntime } from './support/harness';

forEachEngine('coalesced liveness writes', (engine) => {
  let t: TestRuntime;
  before(async () => {
    t = await startTestRuntime(engine);
  });
  after(async () => t?.close());

  it("write each live activation's latest beat, never move one back, and leave ended ones alone", async () => {
    const ctx = t.runtime.ctx;
    const product = await aProduct(ctx);
    const code = await aCode(ctx, product, { seats: 3 });
    const [ahead, behind, ended] = await Promise.all(
      ['ahead', 'behind', 'ended'].map(async (name) => (await activateMachine(ctx, { code: code.code, fingerprint: machine(name) }, 'test')).activation),
    );
    await deactivateMachine(ctx, ended!.id, null, 'test');
    const stored = async (id: string) => (await ctx.repo.activations.findById(id))!.lastHeartbeatAt;
    const was = { behind: await stored(behind!.id), ended: await stored(ended!.id) };
    const later = t.clock.now() + MINUTE;

    // More beats than one statement takes (2,000), most of machines this database never saw.
    const beats = new Map<string, number>(Array.from({ length: 2500 }, () => [randomUUID(), later]));
    beats.set(ahead!.id, later);
    beats.set(behind!.id, was.behind - MINUTE);
    beats.set(ended!.id, later);
    await ctx.repo.activations.touchMany(beats);

    assert.equal(await stored(ahead!.id), later);
    assert.equal(await stored(behind!.id), was.behind, 'an older beat (another process wrote a newer one) does not win');
    assert.equal(await stored(ended!.id), was.ended);
    assert.equal((await ctx.repo.activations.findById(ended!.id))!.status, 'deactivated');
  });
});
