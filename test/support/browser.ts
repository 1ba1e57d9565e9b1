import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium package; CI installs it (apt-get install chromium). */
export const CHROMIUM = process.env.LICENSOR_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** CI must run the browser suite for real; locally a missing Chromium is said loudly instead. */
const CHROMIUM_REQUIRED = process.env.CI === 'true' || process.env.LICENSOR_REQUIRE_CHROMIUM === '1';

let warned = false;

export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (CHROMIUM_REQUIRED) throw new Error(`Chromium is required (CI) but missing at ${CHROMIUM}: apt-get install -y chromium`);
  if (warned) return false;
  warned = true;
  const bar = '!'.repeat(78);
  console.warn(
    `\n${bar}\n!! Chromium is not installed at ${CHROMIUM}:\n!! THE DASHBOARD BROWSER SUITE DID NOT RUN. (CI runs it and fails without it.)\n${bar}\n`,
  );
  return false;
}

// Without the background-networking flags Chromium keeps calling home, and this machine has no network.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--metrics-recording-only',
  '--no-default-browser-check',
];

export interface TestBrowser {
  context: BrowserContext;
  /** Every URL the pages asked for that was not on the allowed origin (and was refused). */
  foreignRequests: string[];
  /** Console errors, uncaught page errors and CSP violations. */
  pageErrors: string[];
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Headless Chromium with a fresh profile. Requests to anything but `origin` are refused and
 * recorded, so a page that reaches for a CDN fails its test instead of hanging on the network.
 */
export async function launchBrowser(origin: string): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'licensor-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 800 },
    locale: 'en-GB',
    timezoneId: 'UTC',
    colorScheme: 'light',
  });
  context.setDefaultTimeout(15_000);
  const foreignRequests: string[] = [];
  const pageErrors: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin + '/')) return route.continue();
    foreignRequests.push(url);
    return route.abort();
  });
  const watch = (page: Page) => {
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });
    page.on('pageerror', (err) => pageErrors.push(String(err)));
  };
  context.on('page', watch);
  return {
    context,
    foreignRequests,
    pageErrors,
    async newPage(viewport) {
      const page = await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
