import { randomBytes } from 'node:crypto';
import { formatMarketplaceTime } from '../domain/marketplace/dates';
import { bodySignHeader, signedProductionQuery } from '../http/marketplace-signature';

/**
 * Plays the marketplace against a production-interface URL (koogallery-license-protocol.md §3):
 * signs and sends each activity as the marketplace would, retries them, replays one, tampers with
 * others, and checks every answer and its Body-Sign. A vendor runs it before going live; the
 * end-to-end tests run it against licensor itself.
 */

export interface SimulationOptions {
  /** The production URL, e.g. https://licensor.example.com/produce. */
  url: string;
  accessKey: string;
  /** Where to send the replay (another server process sharing the database); `url` when absent. */
  replayUrl?: string;
  /** testFlag sent with every activity: "1" (debug, the default) or "0". */
  testFlag?: '0' | '1';
  deviceFingerprint?: string;
  /** How often to ask again after 000004, and how long to wait in between. */
  pendingRetries?: number;
  pendingWaitMs?: number;
  now?: () => number;
}

export interface SimulationCheck {
  name: string;
  ok: boolean;
  detail: string;
}

interface Exchange {
  url: string;
  body: Buffer;
  answer: Record<string, any> | null;
  rawAnswer: Buffer;
  bodySign: string | null;
}

const DAY = 86_400_000;

