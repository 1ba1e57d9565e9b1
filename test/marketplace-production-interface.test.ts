import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { DAY, MINUTE, SECOND } from './support/clock';
import { forEachEngine } from './support/databases';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call } from './support/http';
import {
  compact,
  expectedBodySign,
  expectedInstanceId,
  MARKETPLACE_KEY,
  marketplaceEnv,
  mkpId,
  openSideConnection,
  produce,
  replay,
  requestSignature,
  ROTATED_KEY,
  type ProduceAnswer,
  type ProduceOptions,
} from './support/marketplace';

const FINGERPRINT = '04:7C:16:5E:E3:5D|001B_444A_488B_5CEC.|BOARD-0001|BFEBFBFF00090672';
const OTHER_DEVICE = '04:7C:16:5E:E3:6E|002C_555B_599C_6DFD.|BOARD-0002|BFEBFBFF00090672';
const THIRD_DEVICE = '04:7C:16:5E:E3:7F|003D_666C_6AAD_7E0E.|BOARD-0003|BFEBFBFF00090672';

forEachEngine('the marketplace production interface', (engine) => {
  let server: TestServer;
  const product = `mkp-${engine}`;

  before(async () => {
    server = await startTestServer(engine, marketplaceEnv(product, { LICENSOR_MARKETPLACE_SEATS: '2' }));
  });
  after(async () => server?.close());

  const send = (payload: Record<string, unknown> | Buffer, options: Partial<ProduceOptions> = {}) =>
    produce(server.url, payload, { now: server.clock.now(), ...options });
  const db = () => server.running.runtime.database.knex;

  function assertResult(answer: ProduceAnswer, code: string): void {
    assert.equal(answer.status, 200, answer.bytes.toString());
    assert.equal(answer.body?.resultCode, code, answer.bytes.toString());
    assert.equal(typeof answer.body.resultMsg, 'string');
  }

  async function newInstance(extra: Record<string, unknown> = {}) {
    const orderId = mkpId('ORDER');
    const businessId = mkpId('BIZ');
    const answer = await send({ activity: 'newInstance', orderId, orderLineId: `${orderId}-000001`, businessId, ...extra });
    assertResult(answer, '000000');
    const row = await db()('marketplace_instances').where({ instance_id: answer.body.instanceId }).first();
    const code = (await admin(server.url, 'GET', `/v1/admin/codes/${row.code_id}`)).body.code;
    return { instanceId: answer.body.instanceId as string, orderId, businessId, code, codeId: row.code_id as string };
  }

  async function codeOf(reference: string) {
    return (await admin(server.url, 'GET', `/v1/admin/codes/${reference}`)).body.code;
  }

  async function audit(reference: string): Promise<Array<{ action: string; actor: string }>> {
    return (await admin(server.url, 'GET', `/v1/admin/audit?code=${reference}`)).body.items;
  }

  async function anIssuedCode(days = 30) {
    return (await admin(server.url, 'POST', '/v1/admin/codes', { product, seats: 1, days })).body.code;
  }

  describe('newInstance while the product it issues under is missing', () => {
    it('answers 000100: no instance resource available', async () => {
      const orderId = mkpId('ORDER');
      assertResult(await send({ activity: 'newInstance', orderId, orderLineId: `${orderId}-1`, businessId: mkpId('BIZ') }), '000100');
      assert.equal(await db()('marketplace_instances').where({ order_id: orderId }).first(), undefined);
    });

    after(async () => {
      assert.equal((await admin(server.url, 'POST', '/v1/admin/products', { name: product })).status, 201);
    });
  });

  describe('authentication (§3.2)', () => {
    const probe = () => ({ activity: 'queryInstance', instanceId: 'no-such-instance' });

    it('accepts a request signed with the access key and signs the answer over its exact bytes', async () => {
      const answer = await send(probe());
      assertResult(answer, '000003');
      assert.equal(answer.bodySign, expectedBodySign(MARKETPLACE_KEY, answer.bytes));
    });

    it('accepts the signature in upper-case hex', async () => {
      const body = Buffer.from(JSON.stringify(probe()));
      const now = String(server.clock.now());
      const signature = requestSignature(MARKETPLACE_KEY, 'upper-case-nonce', now, body).toUpperCase();
      assertResult(await send(body, { nonce: 'upper-case-nonce', timestamp: now, signature }), '000003');
    });

    it('accepts a second configured key during a rotation and signs the answer with that key', async () => {
      const answer = await send(probe(), { key: ROTATED_KEY });
      assertResult(answer, '000003');
      assert.equal(answer.bodySign, expectedBodySign(ROTATED_KEY, answer.bytes));
    });

    for (const missing of ['signature', 'timestamp', 'nonce'] as const) {
      it(`refuses a request without ${missing} with 000001, and signs the refusal`, async () => {
        const answer = await send(probe(), { omit: [missing] });
        assertResult(answer, '000001');
        assert.equal(answer.bodySign, expectedBodySign(MARKETPLACE_KEY, answer.bytes));
      });
    }

    it('refuses a signature made with another key with 000001', async () => {
      assertResult(await send(probe(), { key: 'not-a-configured-key' }), '000001');
    });

    it('refuses a signature over other bytes: the raw body is signed, not a re-serialisation', async () => {
      const signedBody = Buffer.from('{"activity":"queryInstance","instanceId":"x"}');
      const sentBody = Buffer.from('{"instanceId":"x","activity":"queryInstance"}');
      const now = String(server.clock.now());
      const signature = requestSignature(MARKETPLACE_KEY, 'reordered', now, signedBody);
      assertResult(await send(sentBody, { nonce: 'reordered', timestamp: now, signature }), '000001');
    });

    it('accepts a timestamp up to 60 s away and refuses one further off, either way', async () => {
      const now = server.clock.now();
      assertResult(await send(probe(), { timestamp: String(now - 59 * SECOND) }), '000003');
      assertResult(await send(probe(), { timestamp: String(now + 59 * SECOND) }), '000003');
      assertResult(await send(probe(), { timestamp: String(now - 61 * SECOND) }), '000001');
      assertResult(await send(probe(), { timestamp: String(now + 61 * SECOND) }), '000001');
      assertResult(await send(probe(), { timestamp: 'yesterday' }), '000001');
    });

    it('reads a 10-digit timestamp as seconds (some copies of the protocol say seconds)', async () => {
      assertResult(await send(probe(), { timestamp: String(Math.floor(server.clock.now() / 1000)) }), '000003');
      assertResult(await send(probe(), { timestamp: String(Math.floor(server.clock.now() / 1000) - 120) }), '000001');
    });

    it('refuses a replayed request byte for byte, and a reused nonce under a fresh signature', async () => {
      const first = await send(probe(), { nonce: 'nonce-used-once' });
      assertResult(first, '000003');
      assertResult(await replay(first.sent), '000001');
      server.clock.advance(5 * SECOND);
      assertResult(await send(probe(), { nonce: 'nonce-used-once' }), '000001');
    });

    it('forgets a nonce once its timestamp window has closed, and prunes expired nonces', async () => {
      assertResult(await send(probe(), { nonce: 'nonce-reused-later' }), '000003');
      server.clock.advance(3 * MINUTE + SECOND);
      assertResult(await send(probe(), { nonce: 'nonce-reused-later' }), '000003');
      const expired = await db()('nonces').where('expires_at', '<', server.clock.now()).count({ n: '*' });
      assert.equal(Number(expired[0]!.n), 0);
    });

    it('refuses a nonce longer than 120 characters or with a character that is not printable ASCII with 000001, and signs the refusal', async () => {
      for (const nonce of ['n'.repeat(121), 'with space', 'tab\there', 'accent-\u00e9']) {
        const answer = await send(probe(), { nonce });
        assertResult(answer, '000001');
        assert.match(answer.body.resultMsg, /^nonce_invalid:/);
        assert.equal(answer.bodySign, expectedBodySign(MARKETPLACE_KEY, answer.bytes));
      }
      assertResult(await send(probe(), { nonce: 'n'.repeat(120) }), '000003');
    });

    it('does not spend a nonce on a request whose signature is wrong', async () => {
      assertResult(await send(probe(), { nonce: 'nonce-after-bad-signature', key: 'wrong-key-000' }), '000001');
      assertResult(await send(probe(), { nonce: 'nonce-after-bad-signature' }), '000003');
    });
  });

  describe('the request body', () => {
    it('answers 000002 for an unknown activity', async () => {
      const answer = await send({ activity: 'downgradeInstance', instanceId: 'x' });
      assertResult(answer, '000002');
      assert.match(answer.body.resultMsg, /unknown activity/);
    });

    it('answers 000002 for a body without activity, a body that is not JSON and an empty body', async () => {
      assertResult(await send({ instanceId: 'x' }), '000002');
      assertResult(await send(Buffer.from('activity=newInstance')), '000002');
      assertResult(await send(Buffer.alloc(0)), '000002');
    });

    it('answers 000002 for a body larger than 64 kB, with Body-Sign', async () => {
      const answer = await send(Buffer.from(JSON.stringify({ activity: 'newInstance', pad: 'x'.repeat(70_000) })));
      assertResult(answer, '000002');
      assert.equal(answer.bodySign, expectedBodySign(MARKETPLACE_KEY, answer.bytes));
    });

    it('ignores fields it does not know', async () => {
      const { instanceId } = await newInstance({ somethingNew: { nested: [1, 2] }, customerId: 'C1' });
      assertResult(await send({ activity: 'queryInstance', instanceId, extra: true }), '000000');
    });
  });

  describe('newInstance (§3.6a)', () => {
    it('creates an instance named by its order line (a UUIDv5, not the businessId), backed by a new code of the configured product', async () => {
      const { instanceId, businessId, code, orderId } = await newInstance();
      assert.equal(instanceId, expectedInstanceId(orderId, `${orderId}-000001`));
      assert.notEqual(instanceId, businessId);
      assert.equal(code.product, product);
      assert.equal(code.status, 'issued');
      assert.equal(code.seats, 2);
      assert.equal(code.test, false);
      assert.deepEqual(
        (await audit(code.id)).map((e) => [e.action, e.actor]),
        [['code.issued', 'marketplace']],
      );
    });

    it('answers a retry of the same order line with the same instanceId and creates nothing', async () => {
      const first = await newInstance();
      const retry = await send({ activity: 'newInstance', orderId: first.orderId, orderLineId: `${first.orderId}-000001`, businessId: mkpId('BIZ') });
      assertResult(retry, '000000');
      assert.equal(retry.body.instanceId, first.instanceId);
      assert.equal((await db()('marketplace_instances').where({ order_id: first.orderId })).length, 1);
    });

    it('gives another order line of the same order its own instance', async () => {
      const first = await newInstance();
      const second = await send({ activity: 'newInstance', orderId: first.orderId, orderLineId: `${first.orderId}-000002`, businessId: mkpId('BIZ') });
      assertResult(second, '000000');
      assert.notEqual(second.body.instanceId, first.instanceId);
    });

    it('turns 50 concurrent retries of one order line into one instance and one code', async () => {
      const orderId = mkpId('ORDER');
      const codesBefore = Number((await db()('codes').count({ n: '*' }))[0]!.n);
      const answers = await Promise.all(
        Array.from({ length: 50 }, () => send({ activity: 'newInstance', orderId, orderLineId: `${orderId}-1`, businessId: mkpId('BIZ') })),
      );
      for (const answer of answers) assertResult(answer, '000000');
      assert.equal(new Set(answers.map((a) => a.body.instanceId)).size, 1);
      assert.equal((await db()('marketplace_instances').where({ order_id: orderId })).length, 1);
      assert.equal(Number((await db()('codes').count({ n: '*' }))[0]!.n), codesBefore + 1);
    });

    it('gives two order lines their own instances even when their requests carry the same businessId', async () => {
      const first = await newInstance();
      const orderId = mkpId('ORDER');
      const answer = await send({ activity: 'newInstance', orderId, orderLineId: `${orderId}-000001`, businessId: first.businessId });
      assertResult(answer, '000000');
      assert.equal(answer.body.instanceId, expectedInstanceId(orderId, `${orderId}-000001`));
      assert.equal((await db()('marketplace_instances').where({ instance_id: first.instanceId }).first()).order_id, first.orderId);
    });

    for (const missing of ['orderId', 'orderLineId', 'businessId']) {
      it(`answers 000002 without ${missing}`, async () => {
        const full: Record<string, unknown> = { activity: 'newInstance', orderId: mkpId('O'), orderLineId: mkpId('L'), businessId: mkpId('B') };
        delete full[missing];
        assertResult(await send(full), '000002');
      });
    }

    it('marks a testFlag=1 instance and its code as test data, listable by the test filter', async () => {
      const { code, instanceId } = await newInstance({ testFlag: '1' });
      assert.equal(code.test, true);
      assert.deepEqual(
        (await audit(code.id)).map((e) => e.actor),
        ['marketplace-test'],
      );
      const tests = await admin(server.url, 'GET', `/v1/admin/codes?test=true&product=${product}`);
      assert.ok(tests.body.items.some((c: { id: string }) => c.id === code.id));
      const real = await admin(server.url, 'GET', `/v1/admin/codes?test=false&product=${product}`);
      assert.ok(!real.body.items.some((c: { id: string }) => c.id === code.id));
      const instances = await admin(server.url, 'GET', '/v1/admin/marketplace/instances?test=true');
      assert.ok(instances.body.items.some((i: { instanceId: string; test: boolean }) => i.instanceId === instanceId && i.test));
    });

    it('pages through every instance whatever its businessId looks like', async () => {
      const mine = [(await newInstance()).instanceId, (await newInstance()).instanceId, (await newInstance()).instanceId];
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 500; pages++) {
        const page: { body: { items: Array<{ instanceId: string }>; nextCursor: string | null } } = await admin(
          server.url,
          'GET',
          `/v1/admin/marketplace/instances?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        seen.push(...page.body.items.map((i) => i.instanceId));
        cursor = page.body.nextCursor;
        if (!cursor) break;
      }
      assert.equal(cursor, null, 'the last page says so');
      assert.equal(new Set(seen).size, seen.length, 'no instance twice');
      for (const id of mine) assert.ok(seen.includes(id), `${id} listed`);
    });

    it('answers 000002 for a testFlag other than "0" or "1"', async () => {
      assertResult(await send({ activity: 'newInstance', orderId: mkpId('O'), orderLineId: 'L', businessId: mkpId('B'), testFlag: 'yes' }), '000002');
    });
  });

  describe('refreshInstance (§3.6b)', () => {
    const refresh = (instanceId: string, orderId: string, expireTime: string, scene = 'RENEWAL') =>
      send({ activity: 'refreshInstance', scene, orderId, orderLineId: `${orderId}-1`, instanceId, expireTime });

    it('sets the new expiry, given as yyyyMMddHHmmss (UTC)', async () => {
      const { instanceId, codeId } = await newInstance();
      const until = Date.UTC(2030, 5, 1, 12, 0, 0);
      assertResult(await refresh(instanceId, mkpId('R'), compact(until)), '000000');
      assert.equal((await codeOf(codeId)).expiresAt, new Date(until).toISOString());
      assert.deepEqual(
        (await audit(codeId)).map((e) => e.action),
        ['code.renewed', 'code.issued'],
      );
    });

    it('reads the 17-digit form with milliseconds', async () => {
      const { instanceId, codeId } = await newInstance();
      assertResult(await refresh(instanceId, mkpId('R'), '20301124023618256', 'TRIAL_TO_FORMAL'), '000000');
      assert.equal((await codeOf(codeId)).expiresAt, '2030-11-24T02:36:18.256Z');
    });

    it('applies a renewal order once: a retry succeeds without a second transition', async () => {
      const { instanceId, codeId } = await newInstance();
      const orderId = mkpId('R');
      assertResult(await refresh(instanceId, orderId, compact(server.clock.now() + 90 * DAY)), '000000');
      assertResult(await refresh(instanceId, orderId, compact(server.clock.now() + 90 * DAY)), '000000');
      assert.equal((await audit(codeId)).filter((e) => e.action === 'code.renewed').length, 1);
    });

    it('does not let a late retry of an older order undo a newer one', async () => {
      const { instanceId, codeId } = await newInstance();
      const older = mkpId('R');
      assertResult(await refresh(instanceId, older, compact(Date.UTC(2031, 0, 1))), '000000');
      assertResult(await refresh(instanceId, mkpId('R'), compact(Date.UTC(2032, 0, 1))), '000000');
      assertResult(await refresh(instanceId, older, compact(Date.UTC(2031, 0, 1))), '000000');
      assert.equal((await codeOf(codeId)).expiresAt, new Date(Date.UTC(2032, 0, 1)).toISOString());
    });

    it('shortens for UNSUBSCRIBE_RENEWAL_PERIOD', async () => {
      const { instanceId, codeId } = await newInstance();
      const earlier = server.clock.now() + 10 * DAY;
      assertResult(await refresh(instanceId, mkpId('U'), compact(earlier), 'UNSUBSCRIBE_RENEWAL_PERIOD'), '000000');
      assert.equal(Date.parse((await codeOf(codeId)).expiresAt), Math.floor(earlier / 1000) * 1000);
      assert.ok((await audit(codeId)).some((e) => e.action === 'code.shortened'));
    });

    it('turns 50 concurrent identical retries into one renewal', async () => {
      const { instanceId, codeId } = await newInstance();
      const orderId = mkpId('R');
      const until = compact(server.clock.now() + 120 * DAY);
      const answers = await Promise.all(Array.from({ length: 50 }, () => refresh(instanceId, orderId, until)));
      for (const answer of answers) assertResult(answer, '000000');
      assert.equal((await audit(codeId)).filter((e) => e.action === 'code.renewed').length, 1);
    });

    it('answers 000003 for an unknown instance', async () => {
      assertResult(await refresh('no-such-instance', mkpId('R'), compact(server.clock.now() + DAY)), '000003');
    });

    it('answers 000002 for a missing or impossible expireTime and an unknown scene', async () => {
      const { instanceId } = await newInstance();
      assertResult(await send({ activity: 'refreshInstance', scene: 'RENEWAL', orderId: 'R', orderLineId: 'R1', instanceId }), '000002');
      assertResult(await refresh(instanceId, mkpId('R'), '20301301000000'), '000002');
      assertResult(await refresh(instanceId, mkpId('R'), '2030-01-01'), '000002');
      assertResult(await refresh(instanceId, mkpId('R'), compact(server.clock.now() + DAY), 'UPGRADE'), '000002');
    });
  });

  describe('updateInstanceStatus (§3.6c)', () => {
    const status = (instanceId: string, value: string) => send({ activity: 'updateInstanceStatus', instanceId, status: value });

    it('freezes, answers a repeated freeze with success and no second transition, and unfreezes', async () => {
      const { instanceId, codeId } = await newInstance();
      assertResult(await status(instanceId, 'FREEZE'), '000000');
      assert.equal((await codeOf(codeId)).status, 'frozen');
      assertResult(await status(instanceId, 'FREEZE'), '000000');
      assertResult(await status(instanceId, 'UNFREEZE'), '000000');
      assertResult(await status(instanceId, 'UNFREEZE'), '000000');
      assert.equal((await codeOf(codeId)).status, 'issued');
      assert.deepEqual(
        (await audit(codeId)).map((e) => e.action),
        ['code.unfrozen', 'code.frozen', 'code.issued'],
      );
    });

    it('turns 50 concurrent freezes into one transition', async () => {
      const { instanceId, codeId } = await newInstance();
      const answers = await Promise.all(Array.from({ length: 50 }, () => status(instanceId, 'FREEZE')));
      for (const answer of answers) assertResult(answer, '000000');
      assert.equal((await audit(codeId)).filter((e) => e.action === 'code.frozen').length, 1);
    });

    it('answers 000003 for an unknown instance and 000002 for an unknown status', async () => {
      assertResult(await status('no-such-instance', 'FREEZE'), '000003');
      const { instanceId } = await newInstance();
      assertResult(await status(instanceId, 'SUSPEND'), '000002');
      assertResult(await send({ activity: 'updateInstanceStatus', instanceId }), '000002');
    });
  });

  describe('releaseInstance (§3.6d)', () => {
    it('releases the code and frees its seats; a repeat succeeds without a second transition', async () => {
      const { instanceId, codeId } = await newInstance();
      assertResult(
        await send({
          activity: 'getLicenseAsync',
          instanceId,
          effectiveTime: compact(server.clock.now()),
          eventId: mkpId('E'),
          deviceFingerprint: FINGERPRINT,
        }),
        '000000',
      );
      const release = { activity: 'releaseInstance', instanceId, orderId: mkpId('UNSUB'), orderLineId: 'L1' };
      assertResult(await send(release), '000000');
      assertResult(await send(release), '000000');
      assert.equal((await codeOf(codeId)).status, 'released');
      const machines = await admin(server.url, 'GET', `/v1/admin/codes/${codeId}/activations`);
      assert.deepEqual(
        machines.body.items.map((a: { status: string }) => a.status),
        ['deactivated'],
      );
      assert.equal((await audit(codeId)).filter((e) => e.action === 'code.released').length, 1);
    });

    it('refuses to renew a released instance with 000002', async () => {
      const { instanceId } = await newInstance();
      assertResult(await send({ activity: 'releaseInstance', instanceId }), '000000');
      const renewal = {
        activity: 'refreshInstance',
        scene: 'RENEWAL',
        orderId: mkpId('R'),
        orderLineId: 'L',
        instanceId,
        expireTime: compact(server.clock.now() + DAY),
      };
      assertResult(await send(renewal), '000002');
    });

    it('answers 000003 for an unknown instance and 000002 without instanceId', async () => {
      assertResult(await send({ activity: 'releaseInstance', instanceId: 'no-such-instance' }), '000003');
      assertResult(await send({ activity: 'releaseInstance' }), '000002');
    });
  });

  describe('getLicenseAsync (§3.6e)', () => {
    const apply = (instanceId: string, extra: Record<string, unknown> = {}) =>
      send({ activity: 'getLicenseAsync', instanceId, effectiveTime: compact(server.clock.now()), eventId: mkpId('E'), ...extra });

    it('answers the authorization code when no device fingerprint is sent', async () => {
      const { instanceId, code } = await newInstance();
      const answer = await apply(instanceId);
      assertResult(answer, '000000');
      assert.equal(answer.body.license, code.code);
      assert.equal(answer.body.instanceId, instanceId);
    });

    it('answers a license signed with the server key and bound to the device', async () => {
      const { instanceId, codeId } = await newInstance();
      const eventId = mkpId('E');
      const answer = await apply(instanceId, { eventId, deviceFingerprint: FINGERPRINT });
      assertResult(answer, '000000');
      const jwks = createLocalJWKSet((await call(server.url, 'GET', '/.well-known/jwks.json')).body);
      const { payload } = await jwtVerify(answer.body.license, jwks, { currentDate: new Date(server.clock.now()), issuer: 'licensor', audience: product });
      const code = await codeOf(codeId);
      assert.equal(payload.sub, codeId);
      assert.equal(payload.exp, Math.floor(Date.parse(code.expiresAt) / 1000));
      const claims = payload as any;
      assert.deepEqual(claims.marketplace, { instanceId, eventId, deviceFingerprintSha256: createHash('sha256').update(FINGERPRINT).digest('hex') });
      const machines = (await admin(server.url, 'GET', `/v1/admin/codes/${codeId}/activations`)).body.items;
      assert.deepEqual(
        machines.map((m: { id: string }) => m.id),
        [claims.activation.id],
      );
      assert.equal(code.status, 'alive');
    });

    it('answers a retried application (same eventId and fingerprint) with the same bytes and no second seat', async () => {
      const { instanceId, codeId } = await newInstance();
      const eventId = mkpId('E');
      const first = await apply(instanceId, { eventId, deviceFingerprint: FINGERPRINT });
      server.clock.advance(10 * SECOND);
      const again = await apply(instanceId, { eventId, deviceFingerprint: FINGERPRINT });
      assertResult(again, '000000');
      assert.equal(again.body.license, first.body.license);
      assert.equal((await admin(server.url, 'GET', `/v1/admin/codes/${codeId}/activations`)).body.items.length, 1);
    });

    it('turns 50 concurrent identical applications into one seat and one license', async () => {
      const { instanceId, codeId } = await newInstance();
      const eventId = mkpId('E');
      const answers = await Promise.all(Array.from({ length: 50 }, () => apply(instanceId, { eventId, deviceFingerprint: FINGERPRINT })));
      for (const answer of answers) assert.ok(['000000', '000004'].includes(answer.body.resultCode), answer.bytes.toString());
      const licenses = new Set(answers.filter((a) => a.body.resultCode === '000000').map((a) => a.body.license));
      assert.ok(licenses.size <= 1);
      await server.running.runtime.background.settled();
      const settled = await apply(instanceId, { eventId, deviceFingerprint: FINGERPRINT });
      assertResult(settled, '000000');
      if (licenses.size === 1) assert.equal(settled.body.license, [...licenses][0]);
      assert.equal((await admin(server.url, 'GET', `/v1/admin/codes/${codeId}/activations`)).body.items.length, 1);
    });

    it('binds a second device to the second seat, and answers 000900 when the seats are used up', async () => {
      const { instanceId } = await newInstance();
      assertResult(await apply(instanceId, { deviceFingerprint: FINGERPRINT }), '000000');
      assertResult(await apply(instanceId, { deviceFingerprint: OTHER_DEVICE }), '000000');
      assertResult(await apply(instanceId, { deviceFingerprint: THIRD_DEVICE }), '000900');
      // The refused application is not remembered: once a seat is free, its retry succeeds.
    });

    it('answers 000901 outside the order validity: effective after the expiry, or a frozen instance', async () => {
      const { instanceId } = await newInstance();
      assertResult(await apply(instanceId, { effectiveTime: compact(server.clock.now() + 400 * DAY) }), '000901');
      assertResult(await send({ activity: 'updateInstanceStatus', instanceId, status: 'FREEZE' }), '000000');
      assertResult(await apply(instanceId, { deviceFingerprint: FINGERPRINT }), '000901');
    });

    it("takes the expiry a period product carries, and getLicenseAsync's own date form", async () => {
      const { instanceId, codeId } = await newInstance();
      const answer = await apply(instanceId, {
        effectiveTime: '2026-01-01 00:00:00 z',
        expireTime: compact(Date.UTC(2031, 2, 3)),
        deviceFingerprint: FINGERPRINT,
      });
      assertResult(answer, '000000');
      assert.equal((await codeOf(codeId)).expiresAt, new Date(Date.UTC(2031, 2, 3)).toISOString());
      assert.equal(decodeJwt(answer.body.license).exp, Date.UTC(2031, 2, 3) / 1000);
    });

    it('answers 000003 for an unknown instance and 000002 for missing or malformed fields', async () => {
      assertResult(await apply('no-such-instance'), '000003');
      const { instanceId } = await newInstance();
      assertResult(await send({ activity: 'getLicenseAsync', instanceId, eventId: mkpId('E') }), '000002');
      assertResult(await send({ activity: 'getLicenseAsync', instanceId, effectiveTime: compact(server.clock.now()) }), '000002');
      assertResult(await apply(instanceId, { effectiveTime: 'soon' }), '000002');
      assertResult(await apply(instanceId, { deviceFingerprint: '|||' }), '000002');
    });
  });

  describe('queryInstance (§3.6f)', () => {
    it('describes each known instance of a comma-separated list', async () => {
      const a = await newInstance();
      const b = await newInstance();
      const answer = await send({ activity: 'queryInstance', instanceId: `${a.instanceId}, ${b.instanceId},no-such-instance` });
      assertResult(answer, '000000');
      assert.deepEqual(
        answer.body.info.map((i: { instanceId: string }) => i.instanceId),
        [a.instanceId, b.instanceId],
      );
      const [first] = answer.body.info;
      assert.equal(first.status, 'ALIVE');
      assert.equal(first.licenseCode, a.code.code);
      assert.equal(first.expireTime, compact(Date.parse(a.code.expiresAt)));
    });

    it('answers 000003 when none is known, and 000002 for more than 100 ids', async () => {
      assertResult(await send({ activity: 'queryInstance', instanceId: 'none-1,none-2' }), '000003');
      assertResult(await send({ activity: 'queryInstance', instanceId: Array.from({ length: 101 }, (_, i) => `i${i}`).join(',') }), '000002');
    });
  });

  describe('upgradeInstance', () => {
    const upgrade = (instanceId: string, orderId: string, extra: Record<string, unknown> = {}) =>
      send({ activity: 'upgradeInstance', instanceId, orderId, orderLineId: `${orderId}-000001`, ...extra });
    const apply = (instanceId: string, eventId: string, deviceFingerprint: string) =>
      send({ activity: 'getLicenseAsync', instanceId, effectiveTime: compact(server.clock.now()), eventId, deviceFingerprint });

    it('takes the amount an upgrade carries as the new seats, once per orderId: a retry with another amount changes nothing', async () => {
      const { instanceId, code } = await newInstance();
      const orderId = mkpId('UPGRADE');
      assertResult(await upgrade(instanceId, orderId, { amount: 5 }), '000000');
      assertResult(await upgrade(instanceId, orderId, { amount: 9 }), '000000');
      const answers = await Promise.all(Array.from({ length: 20 }, () => upgrade(instanceId, orderId, { amount: '7' })));
      for (const answer of answers) assertResult(answer, '000000');
      assert.equal((await codeOf(code.id)).seats, 5);
      const upgraded = (await audit(code.id)).filter((e) => e.action === 'code.upgraded');
      assert.equal(upgraded.length, 1);
      assert.equal((upgraded[0] as unknown as { after: { seats: number; orderId: string } }).after.orderId, orderId);
    });

    it('keeps every machine bound when the new quantity is below the machines in use, and refuses another until enough leave', async () => {
      const { instanceId, code } = await newInstance();
      assertResult(await apply(instanceId, mkpId('E'), FINGERPRINT), '000000');
      assertResult(await apply(instanceId, mkpId('E'), OTHER_DEVICE), '000000');
      assertResult(await upgrade(instanceId, mkpId('UPGRADE'), { amount: 1 }), '000000');
      assert.equal((await codeOf(code.id)).seats, 1);
      const machines = await admin(server.url, 'GET', `/v1/admin/codes/${code.id}/activations`);
      assert.equal(machines.body.items.filter((a: { status: string }) => a.status === 'active').length, 2);
      assertResult(await apply(instanceId, mkpId('E'), THIRD_DEVICE), '000900');
      const event = (await audit(code.id)).find((e) => e.action === 'code.upgraded') as unknown as { after: { machinesInUse: number } };
      assert.equal(event.after.machinesInUse, 2);
    });

    it('answers 000005 to an upgrade without amount while licensor does not call the marketplace, and changes nothing', async () => {
      const { instanceId, code } = await newInstance();
      const answer = await upgrade(instanceId, mkpId('UPGRADE'));
      assertResult(answer, '000005');
      assert.match(answer.body.resultMsg, /^upgrade_needs_order_query:.*LICENSOR_MARKETPLACE_AKSK/);
      assert.equal((await audit(code.id)).filter((e) => e.action === 'code.upgraded').length, 0);
    });

    it('answers 000003 for an unknown instance and 000002 without instanceId, orderId or orderLineId, or with an amount of 0', async () => {
      assertResult(await upgrade('no-such-instance', mkpId('UPGRADE'), { amount: 2 }), '000003');
      const { instanceId } = await newInstance();
      for (const missing of ['instanceId', 'orderId', 'orderLineId']) {
        const full: Record<string, unknown> = { activity: 'upgradeInstance', instanceId, orderId: mkpId('U'), orderLineId: 'L', amount: 2 };
        delete full[missing];
        assertResult(await send(full), '000002');
      }
      assertResult(await upgrade(instanceId, mkpId('UPGRADE'), { amount: 0 }), '000002');
    });
  });

  describe('License 2.0: refreshLicenseCode (§3.5a)', () => {
    const refresh = (license: string, orderId: string, expireTime: string, scene = 'RENEWAL') =>
      send({ activity: 'refreshLicenseCode', scene, orderId, orderLineId: `${orderId}-1`, license, expireTime });

    it('renews a code named in any form, once per order', async () => {
      const code = await anIssuedCode();
      const orderId = mkpId('R');
      const until = Date.UTC(2032, 6, 1);
      assertResult(await refresh(code.code.toLowerCase().replace(/-/g, ''), orderId, compact(until)), '000000');
      assertResult(await refresh(code.code, orderId, compact(until)), '000000');
      assert.equal((await codeOf(code.id)).expiresAt, new Date(until).toISOString());
      assert.deepEqual(
        (await audit(code.id)).map((e) => [e.action, e.actor]),
        [
          ['code.renewed', 'marketplace'],
          ['code.issued', 'admin-api'],
        ],
      );
    });

    it('moves an expired code back to alive when the new date is in the future', async () => {
      const code = await anIssuedCode(1);
      server.clock.advance(2 * DAY);
      assert.equal((await codeOf(code.id)).status, 'expired');
      assertResult(await refresh(code.code, mkpId('R'), compact(server.clock.now() + 30 * DAY)), '000000');
      assert.equal((await codeOf(code.id)).status, 'issued');
    });

    it('shortens for UNSUBSCRIBE_RENEWAL_PERIOD', async () => {
      const code = await anIssuedCode(60);
      const earlier = Date.parse(code.expiresAt) - 30 * DAY;
      assertResult(await refresh(code.code, mkpId('U'), compact(earlier), 'UNSUBSCRIBE_RENEWAL_PERIOD'), '000000');
      assert.equal(Date.parse((await codeOf(code.id)).expiresAt), Math.floor(earlier / 1000) * 1000);
    });

    it('turns 50 concurrent identical retries into one renewal', async () => {
      const code = await anIssuedCode();
      const orderId = mkpId('R');
      const until = compact(server.clock.now() + 200 * DAY);
      const answers = await Promise.all(Array.from({ length: 50 }, () => refresh(code.code, orderId, until)));
      for (const answer of answers) assertResult(answer, '000000');
      assert.equal((await audit(code.id)).filter((e) => e.action === 'code.renewed').length, 1);
    });

    it('answers 000003 for text that cannot be a code and 000002 for missing fields', async () => {
      assertResult(await refresh('PL 0000 0000', mkpId('R'), compact(server.clock.now() + DAY)), '000003');
      const code = await anIssuedCode();
      for (const missing of ['scene', 'orderId', 'orderLineId', 'license', 'expireTime']) {
        const full: Record<string, unknown> = {
          activity: 'refreshLicenseCode',
          scene: 'RENEWAL',
          orderId: 'O',
          orderLineId: 'L',
          license: code.code,
          expireTime: compact(server.clock.now() + DAY),
        };
        delete full[missing];
        assertResult(await send(full), '000002');
      }
    });
  });

  describe('License 2.0: updateLicenseCodeStatus and releaseLicenseCode (§3.5b, c)', () => {
    const status = (license: string, value: string) => send({ activity: 'updateLicenseCodeStatus', license, status: value });

    it('freezes and unfreezes; a repeated freeze succeeds without a second transition', async () => {
      const code = await anIssuedCode();
      assertResult(await status(code.code, 'FREEZE'), '000000');
      assertResult(await status(code.code, 'FREEZE'), '000000');
      assert.equal((await codeOf(code.id)).status, 'frozen');
      assertResult(await status(code.code, 'UNFREEZE'), '000000');
      assert.equal((await codeOf(code.id)).status, 'issued');
      assert.deepEqual(
        (await audit(code.id)).map((e) => e.action),
        ['code.unfrozen', 'code.frozen', 'code.issued'],
      );
    });

    it('releases once; a repeated release and a late freeze succeed, an unfreeze is refused with 000002', async () => {
      const code = await anIssuedCode();
      const release = { activity: 'releaseLicenseCode', license: code.code, orderId: mkpId('UNSUB'), orderLineId: 'L1' };
      const answers = await Promise.all(Array.from({ length: 50 }, () => send(release)));
      for (const answer of answers) assertResult(answer, '000000');
      assertResult(await status(code.code, 'FREEZE'), '000000');
      assertResult(await status(code.code, 'UNFREEZE'), '000002');
      assert.equal((await codeOf(code.id)).status, 'released');
      assert.equal((await audit(code.id)).filter((e) => e.action === 'code.released').length, 1);
    });

    it('answers 000003 for text that cannot be a code and 000002 for missing fields or statuses', async () => {
      assertResult(await status('PL1234\u00e95678', 'FREEZE'), '000003');
      assertResult(await send({ activity: 'releaseLicenseCode', license: 'PL 12345678' }), '000003');
      const code = await anIssuedCode();
      assertResult(await status(code.code, 'PAUSE'), '000002');
      assertResult(await send({ activity: 'updateLicenseCodeStatus', license: code.code }), '000002');
      assertResult(await send({ activity: 'releaseLicenseCode' }), '000002');
    });
  });
});

forEachEngine('the marketplace production interface without an access key', (engine) => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer(engine, { LICENSOR_MARKETPLACE_PRODUCT: `mkp-unconfigured-${engine}` });
  });
  after(async () => server?.close());

  it('refuses a request signed with any key with 000001 and sends no Body-Sign, having no key to sign with', async () => {
    const answer = await produce(server.url, { activity: 'queryInstance', instanceId: 'no-such-instance' }, { now: server.clock.now() });
    assert.equal(answer.status, 200, answer.bytes.toString());
    assert.equal(answer.body?.resultCode, '000001', answer.bytes.toString());
    assert.match(answer.body.resultMsg, /^marketplace_not_configured:/);
    assert.equal(answer.bodySign, null);
  });
});

forEachEngine('the marketplace production interface under a 5 s budget', (engine) => {
  let server: TestServer;
  const product = `mkp-slow-${engine}`;

  before(async () => {
    server = await startTestServer(
      engine,
      marketplaceEnv(product, { LICENSOR_MARKETPLACE_BUDGET_MS: '300', LICENSOR_MARKETPLACE_REQUIRE_FINGERPRINT: 'true' }),
    );
    await admin(server.url, 'POST', '/v1/admin/products', { name: product });
  });
  after(async () => server?.close());

  const send = (payload: Record<string, unknown>) => produce(server.url, payload, { now: server.clock.now() });

  it('answers 000903 to an application without a device fingerprint when the product binds devices', async () => {
    const orderId = mkpId('ORDER');
    const created = await send({ activity: 'newInstance', orderId, orderLineId: 'L', businessId: mkpId('BIZ') });
    const answer = await send({
      activity: 'getLicenseAsync',
      instanceId: created.body.instanceId,
      effectiveTime: compact(server.clock.now()),
      eventId: mkpId('E'),
    });
    assert.equal(answer.body.resultCode, '000903', answer.bytes.toString());
  });

  it('answers 000004 when the work outlasts the budget, records the owed license and delivers it to the retry', async () => {
    const created = await send({ activity: 'newInstance', orderId: mkpId('ORDER'), orderLineId: 'L', businessId: mkpId('BIZ') });
    const instanceId = created.body.instanceId as string;
    const row = await server.running.runtime.database.knex('marketplace_instances').where({ instance_id: instanceId }).first();
    const application = {
      activity: 'getLicenseAsync',
      instanceId,
      effectiveTime: compact(server.clock.now()),
      eventId: mkpId('E'),
      deviceFingerprint: FINGERPRINT,
    };

    // Another connection holds the code's row (PostgreSQL) or the write lock (SQLite): the work cannot finish in time.
    const side = openSideConnection(server.db);
    const blocker = await side.transaction();
    try {
      await blocker('codes').where({ id: row.code_id }).increment('revision', 1);
      const first = await send(application);
      assert.equal(first.body.resultCode, '000004', first.bytes.toString());
      assert.equal(first.body.instanceId, instanceId);
      assert.equal(first.body.eventId, application.eventId);
      assert.equal(first.bodySign, expectedBodySign(MARKETPLACE_KEY, first.bytes));
      const retry = await send(application);
      assert.equal(retry.body.resultCode, '000004', retry.bytes.toString());
    } finally {
      await blocker.commit();
      await side.destroy();
    }
    await server.running.runtime.background.settled();

    const owed = await admin(server.url, 'GET', '/v1/admin/marketplace/licenses');
    const record = owed.body.items.find((l: { eventId: string }) => l.eventId === application.eventId);
    assert.equal(record.status, 'ready');
    assert.equal(record.instanceId, instanceId);
    const delivered = await send(application);
    assert.equal(delivered.body.resultCode, '000000', delivered.bytes.toString());
    assert.equal(delivered.body.license, record.license);
  });
});
