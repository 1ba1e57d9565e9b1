import { randomBytes } from 'node:crypto';
import { formatMarketplaceTime } from '../domain/marketplace/dates';
import { bodySignHeader, signedProductionQuery } from '../domain/marketplace/production-signature';
import type { MarketplaceStandIn } from './marketplace-stand-in';
import { DAY_MS } from '../domain/clock';

/**
 * Plays the marketplace against a production-interface URL (docs/marketplace.md "Test a
 * deployment"): signs and sends each activity as the marketplace would, retries them, sends 20
 * identical ones at once, replays one, tampers with others, and checks every answer and its
 * Body-Sign. With a stand-in it also plays the marketplace's own API — order/query, the license
 * upload — and checks what licensor called it with; with a hold on the database it retries while
 * the server is slow. A vendor runs it before going live; the end-to-end tests run it against licensor.
 */

interface SimulationOptions {
  /** The production URL, e.g. https://licensor.example.com/produce. */
  url: string;
  accessKey: string;
  /** Where to send the replay (another server process sharing the database); `url` when absent. */
  replayUrl?: string;
  /** testFlag sent with every activity: "1" (debug, the default) or "0". */
  testFlag?: '0' | '1';
  deviceFingerprint?: string;
  /** The marketplace's API, which the server's LICENSOR_MARKETPLACE_API_URL points at. */
  standIn?: MarketplaceStandIn;
  /** Makes the server's database slow for marketplace writes until the returned release is called. */
  holdDatabase?: () => Promise<() => Promise<void>>;
  /** How often to ask again after 000004 (or wait for the server's call to the stand-in), and how long to wait in between. */
  pendingRetries?: number;
  pendingWaitMs?: number;
  now?: () => number;
}

interface SimulationCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** Not played: what it needs was not given (the reason is in `detail`). */
  skipped?: boolean;
}

interface Exchange {
  url: string;
  body: Buffer;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a marketplace answer, read field by field as docs/marketplace.md describes
  answer: Record<string, any> | null;
  rawAnswer: Buffer;
  bodySign: string | null;
}

/** "20 identical calls at once" (docs/marketplace.md): the marketplace may send a call again while the first is running. */
const AT_ONCE = 20;

