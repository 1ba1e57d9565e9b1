import { strict as assert } from 'node:assert';
import type { Page } from 'playwright-core';
import { chromiumAvailable, launchBrowser, type TestBrowser } from './support/browser';
import { ADMIN_TOKEN, startTestServer, type TestServer } from './support/harness';
import { admin } from './support/http';
import { receiverVerifies, startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver';

/** The dashboard's Webhooks pages in headless Chromium, against a real server and a real receiver on loopback. */
describe('the admin dashboard’s webhooks', function () {
  let server: TestServer;
  let receiver: WebhookReceiver;
  let browser: TestBrowser;
  let page: Page;

  before(function () {
    if (!chromiumAvailable()) this.skip();
  });
  before(async () => {
    server = await startTestServer('sqlite', { LICENSOR_WEBHOOKS_ALLOW_PRIVATE: 'true', LICENSOR_OUTBOX_POLL_MS: '60000' });
    receiver = await startWebhookReceiver();
    await admin(server.url, 'POST', '/v1/admin/products', { name: 'hooked' });
    browser = await launchBrowser(server.url);
    page = await browser.newPage({ width: 1280, height: 800 });
    await page.goto(`${server.url}/admin`);
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('button[type=submit]');
    await page.locator('h1', { hasText: 'Heartbeats and seats' }).waitFor();
  });
  after(async () => {
    await browser?.close();
    await receiver?.close();
    await server?.close();
  });
  afterEach(function () {
    if (!browser) return;
    assert.deepEqual(browser.foreignRequests, [], 'the page asked for something off this server');
    assert.deepEqual(browser.pageErrors, [], 'the page logged errors');
  });

  it('registers an endpoint and shows its secret once, then its deliveries with the receiver’s answers, and sends one again', async () => {
    await page.click('nav >> text=Webhooks');
    await page.locator('h1', { hasText: 'Webhooks' }).waitFor();
    await page.fill('#webhook-url', receiver.url);
    await page.fill('#webhook-events', 'code.issued');
    await page.click('#webhook-add button[type=submit]');
    const secret = (await page.locator('#webhook-secret').textContent())!;
    assert.match(secret, /^whsec_/);
    const [endpoint] = (await admin(server.url, 'GET', '/v1/admin/webhooks')).body.items;

    receiver.script.push(500);
    await admin(server.url, 'POST', '/v1/admin/codes', { product: 'hooked', seats: 1, days: 30 });
    await server.running.outbox.drain();
    await page.click(`#webhook-endpoints tr[data-endpoint="${endpoint.id}"] a`);
    await page.locator('#webhook-deliveries tbody tr').first().waitFor();
    const row = page.locator('#webhook-deliveries tbody tr').first();
    assert.deepEqual((await row.locator('td').allTextContents()).slice(0, 3), ['code.issued', 'pending', '1']);
    await row.locator('text=HTTP 500 · receiver says 500').waitFor();
    await page.locator('#webhook-endpoint .notice-error', { hasText: '1 failed deliveries in a row' }).waitFor();
    assert.equal(await row.locator('button', { hasText: 'Send again' }).count(), 0, 'a pending delivery is on its way');

    server.clock.advance(60_000);
    await server.running.outbox.drain();
    await page.reload();
    const delivered = page.locator('#webhook-deliveries tbody tr').first();
    await delivered.locator('text=HTTP 200 · thanks').waitFor();
    await delivered.locator('button', { hasText: 'Send again' }).click();
    await page.locator('dialog[open] button[data-confirm]').click();
    await page.locator('#webhook-deliveries tbody tr').nth(1).waitFor();
    assert.equal(await page.locator('#webhook-deliveries tbody tr').first().locator('td').nth(1).textContent(), 'pending');
    await server.running.outbox.drain();
    assert.equal(receiver.received.length, 3);
    assert.equal(receiver.received[1]!.body, receiver.received[2]!.body);
    assert.ok(receiverVerifies(secret, receiver.received[2]!, Math.floor(server.clock.now() / 1000)));
  });

  it('switches an endpoint off and on, showing why it is off, and removes it', async () => {
    const [endpoint] = (await admin(server.url, 'GET', '/v1/admin/webhooks')).body.items;
    await page.goto(`${server.url}/admin/#/webhooks/${endpoint.id}`);
    await page.click('text=Switch off');
    await page.locator('dialog[open] button[data-confirm]').click();
    await page.locator('#webhook-endpoint .notice-error', { hasText: 'Switched off: switched off by admin-api' }).waitFor();
    assert.equal((await admin(server.url, 'GET', `/v1/admin/webhooks/${endpoint.id}`)).body.endpoint.enabled, false);
    await page.click('text=Switch on');
    await page.locator('dialog[open] button[data-confirm]').click();
    await page.locator('button', { hasText: 'Switch off' }).waitFor();
    await page.click('button.danger >> text=Remove');
    await page.locator('dialog[open] button[data-confirm]').click();
    await page.locator('#webhook-endpoints', { hasText: 'No endpoint yet.' }).waitFor();
  });
});
