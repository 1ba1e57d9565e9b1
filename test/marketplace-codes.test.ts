import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DAY } from './support/clock';
import { cliEnv, runCli } from './support/cli';
import { forEachEngine } from './support/databases';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call } from './support/http';
import { compact, marketplaceEnv, mkpId, produce } from './support/marketplace';

const OPEN_API = '/api/mkp-openapi-public/global';

/** A License 2.0 code as the marketplace makes them: `PL…`, which licensor never issued. */
const marketplaceCode = () => `PL${mkpId('').toUpperCase()}`;

forEachEngine('codes the marketplace made', (engine) => {
  let server: TestServer;
  const product = `made-${engine}`;

  before(async () => {
    server = await startTestServer(engine, marketplaceEnv(product, { LICENSOR_MARKETPLACE_SEATS: '3', LICENSOR_OPENAPI_ALLOW_UNSIGNED: 'true' }));
    await admin(server.url, 'POST', '/v1/admin/products', { name: product });
  });
  after(async () => server?.close());

  const send = (payload: Record<string, unknown>) => produce(server.url, payload, { now: server.clock.now() });
  const codeOf = async (code: string) => admin(server.url, 'GET', `/v1/admin/codes/${encodeURIComponent(code)}`);
  const trail = async (codeId: string) =>
    ((await admin(server.url, 'GET', `/v1/admin/audit?code=${codeId}`)).body.items as Array<{ action: string; actor: string }>).map((e) => e.action).reverse();
  const openApi = (route: string, body: unknown) => call(server.url, 'POST', `${OPEN_API}${route}`, body);
  const renewal = (license: string, expireTime: number, extra: Record<string, unknown> = {}) =>
    send({ activity: 'refreshLicenseCode', scene: 'RENEWAL', orderId: mkpId('R'), orderLineId: 'R-1', license, expireTime: compact(expireTime), ...extra });

  describe('adopted by a callback', () => {
    it('adopts one from refreshLicenseCode: issued under the configured product with the configured seats and the expiry the callback carries', async () => {
      const license = marketplaceCode();
      const until = Date.UTC(2031, 2, 1);
      assert.equal((await renewal(license, until)).body.resultCode, '000000');
      const code = (await codeOf(license)).body.code;
      assert.equal(code.code, license);
      assert.equal(code.product, product);
      assert.equal(code.seats, 3);
      assert.equal(code.status, 'issued');
      assert.equal(code.expiresAt, new Date(until).toISOString());
      assert.equal(code.test, false);
      assert.deepEqual(await trail(code.id), ['code.adopted']);

      const later = Date.UTC(2032, 2, 1);
      assert.equal((await renewal(license, later)).body.resultCode, '000000');
      assert.equal((await codeOf(license)).body.code.expiresAt, new Date(later).toISOString());
      assert.deepEqual(await trail(code.id), ['code.adopted', 'code.renewed']);
    });

    it('adopts one from updateLicenseCodeStatus with the configured validity and applies the freeze; the unfreeze brings it back', async () => {
      const license = marketplaceCode();
      assert.equal((await send({ activity: 'updateLicenseCodeStatus', license, status: 'FREEZE' })).body.resultCode, '000000');
      const code = (await codeOf(license)).body.code;
      assert.equal(code.status, 'frozen');
      assert.equal(Date.parse(code.expiresAt), server.clock.now() + 30 * DAY);
      assert.equal((await send({ activity: 'updateLicenseCodeStatus', license, status: 'UNFREEZE' })).body.resultCode, '000000');
      assert.equal((await codeOf(license)).body.code.status, 'issued');
      assert.deepEqual(await trail(code.id), ['code.adopted', 'code.frozen', 'code.unfrozen']);
    });

    it('adopts one from releaseLicenseCode and releases it: the open API then answers RELEASED', async () => {
      const license = marketplaceCode();
      assert.equal((await send({ activity: 'releaseLicenseCode', license, orderId: mkpId('UNSUB') })).body.resultCode, '000000');
      assert.equal((await send({ activity: 'releaseLicenseCode', license })).body.resultCode, '000000');
      const code = (await codeOf(license)).body.code;
      assert.equal(code.status, 'released');
      assert.deepEqual(await trail(code.id), ['code.adopted', 'code.released']);
      const query = await openApi('/v1/license/heartbeat', { license });
      assert.equal(query.body.error_code, '92020000', query.text);
      assert.equal(query.body.data.status, 'RELEASED');
    });

    it('adopts a code once when 20 callbacks for it arrive at once', async () => {
      const license = marketplaceCode();
      const until = server.clock.now() + 90 * DAY;
      const orderId = mkpId('R');
      const answers = await Promise.all(Array.from({ length: 20 }, () => renewal(license, until, { orderId })));
      for (const answer of answers) assert.equal(answer.body.resultCode, '000000', answer.bytes.toString());
      const code = (await codeOf(license)).body.code;
      assert.deepEqual(await trail(code.id), ['code.adopted']);
      const listed = await admin(server.url, 'GET', `/v1/admin/codes?product=${product}&limit=500`);
      assert.equal(listed.body.items.filter((c: { code: string }) => c.code === license).length, 1);
    });

    it('marks a code adopted from a testFlag=1 callback (a Seller Center test code) as test data', async () => {
      const license = marketplaceCode();
      assert.equal((await send({ activity: 'updateLicenseCodeStatus', license, status: 'UNFREEZE', testFlag: '1' })).body.resultCode, '000000');
      const code = (await codeOf(license)).body.code;
      assert.equal(code.test, true);
      const events = (await admin(server.url, 'GET', `/v1/admin/audit?code=${code.id}`)).body.items;
      assert.deepEqual(
        events.map((e: { actor: string }) => e.actor),
        ['marketplace-test'],
      );
    });

    it('lets the open API activate and query an adopted code like any other', async () => {
      const license = marketplaceCode();
      const until = Date.UTC(2031, 5, 1, 12);
      await renewal(license, until);
      const activated = await openApi('/v1/license/activate', { license });
      assert.equal(activated.body.error_code, '92020000', activated.text);
      const info = JSON.parse(activated.body.data.license_code_info);
      assert.deepEqual(info, { status: 'ALIVE', expire_time: compact(until), product_id: product, order_id: '', amount: 3 });
      assert.equal((await codeOf(license)).body.code.status, 'alive');
      const query = await openApi('/v2/license/heartbeat', { license_list: [license, marketplaceCode()] });
      assert.deepEqual(
        query.body.data.license_info_list.map((e: { license_code: string; error_code: string }) => [e.license_code, e.error_code]),
        [
          [license, '92020000'],
          [query.body.data.license_info_list[1].license_code, '92020005'],
        ],
      );
    });

    it('takes a code of 64 characters, the longest the protocol allows, and refuses a longer one with 000002', async () => {
      const license = `PL${mkpId('')}`.padEnd(64, 'X');
      assert.equal(license.length, 64);
      assert.equal((await send({ activity: 'updateLicenseCodeStatus', license, status: 'FREEZE' })).body.resultCode, '000000');
      assert.equal((await codeOf(license)).body.code.code, license);
      assert.equal((await send({ activity: 'updateLicenseCodeStatus', license: `${license}9`, status: 'FREEZE' })).body.resultCode, '000002');
    });

    it('matches a code the marketplace made exactly as it wrote it', async () => {
      const license = `PLab${mkpId('')}`;
      await renewal(license, server.clock.now() + 30 * DAY);
      assert.equal((await openApi('/v1/license/heartbeat', { license })).body.error_code, '92020000');
      assert.equal((await openApi('/v1/license/heartbeat', { license: license.toUpperCase() })).body.error_code, '92020005');
      assert.equal((await openApi('/v1/license/heartbeat', { license: ` ${license} ` })).body.error_code, '92020000');
    });
  });

  describe('imported in a batch', () => {
    let n = 0;
    const file = (text: string) => {
      const path = join(server.db.dataDir, `import-${++n}.csv`);
      writeFileSync(path, text);
      return path;
    };
    const importFile = (path: string, ...options: string[]) =>
      runCli(['codes', 'import', path, '--product', product, ...options], cliEnv(server.db, { LICENSOR_MARKETPLACE_SEATS: '3' }));

    it('imports a file of codes all at once, and the open API answers for them', async () => {
      const [a, b, c] = [marketplaceCode(), marketplaceCode(), marketplaceCode()];
      const run = await importFile(
        file(`code,expires,seats\n# from Seller Center\n${a},20310101000000\n\n${b},2031-06-01,5\n${c},2031-07-01T08:00:00+08:00\n`),
        '--json',
      );
      assert.equal(run.code, 0, run.err);
      assert.deepEqual(run.json, {
        product,
        imported: [
          { line: 3, code: a },
          { line: 5, code: b },
          { line: 6, code: c },
        ],
        existing: [],
      });
      const codes = await Promise.all([a, b, c].map(async (code) => (await codeOf(code)).body.code));
      assert.deepEqual(
        codes.map((x) => [x.seats, x.expiresAt, x.status]),
        [
          [3, '2031-01-01T00:00:00.000Z', 'issued'],
          [5, '2031-06-01T00:00:00.000Z', 'issued'],
          [3, '2031-07-01T00:00:00.000Z', 'issued'],
        ],
      );
      assert.deepEqual(await trail(codes[0].id), ['code.imported']);
      assert.equal((await openApi('/v1/license/activate', { license: b })).body.error_code, '92020000');
      // The operator finds one by the start of it, as the marketplace wrote it.
      const found = await admin(server.url, 'GET', `/v1/admin/codes?product=${product}&q=${c.slice(0, -2)}`);
      assert.deepEqual(
        found.body.items.map((x: { code: string }) => x.code),
        [c],
      );
    });

    it('changes nothing when the same file is imported again, and says which codes it knew with other facts', async () => {
      const [a, b] = [marketplaceCode(), marketplaceCode()];
      const first = file(`${a},20310101000000\n${b},20310101000000,2\n`);
      assert.equal((await importFile(first)).code, 0);
      const again = await importFile(first, '--json');
      assert.deepEqual(again.json.imported, []);
      assert.deepEqual(again.json.existing, [
        { line: 1, code: a, differs: [] },
        { line: 2, code: b, differs: [] },
      ]);
      const changed = await importFile(file(`${a},20320101000000\n${b},20310101000000,4\n`));
      assert.equal(changed.code, 0, changed.err);
      assert.match(changed.out, /imported 0 code\(s\).*2 known already/);
      assert.match(changed.out, new RegExp(`line 1: ${a} is known with another expiry`));
      assert.match(changed.out, new RegExp(`line 2: ${b} is known with another seats`));
      assert.equal((await codeOf(a)).body.code.expiresAt, '2031-01-01T00:00:00.000Z');
    });

    it('refuses a file with malformed rows, naming every bad line, and imports none of its rows', async () => {
      const [good, other] = [marketplaceCode(), marketplaceCode()];
      const run = await importFile(
        file(
          `code,expires\n${good},20310101000000\n${other},20310230000000\n${other}\n, 20310101000000\n${good},20310101000000\n${marketplaceCode()},20310101000000,0\n`,
        ),
      );
      assert.equal(run.code, 2, run.out);
      assert.match(run.err, /nothing was imported: 5 row\(s\)/);
      for (const line of [
        'line 3: "20310230000000" is not an expiry',
        'line 4: expected code,expiry[,seats]',
        'line 5: the code must be',
        'line 6: the code of line 2 again',
        'line 7: seats must be',
      ]) {
        assert.ok(run.err.includes(line), `${line}\n${run.err}`);
      }
      assert.equal((await codeOf(good)).status, 404);
    });

    it('takes a file through the admin API too, beyond the 64 kB other admin bodies are held to', async function () {
      this.timeout(120_000);
      const codes = Array.from({ length: 3000 }, () => marketplaceCode());
      const text = codes.map((c) => `${c},20311231235959`).join('\n');
      assert.ok(text.length > 64 * 1024);
      const imported = await admin(server.url, 'POST', '/v1/admin/marketplace/codes/import', { file: text, product, test: true });
      assert.equal(imported.status, 200, imported.text);
      assert.equal(imported.body.imported.length, 3000);
      assert.equal((await codeOf(codes[2999]!)).body.code.test, true);
      const refused = await admin(server.url, 'POST', '/v1/admin/marketplace/codes/import', { file: `${marketplaceCode()},tomorrow\n` });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error.code, 'import_rejected');
      assert.deepEqual(refused.body.error.details.problems, [
        { line: 1, message: '"tomorrow" is not an expiry: yyyyMMddHHmmss (UTC), YYYY-MM-DD or an ISO 8601 time' },
      ]);
    });
  });
});

forEachEngine('codes the marketplace made, while the product they are adopted under is missing', (engine) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(engine, marketplaceEnv(`made-missing-${engine}`));
  });
  after(async () => server?.close());

  it('answers 000005 naming the product to create, and adopts nothing', async () => {
    const license = marketplaceCode();
    const answer = await produce(server.url, { activity: 'updateLicenseCodeStatus', license, status: 'FREEZE' }, { now: server.clock.now() });
    assert.equal(answer.body.resultCode, '000005', answer.bytes.toString());
    assert.match(answer.body.resultMsg, /^marketplace_product_missing: .*licensor products create --name made-missing-/);
    assert.equal((await admin(server.url, 'GET', `/v1/admin/codes/${license}`)).status, 404);
  });
});
