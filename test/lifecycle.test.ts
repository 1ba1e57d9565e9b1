import { strict as assert } from 'node:assert';
import { freezeCode, getCode, releaseCode, renewCode, unfreezeCode } from '../src/domain/codes';
import { activateMachine } from '../src/domain/seat-allocation';
import { sweep } from '../src/domain/sweeper';
import { DAY } from './support/clock';
import { forEachEngine } from './support/databases';
import { aCode, aProduct, machine } from './support/factories';
import { startTestRuntime, type TestRuntime } from './support/harness';

forEachEngine('the authorization-code lifecycle', (engine) => {
  let t: TestRuntime;
  before(async () => {
    t = await startTestRuntime(engine);
  });
  after(async () => t?.close());

  const ctx = () => t.runtime.ctx;

  async function auditActions(codeId: string): Promise<string[]> {
    const page = await ctx().repo.audit.list({ codeId }, 100, null);
    return page.items.map((e) => e.action).reverse();
  }

  async function aliveCode(days = 30) {
    const product = await aProduct(ctx());
    const code = await aCode(ctx(), product, { days, seats: 2 });
    await activateMachine(ctx(), { code: code.code, fingerprint: machine(code.id) }, 'test');
    return getCode(ctx(), code.id);
  }

  describe('issuing', () => {
    it('creates an issued code with an audit event', async () => {
      const code = await aCode(ctx(), await aProduct(ctx()));
      assert.equal(code.status, 'issued');
      assert.match(code.displayCode, /^([0-9A-HJKMNP-TV-Z]{5}-){4}[0-9A-HJKMNP-TV-Z]{5}$/);
      assert.deepEqual(await auditActions(code.id), ['code.issued']);
    });

    it('refuses an expiry in the past', async () => {
      const product = await aProduct(ctx());
      await assert.rejects(aCode(ctx(), product, { days: -1 }), { code: 'expiry_in_past' });
    });
  });

  describe('activating', () => {
    it('moves issued to alive on the first activation and records when', async () => {
      const code = await aliveCode();
      assert.equal(code.status, 'alive');
      assert.equal(code.firstActivatedAt, t.clock.now());
      assert.deepEqual(await auditActions(code.id), ['code.issued', 'activation.created', 'code.activated']);
    });

    for (const [state, prepare] of [
      ['frozen', (ref: string) => freezeCode(ctx(), ref, 'test')],
      ['released', (ref: string) => releaseCode(ctx(), ref, 'test')],
    ] as const) {
      it(`refuses to activate a ${state} code`, async () => {
        const code = await aCode(ctx(), await aProduct(ctx()));
        await prepare(code.id);
        await assert.rejects(activateMachine(ctx(), { code: code.code, fingerprint: machine('late') }, 'test'), {
          code: 'illegal_transition',
          details: { from: state, action: 'activate' },
        });
      });
    }

    it('refuses to activate a code past its date even before the sweeper ran', async () => {
      const code = await aCode(ctx(), await aProduct(ctx()), { days: 1 });
      t.clock.advance(2 * DAY);
      await assert.rejects(activateMachine(ctx(), { code: code.code, fingerprint: machine('too-late') }, 'test'), {
        code: 'illegal_transition',
        details: { from: 'expired', action: 'activate' },
      });
    });
  });

  describe('expiring', () => {
    it('moves alive to expired when the sweeper finds the date passed', async () => {
      const code = await aliveCode(1);
      t.clock.advance(DAY + 1);
      const report = await sweep(ctx(), { releaseExpiredAfterMs: null });
      assert.ok(report.ran && report.expired >= 1);
      const after = await getCode(ctx(), code.id);
      assert.equal(after.status, 'expired');
      assert.ok((await auditActions(code.id)).includes('code.expired'));
    });

    it('leaves a frozen code frozen when its date passes', async () => {
      const code = await aliveCode(1);
      await freezeCode(ctx(), code.id, 'test');
      t.clock.advance(2 * DAY);
      await sweep(ctx(), { releaseExpiredAfterMs: null });
      assert.equal((await getCode(ctx(), code.id)).status, 'frozen');
    });

    it('releases codes that stayed expired past the retention, freeing their seats', async () => {
      const code = await aliveCode(1);
      t.clock.advance(2 * DAY);
      await sweep(ctx(), { releaseExpiredAfterMs: 30 * DAY });
      assert.equal((await getCode(ctx(), code.id)).status, 'expired');
      t.clock.advance(31 * DAY);
      const report = await sweep(ctx(), { releaseExpiredAfterMs: 30 * DAY });
      assert.ok(report.released >= 1);
      assert.equal((await getCode(ctx(), code.id)).status, 'released');
      const active = await ctx().repo.activations.listByCode(code.id, 'active');
      assert.equal(active.length, 0);
    });
  });

  describe('renewing and shortening', () => {
    it('moves an expired code back to alive when the new date is in the future', async () => {
      const code = await aliveCode(1);
      t.clock.advance(2 * DAY);
      await sweep(ctx(), { releaseExpiredAfterMs: null });
      const change = await renewCode(ctx(), code.id, { extendByDays: 30 }, 'test');
      assert.equal(change.changed, true);
      assert.equal(change.code.status, 'alive');
      assert.equal(change.code.expiresAt, t.clock.now() + 30 * DAY);
      assert.ok((await auditActions(code.id)).includes('code.renewed'));
    });

    it('extends from the current expiry when renewed early, so nothing is lost', async () => {
      const code = await aliveCode(10);
      const change = await renewCode(ctx(), code.id, { extendByDays: 30 }, 'test');
      assert.equal(change.code.expiresAt, code.expiresAt + 30 * DAY);
    });

    it('shortens to an earlier date and records it as shortened', async () => {
      const code = await aliveCode(30);
      const earlier = t.clock.now() + 5 * DAY;
      const change = await renewCode(ctx(), code.id, { expiresAt: earlier }, 'test');
      assert.equal(change.code.expiresAt, earlier);
      assert.equal(change.code.status, 'alive');
      assert.deepEqual((await auditActions(code.id)).slice(-1), ['code.shortened']);
    });

    it('expires at once when shortened into the past', async () => {
      const code = await aliveCode(30);
      const change = await renewCode(ctx(), code.id, { expiresAt: t.clock.now() - 1 }, 'test');
      assert.equal(change.code.status, 'expired');
    });

    it('keeps a frozen code frozen when renewed', async () => {
      const code = await aliveCode(30);
      await freezeCode(ctx(), code.id, 'test');
      const change = await renewCode(ctx(), code.id, { extendByDays: 10 }, 'test');
      assert.equal(change.code.status, 'frozen');
    });

    it('treats renewing to the same date as already done', async () => {
      const code = await aliveCode(30);
      const change = await renewCode(ctx(), code.id, { expiresAt: code.expiresAt }, 'test');
      assert.equal(change.changed, false);
    });

    it('refuses to renew a released code', async () => {
      const code = await aliveCode(30);
      await releaseCode(ctx(), code.id, 'test');
      await assert.rejects(renewCode(ctx(), code.id, { extendByDays: 1 }, 'test'), { code: 'illegal_transition' });
    });
  });

  describe('freezing and unfreezing', () => {
    it('freezes an alive code and unfreezes it back to alive', async () => {
      const code = await aliveCode(30);
      assert.equal((await freezeCode(ctx(), code.id, 'test')).code.status, 'frozen');
      assert.equal((await unfreezeCode(ctx(), code.id, 'test')).code.status, 'alive');
      assert.deepEqual((await auditActions(code.id)).slice(-2), ['code.frozen', 'code.unfrozen']);
    });

    it('unfreezes to expired when the date passed while frozen', async () => {
      const code = await aliveCode(1);
      await freezeCode(ctx(), code.id, 'test');
      t.clock.advance(2 * DAY);
      assert.equal((await unfreezeCode(ctx(), code.id, 'test')).code.status, 'expired');
    });

    it('freezes an expired code (suspension of a lapsed license)', async () => {
      const code = await aliveCode(1);
      t.clock.advance(2 * DAY);
      await sweep(ctx(), { releaseExpiredAfterMs: null });
      assert.equal((await freezeCode(ctx(), code.id, 'test')).code.status, 'frozen');
    });

    it('unfreezes a never-activated code back to issued', async () => {
      const code = await aCode(ctx(), await aProduct(ctx()));
      await freezeCode(ctx(), code.id, 'test');
      assert.equal((await unfreezeCode(ctx(), code.id, 'test')).code.status, 'issued');
    });

    it('answers a repeated freeze as done without a second transition', async () => {
      const code = await aliveCode(30);
      await freezeCode(ctx(), code.id, 'test');
      const again = await freezeCode(ctx(), code.id, 'test');
      assert.equal(again.changed, false);
      assert.equal((await auditActions(code.id)).filter((a) => a === 'code.frozen').length, 1);
    });

    it('answers unfreeze of a code that is not frozen as done, changing nothing', async () => {
      const code = await aliveCode(30);
      const change = await unfreezeCode(ctx(), code.id, 'test');
      assert.equal(change.changed, false);
      assert.equal(change.code.status, 'alive');
    });

    it('refuses to freeze or unfreeze a released code', async () => {
      const code = await aliveCode(30);
      await releaseCode(ctx(), code.id, 'test');
      await assert.rejects(freezeCode(ctx(), code.id, 'test'), { code: 'illegal_transition' });
      await assert.rejects(unfreezeCode(ctx(), code.id, 'test'), { code: 'illegal_transition' });
    });
  });

  describe('releasing', () => {
    it('is terminal and frees every seat in the same transaction', async () => {
      const code = await aliveCode(30);
      await activateMachine(ctx(), { code: code.code, fingerprint: machine('second-seat') }, 'test');
      const change = await releaseCode(ctx(), code.id, 'test');
      assert.equal(change.code.status, 'released');
      const activations = await ctx().repo.activations.listByCode(code.id);
      assert.deepEqual(
        activations.map((a) => a.status),
        ['deactivated', 'deactivated'],
      );
      const actions = await auditActions(code.id);
      assert.equal(actions.filter((a) => a === 'activation.released').length, 2);
    });

    it('answers a repeated release as done', async () => {
      const code = await aliveCode(30);
      await releaseCode(ctx(), code.id, 'test');
      assert.equal((await releaseCode(ctx(), code.id, 'test')).changed, false);
    });

    it('releases an issued code that was never used', async () => {
      const code = await aCode(ctx(), await aProduct(ctx()));
      assert.equal((await releaseCode(ctx(), code.id, 'test')).code.status, 'released');
    });
  });

  describe('audit events', () => {
    it('record who changed what, with the state before and after', async () => {
      const code = await aliveCode(30);
      await freezeCode(ctx(), code.id, 'operator@example');
      const [event] = (await ctx().repo.audit.list({ codeId: code.id, action: 'code.frozen' }, 1, null)).items;
      assert.equal(event!.actor, 'operator@example');
      assert.equal(event!.before!.status, 'alive');
      assert.equal(event!.after!.status, 'frozen');
      assert.equal(event!.at, t.clock.now());
    });
  });
});
