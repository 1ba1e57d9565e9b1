import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { owedCall } from '../src/domain/outbox';
import { chromiumAvailable, launchBrowser, type TestBrowser } from './support/browser';
import { HOUR, MINUTE } from './support/clock';
import { machine } from './support/factories';
import { ADMIN_TOKEN, startTestServer, type TestServer } from './support/harness';
import { admin, call } from './support/http';

/**
 * The admin dashboard in headless Chromium, against a real server. Screenshots go to a temporary
 * directory unless LICENSOR_SCREENSHOT_DIR names one (docs/screenshots refreshes the README's).
 */
const SHOTS = process.env.LICENSOR_SCREENSHOT_DIR ? resolve(process.env.LICENSOR_SCREENSHOT_DIR) : mkdtempSync(join(tmpdir(), 'licensor-screenshots-'));

const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

function requireChromium(this: Mocha.Context) {
  if (!chromiumAvailable()) this.skip();
}

describe('the admin dashboard', function () {
  describe('as served', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer('sqlite');
    });
    after(async () => server?.close());

    it("redirects /admin to /admin/ so the page's relative links resolve", async () => {
      const res = await fetch(`${server.url}/admin`, { redirect: 'manual' });
      assert.equal(res.status, 301);
      assert.equal(res.headers.get('location'), '/admin/');
    });

    it('sends the page and its scripts with a strict CSP, nosniff and no referrer', async () => {
      for (const path of ['/admin/', '/admin/app.js', '/admin/style.css']) {
        const res = await fetch(server.url + path);
        assert.equal(res.status, 200, path);
        const csp = res.headers.get('content-security-policy') ?? '';
        assert.match(csp, /default-src 'none'/);
        assert.match(csp, /script-src 'self'(;|$)/);
        assert.match(csp, /style-src 'self'(;|$)/);
        assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
        assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
      }
      assert.match((await fetch(`${server.url}/admin/app.js`)).headers.get('content-type') ?? '', /javascript/);
    });

    it('has no inline script or style in its HTML', async () => {
      const html = await (await fetch(`${server.url}/admin/`)).text();
      assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i);
      assert.doesNotMatch(html, /\sstyle=|<style|\son[a-z]+=/i);
    });

    it('answers unknown dashboard files with the usual JSON 404', async () => {
      const res = await call(server.url, 'GET', '/admin/nope.js');
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'route_not_found');
    });
  });

  describe('in a browser', () => {
    let server: TestServer;
    let browser: TestBrowser;
    let page: Page;
    const product = 'cad-suite';

    before(requireChromium);
    before(async () => {
      server = await startTestServer('sqlite');
      await admin(server.url, 'POST', '/v1/admin/products', { name: product });
      browser = await launchBrowser(server.url);
      page = await browser.newPage(LAPTOP);
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });
    afterEach(function () {
      if (!browser) return;
      // Every test leaves the browser clean: nothing fetched from elsewhere, no script error, no CSP violation.
      assert.deepEqual(browser.foreignRequests, [], 'the page asked for something off this server');
      assert.deepEqual(browser.pageErrors, [], 'the page logged errors');
    });

    async function signIn(token = ADMIN_TOKEN) {
      await page.goto(`${server.url}/admin`);
      await page.fill('#token', token);
      await page.click('button[type=submit]');
    }

    it('refuses a wrong token with a clear message and keeps nothing', async () => {
      await signIn('not-the-admin-token');
      await page.locator('.notice-error', { hasText: 'That admin token was refused' }).waitFor();
      assert.equal(await page.evaluate('sessionStorage.length'), 0);
      assert.match(page.url(), /#\/sign-in$/);
      // The console shows the refused request (401) as an error; that is the browser, not the page.
      browser.pageErrors.length = 0;
    });

    it('signs in with the admin token and shows the overview', async () => {
      await signIn();
      await page.locator('h1', { hasText: 'Heartbeats and seats' }).waitFor();
      await page.locator('#chart-summary', { hasText: 'heartbeats' }).waitFor();
      assert.equal(await page.locator('nav a[aria-current=page]').textContent(), 'Overview');
      assert.equal(await page.locator('nav .who').textContent(), 'bootstrap token · full');
    });

    let code = '';
    let activationId = '';
    let secret = '';

    it('issues a code after a confirmation step', async () => {
      await page.click('nav >> text=Codes');
      await page.click('text=Issue a code');
      await page.selectOption('#issue-product', product);
      await page.fill('#issue-seats', '2');
      await page.fill('#issue-days', '30');
      await page.fill('#issue-features', 'export, render');
      await page.fill('#issue-metadata', '{ "customer": "ACME Engineering" }');
      await page.click('text=Review and issue');
      const dialog = page.locator('dialog[open]');
      await dialog.locator('text=2 seats, valid for 30 days').waitFor();
      await dialog.locator('button[data-confirm]').click();
      await page.locator('.notice-ok', { hasText: 'Code issued' }).waitFor();
      code = (await page.locator('#code-value').textContent())!;
      assert.match(code, /^[0-9A-Z]{5}(-[0-9A-Z]{5}){4}$/);
      const stored = await admin(server.url, 'GET', `/v1/admin/codes/${code}`);
      assert.equal(stored.body.code.seats, 2);
      assert.deepEqual(stored.body.code.features, ['export', 'render']);
      assert.deepEqual(stored.body.code.metadata, { customer: 'ACME Engineering' });
      assert.equal(await page.locator('.facts .badge').first().textContent(), 'issued');
    });

    it('cancelling the confirmation issues nothing', async () => {
      const before = (await admin(server.url, 'GET', '/v1/admin/codes')).body.items.length;
      await page.goto(`${server.url}/admin/#/codes/new`);
      await page.click('text=Review and issue');
      await page.locator('dialog[open] button', { hasText: 'Cancel' }).click();
      assert.equal(await page.locator('dialog[open]').count(), 0);
      assert.equal((await admin(server.url, 'GET', '/v1/admin/codes')).body.items.length, before);
    });

    it("shows a client's activation with its fingerprint hint and environment", async () => {
      const res = await call(server.url, 'POST', '/v1/activations', {
        code,
        fingerprint: machine('workstation-1'),
        environment: { platform: 'linux', virtualization: 'kvm', hostname: 'ws-01' },
      });
      assert.equal(res.status, 201, res.text);
      activationId = res.body.activation.id;
      secret = res.body.activation.secret;
      await page.goto(`${server.url}/admin/#/codes/${code}`);
      const row = page.locator(`tr[data-activation="${activationId}"]`);
      await row.waitFor();
      assert.equal(await row.locator('.fingerprint-hint').textContent(), (machine('workstation-1')['hw.systemUuid'] as string).slice(0, 8));
      assert.match((await row.locator('.env').textContent())!, /virtualization: kvm/);
      assert.equal(await row.locator('.badge').first().textContent(), 'active');
      assert.equal(await page.locator('#seats-used').textContent(), '1 of 2');
      assert.equal(await page.locator('.facts .badge').first().textContent(), 'alive');
    });

    it("shows the client's heartbeat as the machine's last heartbeat", async () => {
      server.clock.advance(3 * MINUTE);
      const beatAt = new Date(server.clock.now()).toISOString();
      const res = await call(server.url, 'POST', '/v1/heartbeat', { activationId, secret, fingerprint: machine('workstation-1') });
      assert.equal(res.body.status, 'alive');
      await server.running.runtime.heartbeats.flush();
      await page.click('button:has-text("Refresh")');
      await page.locator(`tr[data-activation="${activationId}"] .last-heartbeat time[datetime="${beatAt}"]`).waitFor();
    });

    it("freezes the code after confirmation, and the client's next heartbeat reports it", async () => {
      await page.click('button[data-action=freeze]');
      await page.locator('dialog[open] button[data-confirm]').click();
      await page.locator('.notice-ok', { hasText: 'Code frozen' }).waitFor();
      assert.equal(await page.locator('.facts .badge').first().textContent(), 'frozen');
      await page.locator('#audit li[data-action="code.frozen"]').waitFor();
      assert.equal(await page.locator('button[data-action=freeze]').count(), 0);
      assert.equal(await page.locator('button[data-action=unfreeze]').count(), 1);

      const res = await call(server.url, 'POST', '/v1/heartbeat', { activationId, secret, fingerprint: machine('workstation-1') });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.status, 'frozen');
      assert.equal(res.body.token, null);
    });

    it('unfreezes and renews with confirmation', async () => {
      await page.click('button[data-action=unfreeze]');
      await page.locator('dialog[open] button[data-confirm]').click();
      await page.locator('.notice-ok', { hasText: 'Code unfrozen' }).waitFor();
      assert.equal(await page.locator('.facts .badge').first().textContent(), 'alive');
      const before = Date.parse((await admin(server.url, 'GET', `/v1/admin/codes/${code}`)).body.code.expiresAt);
      await page.fill('#renew-days', '10');
      await page.click('button[data-action=renew]');
      await page.locator('dialog[open] button[data-confirm]').click();
      await page.locator('.notice-ok', { hasText: 'renewed by 10 days' }).waitFor();
      const after = Date.parse((await admin(server.url, 'GET', `/v1/admin/codes/${code}`)).body.code.expiresAt);
      assert.equal(after - before, 10 * 24 * HOUR);
    });

    it('releases only after the confirmation that says it is final', async () => {
      await page.click('button[data-action=release]');
      await page.locator('dialog[open]', { hasText: 'This is final' }).waitFor();
      await page.locator('dialog[open] button[data-confirm]').click();
      await page.locator('.notice-ok', { hasText: 'Code released' }).waitFor();
      assert.equal(await page.locator('.facts .badge').first().textContent(), 'released');
      assert.equal(await page.locator('button[data-action]').count(), 0);
      const row = page.locator(`tr[data-activation="${activationId}"]`);
      assert.equal(await row.locator('.badge').first().textContent(), 'deactivated');
    });

    it('charts the heartbeats and the active seats the sweeper sampled', async () => {
      const other = await admin(server.url, 'POST', '/v1/admin/codes', { product, seats: 1, days: 30 });
      const res = await call(server.url, 'POST', '/v1/activations', { code: other.body.code.code, fingerprint: machine('workstation-2') });
      await call(server.url, 'POST', '/v1/heartbeat', {
        activationId: res.body.activation.id,
        secret: res.body.activation.secret,
        fingerprint: machine('workstation-2'),
      });
      await server.running.sweeper.runOnce();
      await page.goto(`${server.url}/admin/#/?product=${product}&range=1h`);
      // Three beats in all: the alive one, the frozen one, and this one; one seat held now.
      await page.locator('#chart-summary', { hasText: '3 heartbeats, peak 1 active seat' }).waitFor();
      assert.ok((await page.locator('svg.chart rect.bar').count()) >= 1);
      assert.equal(await page.locator('svg.chart circle.seats-dot').count(), 1);
    });

    it('lists codes with search, a status filter and paging', async () => {
      for (let i = 0; i < 26; i++) await admin(server.url, 'POST', '/v1/admin/codes', { product, seats: 1, days: 5 });
      await page.goto(`${server.url}/admin/#/codes`);
      await page.locator('text=Page 1').waitFor();
      assert.equal(await page.locator('tbody tr').count(), 25);
      await page.click('text=Older →');
      await page.locator('text=Page 2').waitFor();
      assert.equal(await page.locator('tbody tr').count(), 3);
      await page.click('text=← Newer');
      await page.locator('text=Page 1').waitFor();

      // The only row (the page's CSP forbids the string predicates of waitForFunction).
      await page.selectOption('#code-status', 'released');
      await page.locator(`tbody tr:only-child[data-code="${code}"]`).waitFor();

      await page.selectOption('#code-status', '');
      await page.fill('#code-search', code.slice(0, 11).toLowerCase());
      await page.click('button:has-text("Search")');
      await page.locator(`tbody tr:only-child[data-code="${code}"]`).waitFor();
      assert.equal(await page.inputValue('#code-search'), code.slice(0, 11).toLowerCase());
    });

    it('renders hostile strings from clients and metadata as text', async () => {
      const hostile = '<img src=x onerror="window.__pwned=1">';
      const issued = await admin(server.url, 'POST', '/v1/admin/codes', {
        product,
        seats: 1,
        days: 5,
        features: ['<b>bold</b>'],
        metadata: { customer: '<script>window.__pwned=2</script>' },
      });
      const target = issued.body.code.code as string;
      await call(server.url, 'POST', '/v1/activations', {
        code: target,
        fingerprint: machine('hostile'),
        environment: { hostname: hostile, [hostile]: 'key too' },
      });
      await page.goto(`${server.url}/admin/#/codes/${target}`);
      await page.locator('#machines .env-value', { hasText: hostile }).waitFor();
      assert.equal(await page.locator('#machines .env-key', { hasText: hostile }).count(), 1);
      assert.match((await page.locator('.facts pre.json').textContent())!, /<script>window.__pwned=2<\/script>/);
      assert.equal(await page.locator('.facts .chip').first().textContent(), '<b>bold</b>');
      assert.equal(await page.locator('main img, main script, main b').count(), 0);
      assert.equal(await page.evaluate('typeof window.__pwned'), 'undefined');
    });

    it('shows an activation whose heartbeats came from two machines in turn as a clone whose beats are refused', async () => {
      const issued = await admin(server.url, 'POST', '/v1/admin/codes', { product, seats: 1, days: 5 });
      const target = issued.body.code.code as string;
      const activated = await call(server.url, 'POST', '/v1/activations', { code: target, fingerprint: machine('twin-a') });
      const { id, secret } = activated.body.activation;
      const beat = (name: string) => call(server.url, 'POST', '/v1/heartbeat', { activationId: id, secret, fingerprint: machine(name) });
      server.clock.advance(MINUTE);
      assert.equal((await beat('twin-b')).body.error.code, 'fingerprint_mismatch');
      server.clock.advance(MINUTE);
      assert.equal((await beat('twin-a')).body.error.code, 'activation_cloned');
      await page.goto(`${server.url}/admin/#/codes/${target}`);
      const cell = page.locator(`tr[data-activation="${id}"] .clone-cell`);
      await cell.locator('.badge', { hasText: 'clone: beats refused' }).waitFor();
      assert.equal(await cell.locator('time').getAttribute('datetime'), new Date(server.clock.now()).toISOString());
      await page.locator('#audit li[data-action="activation.clone_suspected"]').waitFor();
    });

    it('shows the usage reports the software sent for a code', async () => {
      const shown = (await admin(server.url, 'GET', `/v1/admin/codes/${code}`)).body.code;
      await server.running.runtime.ctx.repo.usage.save({
        codeId: shown.id,
        day: '2026-01-02',
        ids: ['u1', 'u2', 'u3'],
        activeNum: 7,
        reportedAt: server.clock.now(),
      });
      await page.goto(`${server.url}/admin/#/codes/${code}`);
      const row = page.locator('#usage tbody tr');
      await row.waitFor();
      assert.deepEqual((await row.locator('td').allTextContents()).slice(0, 3), ['2026-01-02', '7', '3']);
      assert.equal(await row.locator('td time').getAttribute('datetime'), new Date(server.clock.now()).toISOString());
    });

    it('shows what licensor owes the marketplace, and tries a failed call again after confirmation', async () => {
      const { ctx } = server.running.runtime;
      const now = server.clock.now();
      const failed = {
        ...owedCall(ctx, now, { kind: 'marketplace.order-query', target: 'marketplace:orders:i-1', payload: { orderId: 'O-1' } }),
        status: 'failed' as const,
        attempts: 1,
        lastError: 'order/query: HTTP 400, MKT.0101 Invalid parameter',
      };
      await ctx.repo.outbox.enqueue(failed);
      await page.click('nav >> text=Marketplace');
      await page.locator('h1', { hasText: 'Calls licensor owes: the marketplace and webhooks' }).waitFor();
      const summary = page.locator('#outbox-summary tbody tr', { hasText: 'marketplace.order-query' });
      assert.deepEqual((await summary.locator('td').allTextContents()).slice(0, 3), ['marketplace.order-query', 'failed', '1']);
      const row = page.locator(`#outbox-entries tr[data-entry="${failed.id}"]`);
      await row.locator('text=MKT.0101 Invalid parameter').waitFor();
      await row.locator('button', { hasText: 'Try again' }).click();
      await page.locator('dialog[open] button[data-confirm]').click();
      // The page moves on to the calls owed, the retried one among them.
      await page.waitForURL(/#\/marketplace\?status=pending$/);
      await page.locator(`#outbox-entries tr[data-entry="${failed.id}"]`).waitFor();
      assert.equal(await page.locator('#outbox-status').inputValue(), 'pending');
      assert.equal((await admin(server.url, 'GET', `/v1/admin/outbox/${failed.id}`)).body.entry.status, 'pending');
    });

    it('publishes a required version, and the next heartbeat carries the notice', async () => {
      await page.goto(`${server.url}/admin/#/products`);
      await page.selectOption('#publish-product', product);
      await page.fill('#publish-version', '2.4.0');
      await page.check('#publish-required');
      await page.click('text=Publish version');
      await page.locator('.notice', { hasText: 'Version 2.4.0 published' }).waitFor();
      const row = page.locator('tr', { hasText: product });
      await row.locator('td', { hasText: '2.4.0' }).waitFor();
      const shown = (await admin(server.url, 'GET', `/v1/admin/products/${product}`)).body.product;
      assert.equal(shown.latestVersion, '2.4.0');
      assert.equal(shown.minimumVersion, '2.4.0');
      const issued = await admin(server.url, 'POST', '/v1/admin/codes', { product, seats: 1, days: 30 });
      const laptop = await call(server.url, 'POST', '/v1/activations', { code: issued.body.code.code, fingerprint: machine('laptop-7') });
      const beat = await call(server.url, 'POST', '/v1/heartbeat', {
        activationId: laptop.body.activation.id,
        secret: laptop.body.activation.secret,
        fingerprint: machine('laptop-7'),
      });
      assert.equal(beat.status, 200, beat.text);
      assert.equal(beat.body.update.latestVersion, '2.4.0');
      assert.equal(beat.body.update.minimumVersion, '2.4.0');
    });

    it('changes a product policy after a review of exactly what changes, and shows a refusal with its code', async () => {
      await page.goto(`${server.url}/admin/#/products`);
      await page.selectOption('#policy-product', product);
      assert.equal(await page.inputValue('#policy-leaseSeconds'), String(7 * 86_400));
      await page.fill('#policy-leaseSeconds', '86400');
      await page.fill('#policy-heartbeatIntervalSeconds', '3600');
      await page.click('text=Review and change');
      const dialog = page.locator('dialog[open]');
      await dialog.locator(`text=leaseSeconds: ${7 * 86_400} → 86400`).waitFor();
      assert.equal(await dialog.locator('p', { hasText: '→' }).count(), 2, 'only what changes is listed');
      await dialog.locator('button[data-confirm]').click();
      await page.locator('.notice-ok', { hasText: `Policy of ${product} changed` }).waitFor();
      const shown = (await admin(server.url, 'GET', `/v1/admin/products/${product}`)).body.product;
      assert.deepEqual([shown.leaseSeconds, shown.heartbeatIntervalSeconds], [86_400, 3600]);
      const [event] = (await admin(server.url, 'GET', `/v1/admin/audit?entity=${shown.id}&action=product.policy_changed`)).body.items;
      assert.deepEqual(event.after, { leaseSeconds: 86_400, heartbeatIntervalSeconds: 3600 });

      await page.selectOption('#policy-product', product);
      await page.selectOption('#policy-containers', 'instance');
      await page.click('text=Review and change');
      await page.locator('dialog[open] button[data-confirm]').click();
      await page.locator('.notice-error', { hasText: 'containers_need_floating' }).waitFor();
      assert.equal((await admin(server.url, 'GET', `/v1/admin/products/${product}`)).body.product.containers, 'refuse');
      // The refused request is in the console as a 400; that is the browser, not the page.
      browser.pageErrors.length = 0;
    });

    /** Signs out of whatever session the page holds and in with a named token made now. */
    async function signInAs(body: Record<string, unknown>): Promise<void> {
      const made = await admin(server.url, 'POST', '/v1/admin/tokens', body);
      assert.equal(made.status, 201, made.text);
      if (await page.locator('button.sign-out').count()) await page.click('button.sign-out');
      await signIn(made.body.secret);
      await page.locator('nav .who').waitFor();
    }

    it('shows a read token who is signed in and hides every change it may not make', async () => {
      const shown = (await admin(server.url, 'POST', '/v1/admin/codes', { product, seats: 1, days: 30 })).body.code.code;
      const { ctx } = server.running.runtime;
      const failed = {
        ...owedCall(ctx, server.clock.now(), { kind: 'marketplace.order-query', target: 'marketplace:orders:i-2', payload: { orderId: 'O-2' } }),
        status: 'failed' as const,
        attempts: 1,
        lastError: 'refused',
      };
      await ctx.repo.outbox.enqueue(failed);
      await signInAs({ name: 'auditor', scope: 'read' });
      assert.equal(await page.locator('nav .who').textContent(), 'auditor · read');

      await page.click('nav >> text=Codes');
      await page.locator(`tr[data-code="${shown}"]`).waitFor();
      assert.equal(await page.locator('text=Issue a code').count(), 0);

      await page.goto(`${server.url}/admin/#/codes/${shown}`);
      await page.locator('[data-no-actions]').waitFor();
      assert.equal(await page.locator('button[data-action]').count(), 0);

      await page.goto(`${server.url}/admin/#/products`);
      await page.locator('tr', { hasText: product }).waitFor();
      assert.equal(await page.locator('#product-name, #publish-product, #policy-product').count(), 0);

      await page.goto(`${server.url}/admin/#/marketplace?status=failed`);
      await page.locator(`#outbox-entries tr[data-entry="${failed.id}"]`).waitFor();
      assert.equal(await page.locator('#outbox-entries button', { hasText: 'Try again' }).count(), 0);

      await page.goto(`${server.url}/admin/#/codes/new`);
      await page.locator('.notice', { hasText: 'may not issue codes' }).waitFor();
    });

    it('lets a codes token renew and issue for its products only, without freeze or release', async () => {
      await admin(server.url, 'POST', '/v1/admin/products', { name: 'other-suite' });
      const ours = (await admin(server.url, 'POST', '/v1/admin/codes', { product, seats: 1, days: 30 })).body.code.code;
      const theirs = (await admin(server.url, 'POST', '/v1/admin/codes', { product: 'other-suite', seats: 1, days: 30 })).body.code.code;
      await signInAs({ name: 'cad-sales', scope: 'codes', products: [product] });
      assert.equal(await page.locator('nav .who').textContent(), 'cad-sales · codes');

      await page.goto(`${server.url}/admin/#/codes/${ours}`);
      await page.locator('button[data-action=renew]').waitFor();
      assert.equal(await page.locator('button[data-action=freeze], button[data-action=release]').count(), 0);
      await page.click('button[data-action=renew]');
      await page.locator('dialog[open] button[data-confirm]').click();
      await page.locator('.notice-ok', { hasText: 'Code renewed' }).waitFor();
      const events = (await admin(server.url, 'GET', `/v1/admin/audit?code=${ours}&action=code.renewed`)).body.items;
      assert.deepEqual(
        events.map((e: any) => e.actor),
        ['token:cad-sales'],
      );

      await page.goto(`${server.url}/admin/#/codes/${theirs}`);
      await page.locator('[data-no-actions]').waitFor();

      await page.goto(`${server.url}/admin/#/codes/new`);
      await page.locator('#issue-product').waitFor();
      assert.deepEqual(await page.locator('#issue-product option').allTextContents(), [product]);
    });

    it('sends an operator whose token stops working back to sign in', async () => {
      await page.evaluate("sessionStorage.setItem('licensor.adminToken', 'revoked-token-0123456789')");
      await page.goto(`${server.url}/admin/#/products`);
      await page.locator('.notice', { hasText: 'refused the admin token' }).waitFor();
      assert.equal(await page.evaluate('sessionStorage.length'), 0);
      browser.pageErrors.length = 0;
    });
  });

  describe('screenshots', () => {
    let server: TestServer;
    let browser: TestBrowser;
    let focus = '';

    before(requireChromium);
    before(async () => {
      mkdirSync(SHOTS, { recursive: true });
      server = await startTestServer('sqlite');
      focus = await seedRealisticData(server);
      browser = await launchBrowser(server.url);
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });

    async function shoot(name: string, path: string, viewport: { width: number; height: number }, ready: string) {
      const page = await browser.newPage(viewport);
      await page.goto(`${server.url}/admin/`);
      await page.evaluate(`sessionStorage.setItem('licensor.adminToken', ${JSON.stringify(ADMIN_TOKEN)})`);
      await page.goto(`${server.url}/admin/${path}`);
      await page.locator(ready).first().waitFor();
      await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
      await page.close();
    }

    it('of the sign-in page', async () => {
      const page = await browser.newPage(LAPTOP);
      await page.goto(`${server.url}/admin/`);
      await page.locator('#token').waitFor();
      await page.screenshot({ path: join(SHOTS, 'sign-in.png') });
      await page.close();
    });

    it('of the overview chart, the codes list and a code on a laptop', async () => {
      await shoot('overview', '#/?range=24h', LAPTOP, 'svg.chart');
      await shoot('codes', '#/codes', LAPTOP, 'tbody tr');
      await shoot('code', `#/codes/${focus}`, LAPTOP, '#machines tbody tr');
    });

    it('of the codes list, a code and the chart at phone width', async () => {
      await shoot('phone-codes', '#/codes', PHONE, 'tbody tr');
      await shoot('phone-code', `#/codes/${focus}`, PHONE, '#machines tbody tr');
      await shoot('phone-overview', '#/?range=24h', PHONE, 'svg.chart');
      assert.deepEqual(browser.foreignRequests, []);
      assert.deepEqual(browser.pageErrors, []);
    });
  });
});

