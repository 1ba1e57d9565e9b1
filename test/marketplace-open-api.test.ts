import { strict as assert } from 'node:assert';
import { signApigRequest } from '@licensor/client/contract';
import { runCli, cliEnv } from './support/cli';
import { DAY, MINUTE } from './support/clock';
import { forEachEngine } from './support/databases';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call, type Answer } from './support/http';
import { compact, marketplaceEnv, mkpId, produce } from './support/marketplace';

const BASE = '/api/mkp-openapi-public/global';

forEachEngine('the marketplace-compatible license open API', (engine) => {
  let server: TestServer;
  const product = `openapi-${engine}`;

  before(async () => {
    // These suites are about shapes: the open API opened without AK/SK, as for local testing.
    server = await startTestServer(engine, marketplaceEnv(product, { LICENSOR_OPENAPI_ALLOW_UNSIGNED: 'true' }));
    await admin(server.url, 'POST', '/v1/admin/products', { name: product });
  });
  after(async () => server?.close());

  const api = (path: string, body: unknown) => call(server.url, 'POST', BASE + path, body);
  const anIssuedCode = async (options: { days?: number; seats?: number; test?: boolean } = {}) =>
    (await admin(server.url, 'POST', '/v1/admin/codes', { product, seats: options.seats ?? 3, days: options.days ?? 30, test: options.test })).body.code;
  const codeOf = async (reference: string) => (await admin(server.url, 'GET', `/v1/admin/codes/${reference}`)).body.code;

  function assertSuccess(res: Answer) {
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.error_code, '92020000', res.text);
    assert.equal(res.body.error_msg, 'Success');
  }
  function assertError(res: Answer, status: number, errorCode: string) {
    assert.equal(res.status, status, res.text);
    assert.equal(res.body.error_code, errorCode, res.text);
    assert.equal(typeof res.body.error_msg, 'string');
    assert.doesNotMatch(res.text, /at \S+ \(|node_modules|\.js:\d+/);
  }

  describe('POST …/v1/license/activate (§2.1)', () => {
    it('activates an issued code and answers license_code_info as a JSON-encoded string', async () => {
      const code = await anIssuedCode({ seats: 3 });
      const res = await api('/v1/license/activate', { license: code.code });
      assertSuccess(res);
      assert.equal(typeof res.body.data.license_code_info, 'string');
      assert.deepEqual(JSON.parse(res.body.data.license_code_info), {
        status: 'ALIVE',
        expire_time: compact(Date.parse(code.expiresAt)),
        product_id: product,
        order_id: '',
        amount: 3,
      });
      const after = await codeOf(code.id);
      assert.equal(after.status, 'alive');
      assert.equal(after.firstActivatedAt, new Date(server.clock.now()).toISOString());
    });

    it('changes nothing when the code is activated again', async () => {
      const code = await anIssuedCode();
      assertSuccess(await api('/v1/license/activate', { license: code.code }));
      assertSuccess(await api('/v1/license/activate', { license: code.code.toLowerCase() }));
      const events = (await admin(server.url, 'GET', `/v1/admin/audit?code=${code.id}`)).body.items;
      assert.deepEqual(
        events.map((e: { action: string; actor: string }) => [e.action, e.actor]),
        [
          ['code.activated', 'marketplace-api'],
          ['code.issued', 'admin-api'],
        ],
      );
    });

    it('records real_effect_time (UTC) as the activation time and refuses one before the order', async () => {
      const code = await anIssuedCode();
      server.clock.advance(10 * MINUTE);
      const effect = server.clock.now() - MINUTE;
      assertSuccess(await api('/v1/license/activate', { license: code.code, real_effect_time: compact(effect) }));
      assert.equal(Date.parse((await codeOf(code.id)).firstActivatedAt), Math.floor(effect / 1000) * 1000);
      const late = await anIssuedCode();
      assertError(await api('/v1/license/activate', { license: late.code, real_effect_time: compact(server.clock.now() - DAY) }), 400, '92020002');
      assertError(await api('/v1/license/activate', { license: late.code, real_effect_time: '2026-01-01' }), 400, '92020002');
    });

    it('answers the status of expired and released codes without changing them', async () => {
      const expired = await anIssuedCode({ days: 1 });
      const released = await anIssuedCode();
      await admin(server.url, 'POST', `/v1/admin/codes/${released.id}/release`);
      server.clock.advance(2 * DAY);
      const a = await api('/v1/license/activate', { license: expired.code });
      const b = await api('/v1/license/activate', { license: released.code });
      assert.equal(JSON.parse(a.body.data.license_code_info).status, 'EXPIRED');
      assert.equal(JSON.parse(b.body.data.license_code_info).status, 'RELEASED');
      assert.equal((await codeOf(expired.id)).firstActivatedAt, null);
    });

    it("answers an instance's code with its order id", async () => {
      const orderId = mkpId('ORDER');
      const created = await produce(server.url, { activity: 'newInstance', orderId, orderLineId: 'L1', businessId: mkpId('BIZ') }, { now: server.clock.now() });
      const query = await produce(server.url, { activity: 'queryInstance', instanceId: created.body.instanceId }, { now: server.clock.now() });
      const res = await api('/v1/license/activate', { license: query.body.info[0].licenseCode });
      assertSuccess(res);
      assert.equal(JSON.parse(res.body.data.license_code_info).order_id, orderId);
    });

    it('answers 92020005 "license code not exist." for an unknown code', async () => {
      const res = await api('/v1/license/activate', { license: 'PL00000000' });
      assertError(res, 200, '92020005');
      assert.equal(res.body.error_msg, 'license code not exist.');
    });

    it('answers 400 92020002 for a missing, empty or over-long license and a body that is not JSON', async () => {
      assertError(await api('/v1/license/activate', {}), 400, '92020002');
      assertError(await api('/v1/license/activate', { license: '' }), 400, '92020002');
      assertError(await api('/v1/license/activate', { license: 'X'.repeat(65) }), 400, '92020002');
      assertError(await api('/v1/license/activate', 'license=ABC'), 400, '92020002');
      assertError(await api('/v1/license/activate', { license: 'X', pad: 'y'.repeat(300_000) }), 400, '92020002');
    });

    it('keeps unknown request fields harmless', async () => {
      const code = await anIssuedCode();
      assertSuccess(await api('/v1/license/activate', { license: code.code, client_version: '2.1', extra: { a: [1] } }));
    });
  });

  describe('POST …/v2/license/activate (batch)', () => {
    it('answers one entry per code, unknown ones with 92020005', async () => {
      const a = await anIssuedCode();
      const b = await anIssuedCode();
      const res = await api('/v2/license/activate', { license_list: [a.code, 'PL-UNKNOWN', b.code] });
      assertSuccess(res);
      const list = res.body.data.license_code_info_list;
      assert.deepEqual(
        list.map((e: { license: string; error_code: string }) => [e.license, e.error_code]),
        [
          [a.code, '92020000'],
          ['PL-UNKNOWN', '92020005'],
          [b.code, '92020000'],
        ],
      );
      assert.equal(JSON.parse(list[2].license_code_info).status, 'ALIVE');
      assert.equal((await codeOf(b.id)).status, 'alive');
    });

    it('answers 400 92020002 for an empty list or more than 100 codes', async () => {
      assertError(await api('/v2/license/activate', { license_list: [] }), 400, '92020002');
      assertError(await api('/v2/license/activate', { license_list: Array.from({ length: 101 }, (_, i) => `C${i}`) }), 400, '92020002');
    });
  });

  describe('POST …/v1/license/heartbeat (§2.2)', () => {
    it('answers the LicenseInfo: the code as sent, status, activation time and expiry', async () => {
      const code = await anIssuedCode({ seats: 2 });
      const before = await api('/v1/license/heartbeat', { license: code.code });
      assertSuccess(before);
      assert.deepEqual(before.body.data, {
        license_code: code.code,
        status: 'ALIVE',
        activate_time: '',
        expire_time: compact(Date.parse(code.expiresAt)),
        product_id: product,
        order_id: '',
        amount: 2,
      });
      await api('/v1/license/activate', { license: code.code });
      const after = await api('/v1/license/heartbeat', { license: code.code });
      assert.equal(after.body.data.activate_time, compact(server.clock.now()));
    });

    it('answers EXPIRED for a frozen or expired code and RELEASED for a released one', async () => {
      const frozen = await anIssuedCode();
      await admin(server.url, 'POST', `/v1/admin/codes/${frozen.id}/freeze`);
      const released = await anIssuedCode();
      await admin(server.url, 'POST', `/v1/admin/codes/${released.id}/release`);
      const expiring = await anIssuedCode({ days: 1 });
      assert.equal((await api('/v1/license/heartbeat', { license: frozen.code })).body.data.status, 'EXPIRED');
      assert.equal((await api('/v1/license/heartbeat', { license: released.code })).body.data.status, 'RELEASED');
      server.clock.advance(DAY + MINUTE);
      assert.equal((await api('/v1/license/heartbeat', { license: expiring.code })).body.data.status, 'EXPIRED');
    });

    it('accepts an instance id in place of the code, as legacy online-License products send', async () => {
      const created = await produce(
        server.url,
        { activity: 'newInstance', orderId: mkpId('O'), orderLineId: 'L', businessId: mkpId('BIZ') },
        { now: server.clock.now() },
      );
      const res = await api('/v1/license/heartbeat', { license: created.body.instanceId });
      assertSuccess(res);
      assert.equal(res.body.data.license_code, created.body.instanceId);
    });

    it('counts the sunset heartbeatInfo.thirdPartyAccount as a usage identity for the day', async () => {
      const code = await anIssuedCode();
      assertSuccess(await api('/v1/license/heartbeat', { license: code.code, heartbeatInfo: { thirdPartyAccount: 'user-1', ip: '10.1.2.3' } }));
      assertSuccess(await api('/v1/license/heartbeat', { license: code.code, heartbeatInfo: { thirdPartyAccount: 'user-1' } }));
      const usage = await admin(server.url, 'GET', `/v1/admin/usage?code=${code.code}`);
      assert.deepEqual(
        usage.body.items.map((u: { ids: string[] }) => u.ids),
        [['user-1']],
      );
    });

    it('answers 92020005 for an unknown code and 400 92020002 for a bad request', async () => {
      assertError(await api('/v1/license/heartbeat', { license: 'PL00000000' }), 200, '92020005');
      assertError(await api('/v1/license/heartbeat', {}), 400, '92020002');
      assertError(await api('/v1/license/heartbeat', { license: 'X', heartbeatInfo: {} }), 400, '92020002');
    });
  });

  describe('POST …/v2/license/heartbeat (batch)', () => {
    it('answers one LicenseInfo per code, unknown ones with 92020005', async () => {
      const a = await anIssuedCode();
      const res = await api('/v2/license/heartbeat', { license_list: [a.code, 'PL-UNKNOWN'] });
      assertSuccess(res);
      const [known, unknown] = res.body.data.license_info_list;
      assert.equal(known.error_code, '92020000');
      assert.equal(known.license_code, a.code);
      assert.equal(known.status, 'ALIVE');
      assert.deepEqual(unknown, { license_code: 'PL-UNKNOWN', error_code: '92020005', error_msg: 'license code not exist.' });
    });

    it('answers 400 92020002 for more than 100 codes', async () => {
      assertError(await api('/v2/license/heartbeat', { license_list: Array.from({ length: 101 }, (_, i) => `C${i}`) }), 400, '92020002');
    });
  });

  describe('POST …/v2/license/software-usage-info (§2.3)', () => {
    it('stores identities and active totals per code and day, shown by the admin API and the CLI', async () => {
      const code = await anIssuedCode();
      const res = await api('/v2/license/software-usage-info', {
        usage_info: [{ license: code.code, software_usage_Info: [{ id: 'acct-1' }, { id: 'acct-2' }, { active_num: 7 }] }],
      });
      assertSuccess(res);
      assert.deepEqual(res.body.data, { check_fail_list: [] });
      assertSuccess(
        await api('/v2/license/software-usage-info', { usage_info: [{ license: code.code, software_usage_Info: [{ id: 'acct-2' }, { id: 'acct-3' }] }] }),
      );

      const usage = await admin(server.url, 'GET', `/v1/admin/usage?code=${code.id}`);
      assert.equal(usage.status, 200, usage.text);
      assert.equal(usage.body.items.length, 1);
      const [day] = usage.body.items;
      assert.equal(day.day, new Date(server.clock.now()).toISOString().slice(0, 10));
      assert.equal(day.code, code.code);
      assert.deepEqual(day.ids, ['acct-1', 'acct-2', 'acct-3']);
      assert.equal(day.distinctIds, 3);
      assert.equal(day.activeNum, 7);

      const cli = await runCli(['usage', '--code', code.code, '--json'], cliEnv(server.db));
      assert.equal(cli.code, 0, cli.err);
      assert.deepEqual(
        cli.json.items.map((u: { day: string; distinctIds: number }) => [u.day, u.distinctIds]),
        [[day.day, 3]],
      );
      const table = await runCli(['usage', '--code', code.code], cliEnv(server.db));
      assert.match(table.out, new RegExp(`${day.day}\\s+${code.code}\\s+3\\s+7`));
    });

    it('keeps each day apart', async () => {
      const code = await anIssuedCode();
      await api('/v2/license/software-usage-info', { usage_info: [{ license: code.code, software_usage_Info: [{ active_num: 2 }] }] });
      server.clock.advance(DAY);
      await api('/v2/license/software-usage-info', { usage_info: [{ license: code.code, software_usage_Info: [{ active_num: 5 }] }] });
      const usage = await admin(server.url, 'GET', `/v1/admin/usage?code=${code.id}`);
      assert.deepEqual(
        usage.body.items.map((u: { activeNum: number }) => u.activeNum),
        [5, 2],
      );
    });

    it('merges concurrent reports for one code instead of losing any', async () => {
      const code = await anIssuedCode();
      const reports = Array.from({ length: 20 }, (_, i) =>
        api('/v2/license/software-usage-info', { usage_info: [{ license: code.code, software_usage_Info: [{ id: `parallel-${i}` }] }] }),
      );
      for (const res of await Promise.all(reports)) assertSuccess(res);
      const usage = await admin(server.url, 'GET', `/v1/admin/usage?code=${code.id}`);
      assert.equal(usage.body.items[0].distinctIds, 20);
    });

    it('leaves test codes out of the usage figures unless asked for', async () => {
      const real = await anIssuedCode();
      const test = await anIssuedCode({ test: true });
      await api('/v2/license/software-usage-info', {
        usage_info: [
          { license: real.code, software_usage_Info: [{ id: 'r' }] },
          { license: test.code, software_usage_Info: [{ id: 't' }] },
        ],
      });
      const codes = (res: Answer) => res.body.items.map((u: { codeId: string }) => u.codeId);
      const figures = await admin(server.url, 'GET', '/v1/admin/usage');
      assert.ok(codes(figures).includes(real.id));
      assert.ok(!codes(figures).includes(test.id));
      const all = await admin(server.url, 'GET', '/v1/admin/usage?includeTest=true');
      assert.ok(codes(all).includes(test.id));
    });

    it('lists unknown codes in check_fail_list and still stores the others', async () => {
      const code = await anIssuedCode();
      const res = await api('/v2/license/software-usage-info', {
        usage_info: [
          { license: 'PL-UNKNOWN', software_usage_Info: [{ id: 'x' }] },
          { license: code.code, software_usage_Info: [{ id: 'y' }] },
        ],
      });
      assertSuccess(res);
      assert.deepEqual(res.body.data.check_fail_list, [{ license: 'PL-UNKNOWN', error_code: '92020005', error_msg: 'license code not exist.' }]);
      assert.equal((await admin(server.url, 'GET', `/v1/admin/usage?code=${code.id}`)).body.items.length, 1);
    });

    it('answers 400 92020002 for an entry with both or neither of id and active_num, and for more than 100 entries', async () => {
      const code = await anIssuedCode();
      const report = (infos: unknown[]) => api('/v2/license/software-usage-info', { usage_info: [{ license: code.code, software_usage_Info: infos }] });
      assertError(await report([{ id: 'a', active_num: 1 }]), 400, '92020002');
      assertError(await report([{}]), 400, '92020002');
      assertError(await report([{ active_num: -1 }]), 400, '92020002');
      assertError(await report(Array.from({ length: 101 }, (_, i) => ({ id: `u${i}` }))), 400, '92020002');
      assertError(await api('/v2/license/software-usage-info', { usage_info: [] }), 400, '92020002');
    });

    it('refuses the admin usage listing without the admin token', async () => {
      assert.equal((await call(server.url, 'GET', '/v1/admin/usage')).status, 401);
      assert.equal((await call(server.url, 'GET', '/v1/admin/marketplace/instances')).status, 401);
    });
  });
});