export async function simulateMarketplace(options: SimulationOptions): Promise<SimulationCheck[]> {
  const now = options.now ?? (() => Date.now());
  const testFlag = options.testFlag ?? '1';
  const fingerprint = options.deviceFingerprint ?? `04:7C:16:5E:E3:${randomBytes(1).toString('hex').toUpperCase()}|SIM-DISK-${randomBytes(4).toString('hex').toUpperCase()}|SIM-BOARD|BFEBFBFF00090672`;
  const checks: SimulationCheck[] = [];
  const run = `SIM${now()}${randomBytes(3).toString('hex').toUpperCase()}`;

  const check = (name: string, ok: boolean, detail = '') => {
    checks.push({ name, ok, detail: ok ? '' : detail });
    return ok;
  };

  async function post(url: string, body: Buffer, query: URLSearchParams | null): Promise<Exchange> {
    const target = query ? `${url}${url.includes('?') ? '&' : '?'}${query}` : url;
    const res = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json;charset=UTF-8' }, body });
    const rawAnswer = Buffer.from(await res.arrayBuffer());
    let answer: Record<string, any> | null = null;
    try {
      answer = JSON.parse(rawAnswer.toString('utf8'));
    } catch {
      answer = null;
    }
    return { url: target, body, answer, rawAnswer, bodySign: res.headers.get('body-sign') };
  }

  function signed(fields: Record<string, unknown>, tamper: { key?: string; timestamp?: number } = {}): [Buffer, URLSearchParams] {
    const body = Buffer.from(JSON.stringify({ ...fields, testFlag }), 'utf8');
    const query = signedProductionQuery(tamper.key ?? options.accessKey, body, String(tamper.timestamp ?? now()), randomBytes(16).toString('hex'));
    return [body, query];
  }

  /** Sends one activity, waiting out 000004 the way the marketplace retries; checks the code and the Body-Sign. */
  async function activity(name: string, fields: Record<string, unknown>, expected = '000000'): Promise<Exchange> {
    let exchange: Exchange;
    for (let attempt = 0; ; attempt++) {
      exchange = await post(options.url, ...signed(fields));
      if (exchange.answer?.resultCode !== '000004' || expected === '000004' || attempt >= (options.pendingRetries ?? 10)) break;
      await new Promise((r) => setTimeout(r, options.pendingWaitMs ?? 1000));
    }
    check(`${name}: answers ${expected}`, exchange.answer?.resultCode === expected, `got ${exchange.rawAnswer.toString('utf8').slice(0, 300)}`);
    checkBodySign(name, exchange);
    return exchange;
  }

  function checkBodySign(name: string, exchange: Exchange): void {
    const expected = bodySignHeader(options.accessKey, exchange.rawAnswer);
    check(`${name}: Body-Sign matches the answer bytes`, exchange.bodySign === expected, `got ${exchange.bodySign ?? '(no Body-Sign header)'}`);
  }

  // Authentication (§3.2): every way of getting it wrong is 000001.
  const probe = { activity: 'queryInstance', instanceId: `${run}-NONE` };
  const unsigned = await post(options.url, Buffer.from(JSON.stringify(probe)), null);
  check('a request without signature is refused with 000001', unsigned.answer?.resultCode === '000001', unsigned.rawAnswer.toString('utf8'));
  const wrongKey = await post(options.url, ...signed(probe, { key: `${options.accessKey}-not-the-key` }));
  check('a request signed with another key is refused with 000001', wrongKey.answer?.resultCode === '000001', wrongKey.rawAnswer.toString('utf8'));
  const stale = await post(options.url, ...signed(probe, { timestamp: now() - 5 * 60_000 }));
  check('a request with a timestamp 5 minutes old is refused with 000001', stale.answer?.resultCode === '000001', stale.rawAnswer.toString('utf8'));
  await activity('an unknown activity', { activity: 'noSuchActivity' }, '000002');
  await activity('newInstance without businessId', { activity: 'newInstance', orderId: run, orderLineId: `${run}-000001` }, '000002');

  // Online License (§3.6).
  const order = { orderId: run, orderLineId: `${run}-000001` };
  const firstBusinessId = `${run}-B1`;
  const [createBody, createQuery] = signed({ activity: 'newInstance', ...order, businessId: firstBusinessId });
  const created = await post(options.url, createBody, createQuery);
  check('newInstance: answers 000000', created.answer?.resultCode === '000000', created.rawAnswer.toString('utf8'));
  checkBodySign('newInstance', created);
  const instanceId = created.answer?.instanceId as string | undefined;
  check('newInstance: the instanceId is the first businessId', instanceId === firstBusinessId, `got ${instanceId}`);
  const replay = await post(options.replayUrl ?? options.url, createBody, createQuery);
  check(
    `a replayed request (same nonce${options.replayUrl ? ', another server process' : ''}) is refused with 000001`,
    replay.answer?.resultCode === '000001',
    replay.rawAnswer.toString('utf8'),
  );
  const retried = await activity('newInstance retried with a new businessId', { activity: 'newInstance', ...order, businessId: `${run}-B2` });
  check('newInstance retried: the same instanceId', retried.answer?.instanceId === instanceId, `got ${retried.answer?.instanceId}`);
  if (!instanceId) return checks;

  const queried = await activity('queryInstance', { activity: 'queryInstance', instanceId });
  const info = queried.answer?.info?.[0];
  check('queryInstance: describes the instance', info?.instanceId === instanceId && info?.status === 'ALIVE', JSON.stringify(queried.answer));

  const effectiveTime = formatMarketplaceTime(now());
  const plain = await activity('getLicenseAsync without a device', { activity: 'getLicenseAsync', instanceId, effectiveTime, eventId: `${run}-E1` });
  const code = plain.answer?.license as string | undefined;
  check('getLicenseAsync without a device: answers the authorization code', typeof code === 'string' && code.length > 0, JSON.stringify(plain.answer));
  const bound = { activity: 'getLicenseAsync', instanceId, effectiveTime, eventId: `${run}-E2`, deviceFingerprint: fingerprint };
  const license = await activity('getLicenseAsync for a device', bound);
  check('getLicenseAsync for a device: answers a signed license', /^[\w-]+\.[\w-]+\.[\w-]+$/.test(String(license.answer?.license)), JSON.stringify(license.answer));
  const again = await activity('getLicenseAsync retried', bound);
  check('getLicenseAsync retried: the same license, byte for byte', again.answer?.license === license.answer?.license, 'a different license');

  const renewedUntil = formatMarketplaceTime(now() + 60 * DAY);
  const renewal = { activity: 'refreshInstance', scene: 'RENEWAL', orderId: `${run}-R1`, orderLineId: `${run}-R1-000001`, instanceId, expireTime: renewedUntil };
  await activity('refreshInstance RENEWAL', renewal);
  await activity('refreshInstance RENEWAL retried', renewal);
  for (const status of ['FREEZE', 'FREEZE', 'UNFREEZE', 'UNFREEZE']) {
    await activity(`updateInstanceStatus ${status}`, { activity: 'updateInstanceStatus', instanceId, status });
  }
  const renewedQuery = await activity('queryInstance after the renewal', { activity: 'queryInstance', instanceId });
  check('queryInstance: the renewed expiry', renewedQuery.answer?.info?.[0]?.expireTime === renewedUntil, JSON.stringify(renewedQuery.answer));

  // License 2.0 (§3.5), on the instance's authorization code.
  if (code) {
    const codeRenewal = { activity: 'refreshLicenseCode', scene: 'RENEWAL', orderId: `${run}-R2`, orderLineId: `${run}-R2-000001`, license: code, expireTime: formatMarketplaceTime(now() + 90 * DAY) };
    await activity('refreshLicenseCode RENEWAL', codeRenewal);
    await activity('refreshLicenseCode RENEWAL retried', codeRenewal);
    for (const status of ['FREEZE', 'FREEZE', 'UNFREEZE']) {
      await activity(`updateLicenseCodeStatus ${status}`, { activity: 'updateLicenseCodeStatus', license: code, status });
    }
    await activity('releaseLicenseCode', { activity: 'releaseLicenseCode', license: code });
    await activity('releaseLicenseCode retried', { activity: 'releaseLicenseCode', license: code });
    await activity('updateLicenseCodeStatus of an unknown code', { activity: 'updateLicenseCodeStatus', license: `${run}-UNKNOWN`, status: 'FREEZE' }, '000003');
  }
  await activity('releaseInstance', { activity: 'releaseInstance', instanceId });
  await activity('releaseInstance retried', { activity: 'releaseInstance', instanceId });
  const released = await activity('queryInstance after the release', { activity: 'queryInstance', instanceId });
  check('queryInstance: the instance is RELEASED', released.answer?.info?.[0]?.status === 'RELEASED', JSON.stringify(released.answer));
  await activity('refreshInstance of an unknown instance', { ...renewal, instanceId: `${run}-UNKNOWN` }, '000003');
  return checks;
}