/**
 * Six hours of a small fleet, driven through the real API with the test clock: codes in every
 * state, machines that beat every ten minutes, one that stops, the sweeper running throughout.
 * Returns the code the screenshots focus on.
 */
async function seedRealisticData(server: TestServer): Promise<string> {
  const start = Date.now() - 6 * HOUR;
  server.clock.t = start;
  const issue = async (product: string, seats: number, days: number, metadata: Record<string, unknown> = {}, features: string[] = []) =>
    (await admin(server.url, 'POST', '/v1/admin/codes', { product, seats, days, metadata, features })).body.code.code as string;
  await admin(server.url, 'POST', '/v1/admin/products', { name: 'cad-suite' });
  await admin(server.url, 'POST', '/v1/admin/products', { name: 'render-farm', seatMode: 'floating', leaseSeconds: 1200 });

  const focus = await issue('cad-suite', 5, 365, { customer: 'Northwind Engineering', order: 'PO-2291' }, ['export', 'cloud-render']);
  const farm = await issue('render-farm', 4, 90, { customer: 'Blue Yonder Studios' });
  for (const [i, customer] of ['Contoso Ltd', 'Fabrikam', 'Tailspin Toys', 'Wide World Importers', 'Adventure Works'].entries()) {
    const c = await issue(i % 2 ? 'render-farm' : 'cad-suite', 1 + i, 30 * (i + 1), { customer });
    if (i === 1) await admin(server.url, 'POST', `/v1/admin/codes/${c}/freeze`);
    if (i === 3) await admin(server.url, 'POST', `/v1/admin/codes/${c}/release`);
  }
  await admin(server.url, 'POST', '/v1/admin/codes', {
    product: 'cad-suite',
    seats: 1,
    expiresAt: new Date(start + 2 * HOUR).toISOString(),
    metadata: { customer: 'Trial: Litware' },
  });

  const machines: Array<{ id: string; secret: string; name: string; stopsAt: number }> = [];
  const activate = async (code: string, name: string, environment: Record<string, unknown>, stopsAt = Infinity) => {
    const res = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine(name), environment });
    machines.push({ id: res.body.activation.id, secret: res.body.activation.secret, name, stopsAt });
  };
  await activate(focus, 'nw-ws-01', { platform: 'linux', arch: 'x64', virtualization: 'none', hostname: 'nw-ws-01' });
  await activate(focus, 'nw-ws-02', { platform: 'win32', arch: 'x64', virtualization: 'hyperv', hostname: 'NW-CAD-02' });
  for (let i = 0; i < 4; i++) await activate(farm, `farm-${i}`, { platform: 'linux', container: 'docker', node: `render-${i}` }, i === 3 ? 3 * HOUR : Infinity);

  for (let step = 1; step <= 36; step++) {
    server.clock.advance(10 * MINUTE);
    if (step === 12) await activate(focus, 'nw-laptop', { platform: 'darwin', arch: 'arm64', virtualization: 'none', hostname: 'jdoe-mbp' });
    for (const m of machines) {
      if (server.clock.now() - start > m.stopsAt) continue;
      await call(server.url, 'POST', '/v1/heartbeat', { activationId: m.id, secret: m.secret, fingerprint: machine(m.name) });
    }
    await server.running.sweeper.runOnce();
  }
  return focus;
}