export async function simulateMarketplace(options: SimulationOptions): Promise<SimulationCheck[]> {
  const now = options.now ?? (() => Date.now());
  const testFlag = options.testFlag ?? '1';
  const device = (n: number) =>
    options.deviceFingerprint && n === 1
      ? options.deviceFingerprint
      : `04:7C:16:5E:E${n}:${randomBytes(1).toString('hex').toUpperCase()}|SIM-DISK-${randomBytes(4).toString('hex').toUpperCase()}|SIM-BOARD-${n}|BFEBFBFF00090672`;
  const checks: SimulationCheck[] = [];
  const run = `SIM${now()}${randomBytes(3).toString('hex').toUpperCase()}`;
  const retries = options.pendingRetries ?? 10;
  const waitMs = options.pendingWaitMs ?? 1000;
  const pause = () => new Promise((r) => setTimeout(r, waitMs));
  const standIn = options.standIn;

  const check = (name: string, ok: boolean, detail = '') => {
    checks.push({ name, ok, detail: ok ? '' : detail });
    return ok;
  };
  const skip = (name: string, reason: string) => checks.push({ name, ok: true, skipped: true, detail: reason });

  async function post(url: string, body: Buffer, query: URLSearchParams | null): Promise<Exchange> {
    const target = query ? `${url}${url.includes('?') ? '&' : '?'}${query}` : url;
    const res = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json;charset=UTF-8' }, body });
    const rawAnswer = Buffer.from(await res.arrayBuffer());
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see Exchange.answer
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

  /** One request as the marketplace signs it, each time with a fresh nonce. */
  const send = (fields: Record<string, unknown>) => post(options.url, ...signed(fields));

  /** Sends one activity, waiting out 000004 the way the marketplace retries; checks the code and the Body-Sign. */
  async function activity(name: string, fields: Record<string, unknown>, expected = '000000'): Promise<Exchange> {
    let exchange: Exchange;
    for (let attempt = 0; ; attempt++) {
      exchange = await send(fields);
      if (exchange.answer?.resultCode !== '000004' || expected === '000004' || attempt >= retries) break;
      await pause();
    }
    check(`${name}: answers ${expected}`, exchange.answer?.resultCode === expected, `got ${exchange.rawAnswer.toString('utf8').slice(0, 300)}`);
    checkBodySign(name, exchange);
    return exchange;
  }

  /** The same activity 20 times at once: every answer success (or 000004), each Body-Sign right. */
  async function atOnce(name: string, fields: Record<string, unknown>): Promise<Exchange[]> {
    const answers = await Promise.all(Array.from({ length: AT_ONCE }, () => send(fields)));
    const codes = answers.map((a) => a.answer?.resultCode);
    check(
      `${name}, ${AT_ONCE} identical calls at once: every one answers 000000 or 000004`,
      codes.every((c) => c === '000000' || c === '000004'),
      `got ${codes.join(',')}`,
    );
    check(
      `${name}, ${AT_ONCE} identical calls at once: every Body-Sign matches`,
      answers.every((a) => a.bodySign === bodySignHeader(options.accessKey, a.rawAnswer)),
      'a Body-Sign does not match its answer',
    );
    return answers;
  }

  function checkBodySign(name: string, exchange: Exchange): void {
    const expected = bodySignHeader(options.accessKey, exchange.rawAnswer);
    check(`${name}: Body-Sign matches the answer bytes`, exchange.bodySign === expected, `got ${exchange.bodySign ?? '(no Body-Sign header)'}`);
  }

  /** Waits (as the marketplace would) until `found` holds, asking every pendingWaitMs. */
  async function eventually<T>(found: () => T | undefined | Promise<T | undefined>): Promise<T | undefined> {
    for (let attempt = 0; attempt <= retries * 3; attempt++) {
      const value = await found();
      if (value !== undefined) return value;
      await pause();
    }
    return undefined;
  }

  const queryOne = async (instanceId: string) => (await send({ activity: 'queryInstance', instanceId })).answer;

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

  // Online License (§3.6). The order the marketplace sold: 2 devices for a year.
  const order = { orderId: run, orderLineId: `${run}-000001` };
  const orderExpiry = formatMarketplaceTime(now() + 365 * DAY_MS);
  standIn?.orders.set(run, {
    orderId: run,
    orderType: 'NEW',
    orderLine: [{ orderLineId: order.orderLineId, chargingMode: 'PERIOD', periodType: 'year', periodNumber: 1, expireTime: orderExpiry, linearValue: 2 }],
  });
  const [createBody, createQuery] = signed({ activity: 'newInstance', ...order, businessId: `${run}-B1` });
  const created = await post(options.url, createBody, createQuery);
  check('newInstance: answers 000000', created.answer?.resultCode === '000000', created.rawAnswer.toString('utf8'));
  checkBodySign('newInstance', created);
  const instanceId = created.answer?.instanceId as string | undefined;
  check('newInstance: answers an instanceId', typeof instanceId === 'string' && instanceId.length > 0 && instanceId.length <= 64, `got ${instanceId}`);
  const replay = await post(options.replayUrl ?? options.url, createBody, createQuery);
  check(
    `a replayed request (same nonce${options.replayUrl ? ', another server process' : ''}) is refused with 000001`,
    replay.answer?.resultCode === '000001',
    replay.rawAnswer.toString('utf8'),
  );
  const retried = await activity('newInstance retried with a new businessId', { activity: 'newInstance', ...order, businessId: `${run}-B2` });
  check('newInstance retried: the same instanceId', retried.answer?.instanceId === instanceId, `got ${retried.answer?.instanceId}`);
  const burst = await atOnce('newInstance', { activity: 'newInstance', ...order, businessId: `${run}-B3` });
  check(
    `newInstance, ${AT_ONCE} identical calls at once: every one the same instanceId`,
    burst.every((a) => a.answer?.instanceId === instanceId),
    `got ${[...new Set(burst.map((a) => a.answer?.instanceId))].join(', ')}`,
  );
  if (!instanceId) return checks;

  const queried = await activity('queryInstance', { activity: 'queryInstance', instanceId });
  const info = queried.answer?.info?.[0];
  check('queryInstance: describes the instance', info?.instanceId === instanceId && info?.status === 'ALIVE', JSON.stringify(queried.answer));

  // What was bought (order/query): licensor asks the marketplace, with its AK/SK, and takes the seats and the expiry.
  if (standIn) {
    const asked = await eventually(() => standIn.queries.find((q) => q.orderId === run));
    check(
      'order/query: licensor asks for the order it was sent, signed with its AK/SK',
      asked?.orderLineId === order.orderLineId,
      `queries: ${JSON.stringify(standIn.queries.slice(-3))}; refused: ${standIn.refused.slice(-3).join(' | ')}`,
    );
    const expiry = await eventually(async () => ((await queryOne(instanceId))?.info?.[0]?.expireTime === orderExpiry ? true : undefined));
    check("order/query: the instance takes the order's expiry", expiry === true, `expected ${orderExpiry}, got ${JSON.stringify(await queryOne(instanceId))}`);
  } else {
    skip('order/query: licensor asks for the order it was sent', 'needs the marketplace stand-in (--serve-marketplace and --aksk)');
  }

  const effectiveTime = formatMarketplaceTime(now());
  const plain = await activity('getLicenseAsync without a device', { activity: 'getLicenseAsync', instanceId, effectiveTime, eventId: `${run}-E1` });
  const code = plain.answer?.license as string | undefined;
  check('getLicenseAsync without a device: answers the authorization code', typeof code === 'string' && code.length > 0, JSON.stringify(plain.answer));
  const bound = { activity: 'getLicenseAsync', instanceId, effectiveTime, eventId: `${run}-E2`, deviceFingerprint: device(1) };
  const license = await activity('getLicenseAsync for a device', bound);
  check(
    'getLicenseAsync for a device: answers a signed license',
    /^[\w-]+\.[\w-]+\.[\w-]+$/.test(String(license.answer?.license)),
    JSON.stringify(license.answer),
  );
  const again = await activity('getLicenseAsync retried', bound);
  check('getLicenseAsync retried: the same license, byte for byte', again.answer?.license === license.answer?.license, 'a different license');
  const same = await atOnce('getLicenseAsync', bound);
  check(
    `getLicenseAsync, ${AT_ONCE} identical calls at once: the same license in every 000000`,
    same.every((a) => a.answer?.resultCode !== '000000' || a.answer?.license === license.answer?.license),
    'a different license',
  );
  if (standIn) {
    await activity('getLicenseAsync for a second device (2 bought)', { ...bound, eventId: `${run}-E3`, deviceFingerprint: device(2) });
    await activity('getLicenseAsync for a third device (2 bought)', { ...bound, eventId: `${run}-E4`, deviceFingerprint: device(3) }, '000900');
  }

  // Upgrade: applied once per orderId; the new quantity from the upgrade order (order/query), or from `amount`.
  const upgrade = { activity: 'upgradeInstance', instanceId, orderId: `${run}-U1`, orderLineId: `${run}-U1-000001` };
  if (standIn) {
    standIn.orders.set(upgrade.orderId, {
      orderId: upgrade.orderId,
      orderType: 'CHANGE',
      orderLine: [{ orderLineId: upgrade.orderLineId, chargingMode: 'PERIOD', periodType: 'year', periodNumber: 1, linearValue: 4 }],
    });
    await activity('upgradeInstance', upgrade);
    await activity('upgradeInstance retried', upgrade);
    await atOnce('upgradeInstance', upgrade);
    const asked = await eventually(() => standIn.queries.find((q) => q.orderId === upgrade.orderId));
    check('upgradeInstance: licensor asks order/query for the upgrade order', asked !== undefined, `queries: ${JSON.stringify(standIn.queries.slice(-3))}`);
    const third = await eventually(async () => {
      const answer = (await send({ ...bound, eventId: `${run}-E5`, deviceFingerprint: device(3) })).answer;
      return answer?.resultCode === '000000' ? answer : undefined;
    });
    check('upgradeInstance: the third device now has a seat (4 bought)', third !== undefined, 'still refused');
  } else {
    await activity('upgradeInstance with amount 3', { ...upgrade, amount: 3 });
    await activity('upgradeInstance retried', { ...upgrade, amount: 3 });
    await atOnce('upgradeInstance', { ...upgrade, amount: 3 });
  }
  await activity('upgradeInstance of an unknown instance', { ...upgrade, orderId: `${run}-U2`, instanceId: `${run}-UNKNOWN` }, '000003');

  // Slow: retries of one order line, and an application, while the server's database is held busy.
  if (options.holdDatabase) {
    const slowOrder = { orderId: `${run}-S`, orderLineId: `${run}-S-000001` };
    standIn?.orders.set(slowOrder.orderId, {
      orderId: slowOrder.orderId,
      orderType: 'NEW',
      orderLine: [{ orderLineId: slowOrder.orderLineId, chargingMode: 'PERIOD', expireTime: orderExpiry, linearValue: 2 }],
    });
    const slowApplication = { ...bound, eventId: `${run}-E6`, deviceFingerprint: device(4) };
    const release = await options.holdDatabase();
    let answers: Exchange[];
    let application: Exchange;
    try {
      [answers, application] = await Promise.all([
        Promise.all(Array.from({ length: 5 }, (_, i) => send({ activity: 'newInstance', ...slowOrder, businessId: `${run}-S${i}` }))),
        send(slowApplication),
      ]);
      answers.push(await send({ activity: 'newInstance', ...slowOrder, businessId: `${run}-S9` }));
    } finally {
      await release();
    }
    const ids = new Set(answers.map((a) => a.answer?.instanceId));
    // Held, the instance cannot be stored: every answer is "processing", and must already name it.
    check(
      'newInstance while the server is slow: every retry answers 000004',
      answers.every((a) => a.answer?.resultCode === '000004'),
      answers.map((a) => a.rawAnswer.toString('utf8')).join(' | '),
    );
    check(
      'newInstance while the server is slow: every retry names the same instanceId',
      ids.size === 1 && typeof [...ids][0] === 'string',
      `got ${[...ids].join(', ')}`,
    );
    const slowId = [...ids][0] as string;
    const exists = await eventually(async () => ((await queryOne(slowId))?.resultCode === '000000' ? true : undefined));
    check('queryInstance after the slow newInstance: the instance it named exists', exists === true, JSON.stringify(await queryOne(slowId)));
    check('getLicenseAsync while the server is slow: answers 000004', application.answer?.resultCode === '000004', application.rawAnswer.toString('utf8'));
    let delivered: Exchange | undefined;
    for (let attempt = 0; attempt <= retries && delivered?.answer?.resultCode !== '000000'; attempt++) {
      if (attempt > 0) await pause();
      delivered = await send(slowApplication);
    }
    check(
      'getLicenseAsync retried after the slow one: answers the license',
      delivered?.answer?.resultCode === '000000',
      delivered?.rawAnswer.toString('utf8') ?? '',
    );
    if (standIn) {
      const uploaded = await eventually(() => standIn.uploads.find((u) => u.eventId === slowApplication.eventId));
      check(
        'upload: the license answered 000004 reaches the marketplace, signed with the AK/SK',
        uploaded !== undefined,
        `uploads: ${standIn.uploads.length}; refused: ${standIn.refused.slice(-3).join(' | ')}`,
      );
      check(
        'upload: what was uploaded is the license the retry answers',
        uploaded?.license === delivered?.answer?.license && uploaded?.sha256Matches !== false,
        `uploaded ${uploaded?.type} ${uploaded?.license?.slice(0, 40)}…`,
      );
    } else {
      skip('upload: the license answered 000004 reaches the marketplace', 'needs the marketplace stand-in (--serve-marketplace and --aksk)');
    }
  } else {
    skip('newInstance retried while the server is slow', 'needs --hold-database (run beside the server, with its configuration)');
  }

  const renewedUntil = formatMarketplaceTime(now() + 400 * DAY_MS);
  const renewal = {
    activity: 'refreshInstance',
    scene: 'RENEWAL',
    orderId: `${run}-R1`,
    orderLineId: `${run}-R1-000001`,
    instanceId,
    expireTime: renewedUntil,
  };
  await activity('refreshInstance RENEWAL', renewal);
  await activity('refreshInstance RENEWAL retried', renewal);
  await atOnce('refreshInstance RENEWAL', renewal);
  for (const status of ['FREEZE', 'FREEZE', 'UNFREEZE', 'UNFREEZE']) {
    await activity(`updateInstanceStatus ${status}`, { activity: 'updateInstanceStatus', instanceId, status });
  }
  const renewedQuery = await activity('queryInstance after the renewal', { activity: 'queryInstance', instanceId });
  check('queryInstance: the renewed expiry', renewedQuery.answer?.info?.[0]?.expireTime === renewedUntil, JSON.stringify(renewedQuery.answer));

  // License 2.0 (§3.5) on a code the marketplace made, which licensor has never seen: adopted by the first callback.
  const madeCode = `PL${randomBytes(6).toString('hex').toUpperCase()}`;
  await licenseCodeLife('a code the marketplace made', madeCode);
  // …and on the instance's authorization code.
  if (code) await licenseCodeLife("the instance's code", code);
  await activity(
    'updateLicenseCodeStatus of text that cannot be a code',
    { activity: 'updateLicenseCodeStatus', license: `${run} NOT A CODE`, status: 'FREEZE' },
    '000003',
  );

  await activity('releaseInstance', { activity: 'releaseInstance', instanceId });
  await activity('releaseInstance retried', { activity: 'releaseInstance', instanceId });
  const released = await activity('queryInstance after the release', { activity: 'queryInstance', instanceId });
  check('queryInstance: the instance is RELEASED', released.answer?.info?.[0]?.status === 'RELEASED', JSON.stringify(released.answer));
  await activity('refreshInstance of an unknown instance', { ...renewal, instanceId: `${run}-UNKNOWN` }, '000003');
  return checks;

  async function licenseCodeLife(what: string, license: string): Promise<void> {
    const codeRenewal = {
      activity: 'refreshLicenseCode',
      scene: 'RENEWAL',
      orderId: `${run}-R-${license.slice(-6)}`,
      orderLineId: `${run}-R-000001`,
      license,
      expireTime: formatMarketplaceTime(now() + 90 * DAY_MS),
    };
    await activity(`refreshLicenseCode RENEWAL of ${what}`, codeRenewal);
    await activity(`refreshLicenseCode RENEWAL of ${what} retried`, codeRenewal);
    await atOnce(`refreshLicenseCode RENEWAL of ${what}`, codeRenewal);
    const shorter = {
      ...codeRenewal,
      scene: 'UNSUBSCRIBE_RENEWAL_PERIOD',
      orderId: `${codeRenewal.orderId}-U`,
      expireTime: formatMarketplaceTime(now() + 60 * DAY_MS),
    };
    await activity(`refreshLicenseCode UNSUBSCRIBE_RENEWAL_PERIOD of ${what}`, shorter);
    for (const status of ['FREEZE', 'FREEZE', 'UNFREEZE', 'UNFREEZE']) {
      await activity(`updateLicenseCodeStatus ${status} of ${what}`, { activity: 'updateLicenseCodeStatus', license, status });
    }
    await atOnce(`updateLicenseCodeStatus FREEZE of ${what}`, { activity: 'updateLicenseCodeStatus', license, status: 'FREEZE' });
    await activity(`releaseLicenseCode of ${what}`, { activity: 'releaseLicenseCode', license });
    await activity(`releaseLicenseCode of ${what} retried`, { activity: 'releaseLicenseCode', license });
    await activity(`updateLicenseCodeStatus UNFREEZE of ${what} once released`, { activity: 'updateLicenseCodeStatus', license, status: 'UNFREEZE' }, '000002');
  }
}