forEachEngine('the license open API with AK/SK signing configured (§1.1)', (engine) => {
  let server: TestServer;
  const product = `aksk-${engine}`;
  let code: string;

  before(async () => {
    server = await startTestServer(engine, marketplaceEnv(product, { LICENSOR_OPENAPI_AKSK: 'AK-ONE:sk-one-secret,AK-TWO:sk-two-secret' }));
    await admin(server.url, 'POST', '/v1/admin/products', { name: product });
    code = (await admin(server.url, 'POST', '/v1/admin/codes', { product, seats: 1, days: 30 })).body.code.code;
  });
  after(async () => server?.close());

  async function signedCall(
    path: string,
    body: unknown,
    credentials = { accessKey: 'AK-ONE', secretKey: 'sk-one-secret' },
    at = server.clock.now(),
    tamper?: Buffer,
  ) {
    const bytes = Buffer.from(JSON.stringify(body));
    const url = new URL(server.url + BASE + path);
    const headers = { host: url.host, 'content-type': 'application/json' };
    const auth = signApigRequest({ method: 'POST', path: url.pathname, query: '', body: bytes, headers }, credentials, at);
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: tamper ?? bytes });
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text), text };
  }

  it('accepts a call signed with either configured AK/SK pair', async () => {
    const one = await signedCall('/v1/license/heartbeat', { license: code });
    assert.equal(one.body.error_code, '92020000', one.text);
    const two = await signedCall('/v1/license/heartbeat', { license: code }, { accessKey: 'AK-TWO', secretKey: 'sk-two-secret' });
    assert.equal(two.body.error_code, '92020000', two.text);
  });

  it('refuses with 403 92020001 an unsigned call, a wrong secret, an unknown access key, a changed body and a date 15 minutes off', async () => {
    const refusals = [
      await call(server.url, 'POST', `${BASE}/v1/license/heartbeat`, { license: code }),
      await signedCall('/v1/license/heartbeat', { license: code }, { accessKey: 'AK-ONE', secretKey: 'not-the-secret' }),
      await signedCall('/v1/license/heartbeat', { license: code }, { accessKey: 'AK-THREE', secretKey: 'sk-one-secret' }),
      await signedCall('/v1/license/heartbeat', { license: code }, undefined, undefined, Buffer.from(JSON.stringify({ license: code, x: 1 }))),
      await signedCall('/v1/license/heartbeat', { license: code }, undefined, server.clock.now() - 16 * MINUTE),
    ];
    for (const res of refusals) {
      assert.equal(res.status, 403, res.text);
      assert.equal(res.body.error_code, '92020001');
      assert.match(res.body.error_msg, /^Unauthorized/);
    }
  });

  it('signs every route: activate, its batch form and the usage report', async () => {
    assert.equal((await signedCall('/v1/license/activate', { license: code })).body.error_code, '92020000');
    assert.equal((await signedCall('/v2/license/activate', { license_list: [code] })).body.error_code, '92020000');
    assert.equal((await signedCall('/v2/license/heartbeat', { license_list: [code] })).body.error_code, '92020000');
    const usage = await signedCall('/v2/license/software-usage-info', { usage_info: [{ license: code, software_usage_Info: [{ id: 'a' }] }] });
    assert.equal(usage.body.error_code, '92020000', usage.text);
  });
});
