import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { startMarketplaceStandIn, type MarketplaceStandIn, type StandInOrderLine } from '../src/cli/marketplace-stand-in';
import { DAY, SECOND } from './support/clock';
import { cliEnv, runCli } from './support/cli';
import { forEachEngine } from './support/databases';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call } from './support/http';
import { compact, freePort, holdMarketplaceTables, MARKETPLACE_KEY, marketplaceEnv, mkpId, produce } from './support/marketplace';

/**
 * licensor's calls to the marketplace (docs/marketplace.md "licensor calls the marketplace"),
 * against a stand-in of the marketplace's API on loopback that checks every call's AK/SK
 * signature: order/query for what was bought and for upgrades, the upload of a license answered
 * 000004, and the usage push of on-demand instances, all through the outbox.
 */

const AK = 'AKOUTBOUND000001';
const SK = 'SKOUTBOUND000001';
const FINGERPRINT = '04:7C:16:5E:E3:5D|001B_444A_488B_5CEC.|BOARD-0001|BFEBFBFF00090672';
const OTHER_DEVICE = '04:7C:16:5E:E3:6E|002C_555B_599C_6DFD.|BOARD-0002|BFEBFBFF00090672';

forEachEngine('licensor calling the marketplace', (engine) => {
  let standIn: MarketplaceStandIn;
  let server: TestServer;
  const product = `outbound-${engine}`;

  before(async () => {
    // The first base URL cannot be reached (the .com host down): every call goes on to the second.
    const deadPort = await freePort();
    standIn = await startMarketplaceStandIn({ credentials: { accessKey: AK, secretKey: SK }, sellerKey: MARKETPLACE_KEY, now: () => server.clock.now() });
    server = await startTestServer(
      engine,
      marketplaceEnv(product, {
        LICENSOR_MARKETPLACE_AKSK: `${AK}:${SK}`,
        LICENSOR_MARKETPLACE_API_URL: `http://127.0.0.1:${deadPort},${standIn.url}`,
        LICENSOR_MARKETPLACE_BUDGET_MS: '300',
        // Deliveries happen when a test drains the outbox.
        LICENSOR_OUTBOX_POLL_MS: '60000',
        LICENSOR_OPENAPI_ALLOW_UNSIGNED: 'true',
      }),
    );
    await admin(server.url, 'POST', '/v1/admin/products', { name: product });
  });
  after(async () => {
    await server?.close();
    await standIn?.close();
  });
  afterEach(() => {
    // Every call licensor made carried a good signature of its AK/SK.
    assert.deepEqual(standIn.refused, []);
  });

  const now = () => server.clock.now();
  const send = (payload: Record<string, unknown>) => produce(server.url, payload, { now: now() });
  const drain = () => server.running.outbox.drain();
  const entries = async (query: string) => (await admin(server.url, 'GET', `/v1/admin/outbox?${query}&limit=500`)).body.items as Array<Record<string, any>>;
  const trail = async (codeId: string) =>
    ((await admin(server.url, 'GET', `/v1/admin/audit?code=${codeId}&limit=100`)).body.items as Array<Record<string, any>>).reverse();

  function sell(orderId: string, line: Partial<StandInOrderLine> = {}, orderType: 'NEW' | 'CHANGE' = 'NEW'): string {
    const orderLineId = `${orderId}-000001`;
    standIn.orders.set(orderId, { orderId, orderType, orderLine: [{ orderLineId, chargingMode: 'PERIOD', ...line }] });
    return orderLineId;
  }

  async function newInstance(line: Partial<StandInOrderLine> = {}) {
    const orderId = mkpId('ORDER');
    const orderLineId = sell(orderId, line);
    const answer = await send({ activity: 'newInstance', orderId, orderLineId, businessId: mkpId('BIZ') });
    assert.equal(answer.body.resultCode, '000000', answer.bytes.toString());
    const instanceId = answer.body.instanceId as string;
    const row = await server.running.runtime.database.knex('marketplace_instances').where({ instance_id: instanceId }).first();
    return { instanceId, orderId, orderLineId, codeId: row.code_id as string };
  }
  const code = async (codeId: string) => (await admin(server.url, 'GET', `/v1/admin/codes/${codeId}`)).body.code;
  const instance = async (instanceId: string) =>
    ((await admin(server.url, 'GET', '/v1/admin/marketplace/instances?limit=500')).body.items as Array<Record<string, any>>).find(
      (i) => i.instanceId === instanceId,
    )!;

  describe('order/query', () => {
    it("asks for a new instance's order line, signed with the AK/SK, and gives its code the seats and the expiry bought", async () => {
      const expireTime = Date.UTC(2031, 0, 31, 23, 59, 59);
      const { instanceId, orderId, orderLineId, codeId } = await newInstance({
        periodType: 'year',
        periodNumber: 1,
        expireTime: compact(expireTime),
        linearValue: 3,
      });
      const [owed] = (await entries('kind=marketplace.order-query')).filter((e) => e.payload.instanceId === instanceId);
      assert.equal(owed?.status, 'pending');
      assert.equal(owed?.target, `marketplace:orders:${instanceId}`);

      await drain();
      assert.deepEqual(
        standIn.queries.filter((q) => q.orderId === orderId).map((q) => q.orderLineId),
        [orderLineId],
      );
      const applied = await code(codeId);
      assert.equal(applied.seats, 3);
      assert.equal(applied.expiresAt, new Date(expireTime).toISOString());
      const terms = (await instance(instanceId)).order;
      assert.deepEqual({ ...terms, checkedAt: undefined }, { chargingMode: 'PERIOD', periodType: 'year', periodNumber: 1, quantity: 3, checkedAt: undefined });
      assert.deepEqual(
        (await trail(codeId)).map((e) => e.action),
        ['code.issued', 'code.order_applied'],
      );
      const done = (await entries('kind=marketplace.order-query')).find((e) => e.id === owed!.id)!;
      assert.equal(done.status, 'delivered');
      assert.equal(done.attempts, 0);
    });

    it("keeps the expiry a renewal set before the order's answer came, and still takes the seats", async () => {
      const { instanceId, codeId } = await newInstance({ expireTime: compact(Date.UTC(2030, 0, 1)), linearValue: 2 });
      const renewedUntil = Date.UTC(2033, 0, 1);
      const renewal = await send({
        activity: 'refreshInstance',
        scene: 'RENEWAL',
        orderId: mkpId('R'),
        orderLineId: 'R-1',
        instanceId,
        expireTime: compact(renewedUntil),
      });
      assert.equal(renewal.body.resultCode, '000000');
      await drain();
      const applied = await code(codeId);
      assert.equal(applied.expiresAt, new Date(renewedUntil).toISOString());
      assert.equal(applied.seats, 2);
    });

    it('retries while the marketplace fails, each wait twice the last, and applies the answer once it comes', async () => {
      standIn.failNext(2, { status: 500, body: { resultCode: 'MKT.0999', resultMsg: 'System internal error.' } });
      const { instanceId, codeId } = await newInstance({ linearValue: 4 });
      const owed = async () => (await entries('kind=marketplace.order-query')).find((e) => e.payload.instanceId === instanceId)!;
      await drain();
      let entry = await owed();
      assert.equal(entry.status, 'pending');
      assert.equal(entry.attempts, 1);
      assert.match(entry.lastError, /order\/query: HTTP 500, MKT.0999/);
      assert.equal(Date.parse(entry.nextAttemptAt), now() + 30 * SECOND);
      server.clock.advance(30 * SECOND);
      await drain();
      entry = await owed();
      assert.equal(entry.attempts, 2);
      assert.equal(Date.parse(entry.nextAttemptAt), now() + 60 * SECOND);
      assert.equal((await code(codeId)).seats, 1);
      server.clock.advance(60 * SECOND);
      await drain();
      assert.equal((await owed()).status, 'delivered');
      assert.equal((await code(codeId)).seats, 4);
      const metrics = await call(server.url, 'GET', '/metrics');
      assert.match(metrics.text, /licensor_outbox_attempts_total\{kind="marketplace.order-query",result="retry"\} [2-9]/);
    });

    it('gives up an order the marketplace refuses, shows it to the operator, and applies it once the operator retries', async () => {
      const orderId = mkpId('UNSOLD');
      const answer = await send({ activity: 'newInstance', orderId, orderLineId: `${orderId}-000001`, businessId: mkpId('BIZ') });
      const instanceId = answer.body.instanceId as string;
      await drain();
      const failed = (await entries('status=failed')).find((e) => e.payload.instanceId === instanceId)!;
      assert.equal(failed.kind, 'marketplace.order-query');
      assert.match(failed.lastError, /MKT.0101/);
      const listed = await runCli(['outbox', 'list', '--status', 'failed'], cliEnv(server.db));
      assert.equal(listed.code, 0, listed.err);
      assert.match(listed.out, new RegExp(`${failed.id}\\s+marketplace.order-query\\s+failed\\s+1`));
      server.clock.advance(10 * SECOND); // past the 5 s for which /metrics keeps database figures
      const metrics = await call(server.url, 'GET', '/metrics');
      assert.match(metrics.text, /licensor_outbox_entries\{kind="marketplace.order-query",status="failed"\} [1-9]/);

      sell(orderId, { linearValue: 6 });
      const retried = await runCli(['outbox', 'retry', failed.id], cliEnv(server.db));
      assert.equal(retried.code, 0, retried.err);
      await drain();
      assert.equal((await entries('kind=marketplace.order-query')).find((e) => e.id === failed.id)!.status, 'delivered');
      const row = await server.running.runtime.database.knex('marketplace_instances').where({ instance_id: instanceId }).first();
      assert.equal((await code(row.code_id)).seats, 6);
      const events = (await admin(server.url, 'GET', `/v1/admin/audit?limit=200`)).body.items.filter((e: { entityId: string }) => e.entityId === failed.id);
      assert.deepEqual(events.map((e: { action: string }) => e.action).sort(), ['outbox.failed', 'outbox.retried']);
    });
  });

  describe('upgradeInstance', () => {
    it('asks order/query for the upgrade order once per orderId, and the code takes the new quantity', async () => {
      const { instanceId, codeId } = await newInstance({ linearValue: 2 });
      await drain();
      const upgradeId = mkpId('UPGRADE');
      const upgradeLine = sell(upgradeId, { linearValue: 5 }, 'CHANGE');
      const upgrade = { activity: 'upgradeInstance', instanceId, orderId: upgradeId, orderLineId: upgradeLine };
      assert.equal((await send(upgrade)).body.resultCode, '000000');
      // 20 at once wait for each other on the code's lock: past the 300 ms budget some answer 000004 and finish later.
      for (const answer of await Promise.all(Array.from({ length: 20 }, () => send(upgrade))))
        assert.ok(['000000', '000004'].includes(answer.body.resultCode), answer.bytes.toString());
      await server.running.runtime.background.settled();
      assert.equal((await send(upgrade)).body.resultCode, '000000');
      assert.equal((await code(codeId)).seats, 2);
      await drain();
      assert.equal(standIn.queries.filter((q) => q.orderId === upgradeId).length, 1);
      const upgraded = await code(codeId);
      assert.equal(upgraded.seats, 5);
      const actions = (await trail(codeId)).map((e) => e.action);
      assert.deepEqual(actions, ['code.issued', 'code.order_applied', 'code.upgraded', 'code.order_applied']);
      // The upgrade keeps the instance's expiry: the order applied the first time only.
      assert.equal(upgraded.expiresAt, (await trail(codeId))[1]!.after.expiresAt);
    });
  });

  describe('the license upload', () => {
    async function slowApplication(instanceId: string, deviceFingerprint?: string) {
      const application = {
        activity: 'getLicenseAsync',
        instanceId,
        effectiveTime: compact(now()),
        eventId: mkpId('E'),
        ...(deviceFingerprint ? { deviceFingerprint } : {}),
      };
      const release = await holdMarketplaceTables(server.db);
      try {
        const first = await send(application);
        assert.equal(first.body.resultCode, '000004', first.bytes.toString());
      } finally {
        await release();
      }
      await server.running.runtime.background.settled();
      await drain();
      const retry = await send(application);
      assert.equal(retry.body.resultCode, '000000', retry.bytes.toString());
      return { eventId: application.eventId, license: retry.body.license as string };
    }

    it('uploads a device license answered 000004 once its work is done: the bytes every retry answers, as a file with its SHA-256', async () => {
      const { instanceId, codeId } = await newInstance({ linearValue: 2 });
      const { eventId, license } = await slowApplication(instanceId, FINGERPRINT);
      const uploads = standIn.uploads.filter((u) => u.eventId === eventId);
      assert.equal(uploads.length, 1);
      assert.equal(uploads[0]!.license, license);
      assert.ok(license.length > 1024, `a signed license (${license.length} characters) goes as a file`);
      assert.equal(uploads[0]!.type, 'FILE');
      assert.equal(uploads[0]!.sha256Matches, true);
      assert.equal(uploads[0]!.fileName, 'license.txt');
      const recorded = (await admin(server.url, 'GET', '/v1/admin/marketplace/licenses?limit=500')).body.items.find(
        (l: { eventId: string }) => l.eventId === eventId,
      );
      assert.notEqual(recorded.uploadedAt, null);
      assert.ok((await trail(codeId)).some((e) => e.action === 'code.license_uploaded' && e.actor === 'outbox' && e.after.eventId === eventId));
    });

    it('uploads the authorization code as characters when the application named no device', async () => {
      const { instanceId, codeId } = await newInstance();
      const { eventId, license } = await slowApplication(instanceId);
      assert.equal(license, (await code(codeId)).code);
      assert.deepEqual(
        standIn.uploads.filter((u) => u.eventId === eventId).map((u) => [u.type, u.license]),
        [['CHARACTERS', license]],
      );
    });

    it('owes no upload for a license answered at once', async () => {
      const { instanceId } = await newInstance({ linearValue: 2 });
      const eventId = mkpId('E');
      const answer = await send({ activity: 'getLicenseAsync', instanceId, effectiveTime: compact(now()), eventId, deviceFingerprint: OTHER_DEVICE });
      assert.equal(answer.body.resultCode, '000000');
      await drain();
      assert.equal((await entries('kind=marketplace.license-upload')).filter((e) => e.payload.eventId === eventId).length, 0);
      assert.equal(standIn.uploads.filter((u) => u.eventId === eventId).length, 0);
    });
  });

  describe('the usage of on-demand instances', () => {
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const sdkDate = (d: string) => `${d.replace(/-/g, '')}T000000Z`;

    async function instanceWithUsage(chargingMode: StandInOrderLine['chargingMode'], ids: string[]) {
      const created = await newInstance({ chargingMode });
      await drain();
      const license = (await send({ activity: 'getLicenseAsync', instanceId: created.instanceId, effectiveTime: compact(now()), eventId: mkpId('E') })).body
        .license;
      const report = await call(server.url, 'POST', '/api/mkp-openapi-public/global/v2/license/software-usage-info', {
        usage_info: [{ license, software_usage_Info: ids.map((id) => ({ id })) }],
      });
      assert.equal(report.body.error_code, '92020000', report.text);
      return created;
    }

    it('pushes each closed day of an on-demand instance once, signed with the seller key over sorted keys, with a record id a retry repeats', async () => {
      const { instanceId } = await instanceWithUsage('ON_DEMAND', ['client-a', 'client-b', 'client-c']);
      const periodic = await instanceWithUsage('PERIOD', ['client-x']);
      const used = day(now());
      assert.equal(await server.running.usagePushes.runOnce(), 0, 'today is still open');

      server.clock.advance(DAY);
      assert.equal(await server.running.usagePushes.runOnce(), 1);
      assert.equal(await server.running.usagePushes.runOnce(), 0, 'owed once');
      await drain();
      const pushed = standIn.usage
        .flatMap((u) => u.records.map((r): Record<string, unknown> => ({ ...r, sortedKeys: u.sortedKeys })))
        .filter((r) => r.instance_id === instanceId);
      const meteringSn = `licensor-${createHash('sha256').update(`${instanceId} ${used}`).digest('hex').slice(0, 40)}`;
      assert.deepEqual(
        pushed.map(({ record_time: _recorded, ...r }) => r),
        [
          {
            begin_time: sdkDate(used),
            end_time: sdkDate(day(Date.parse(used) + DAY)),
            instance_id: instanceId,
            metering_sn: meteringSn,
            usage_value: '3',
            sortedKeys: true,
          },
        ],
      );
      assert.equal(standIn.usage.flatMap((u) => u.records).filter((r) => r.instance_id === periodic.instanceId).length, 0, 'a PERIOD instance pushes nothing');
    });
  });
});
