import { strict as assert } from 'node:assert';
import { SECOND } from './support/clock';
import { forEachEngine } from './support/databases';
import { machine } from './support/factories';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call } from './support/http';
import { marketplaceEnv, mkpId, produce } from './support/marketplace';

const METRICS_TOKEN = 'metrics-token-0123456789';

/** The value of one series in the exposition text (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    const labelText = /\{(.*)\}/.exec(line)?.[1] ?? '';
    if (wanted.every((w) => labelText.split(',').includes(w)) && (wanted.length > 0 || labelText === '')) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

forEachEngine('Prometheus /metrics', (engine) => {
  let server: TestServer;
  const scrape = async () => {
    const res = await call(server.url, 'GET', '/metrics');
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return res.text;
  };

  before(async () => {
    server = await startTestServer(engine, marketplaceEnv('mkp-metrics'));
    await admin(server.url, 'POST', '/v1/admin/products', { name: 'mkp-metrics' });
  });
  after(() => server.close());

  it('counts requests and their latency by route pattern and status, never by raw path', async () => {
    const code = 'ABCDE-FGHJK-MNPQR-STVWX-YZ234';
    for (let i = 0; i < 3; i++) await admin(server.url, 'GET', `/v1/admin/codes/${code}`);
    const text = await scrape();
    assert.equal(sample(text, 'licensor_http_requests_total', { method: 'GET', route: '/v1/admin/codes/:code', status: '404' }), 3);
    assert.equal(sample(text, 'licensor_http_request_duration_seconds_count', { method: 'GET', route: '/v1/admin/codes/:code', status: '404' }), 3);
    assert.ok(text.includes('licensor_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/v1/admin/codes/:code",status="404"}'));
    assert.ok(!text.includes('ABCDE'), 'a raw path reached a label');
  });

  it('labels a request refused before routing by the route it was meant for', async () => {
    await call(server.url, 'POST', '/v1/admin/codes/ABCDE-FGHJK-MNPQR-STVWX-YZ234/freeze');
    const text = await scrape();
    assert.equal(sample(text, 'licensor_http_requests_total', { method: 'POST', route: '/v1/admin/codes/:code/freeze', status: '401' }), 1);
  });

  it('puts every unknown path in one series, so scanning cannot explode the label set', async () => {
    for (let i = 0; i < 25; i++) await call(server.url, 'GET', `/probe-${i}/${mkpId('x')}`);
    const text = await scrape();
    assert.equal(sample(text, 'licensor_http_requests_total', { method: 'GET', route: '(unmatched)', status: '404' }), 25);
    assert.ok(!text.includes('probe-'));
  });

  it('counts activations, heartbeats, deactivations and token signatures by outcome', async () => {
    await admin(server.url, 'POST', '/v1/admin/products', { name: 'counted' });
    const code = (await admin(server.url, 'POST', '/v1/admin/codes', { product: 'counted', seats: 1, days: 30 })).body.code.code;
    const before = await scrape();
    const signedBefore = sample(before, 'licensor_token_signatures_total');
    const created = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('one') });
    // The same machine again: its seat back, with a new secret.
    const { secret } = (await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('one') })).body.activation;
    await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('two') });
    const id = created.body.activation.id;
    await call(server.url, 'POST', '/v1/heartbeat', { activationId: id, secret, fingerprint: machine('one') });
    await call(server.url, 'POST', '/v1/heartbeat', { activationId: id, secret, fingerprint: machine('one') });
    await call(server.url, 'POST', '/v1/heartbeat', { activationId: id, secret, fingerprint: machine('stranger') });
    const forged = await call(server.url, 'DELETE', `/v1/activations/${id}`, undefined, { authorization: 'Bearer not.a.token' });
    await call(server.url, 'DELETE', `/v1/activations/${id}`, undefined, { authorization: `Bearer ${created.body.token}` });
    const text = await scrape();
    const delta = (name: string, labels: Record<string, string>) => sample(text, name, labels) - sample(before, name, labels);
    assert.equal(delta('licensor_activations_total', { result: 'created' }), 1);
    assert.equal(delta('licensor_activations_total', { result: 'existing' }), 1);
    assert.equal(delta('licensor_activations_total', { result: 'seat_limit_reached' }), 1);
    assert.equal(delta('licensor_heartbeats_total', { result: 'ok' }), 2);
    assert.equal(delta('licensor_heartbeats_total', { result: 'fingerprint_mismatch' }), 1);
    assert.equal(delta('licensor_deactivations_total', { result: 'ok' }), 1);
    assert.equal(delta('licensor_deactivations_total', { result: forged.body.error.code }), 1);
    // Two activations answered with a token, two heartbeats: four signatures.
    assert.equal(sample(text, 'licensor_token_signatures_total') - signedBefore, 4);
  });

  it('shows codes by status and seats per product from the database, re-read at most every 5 seconds', async () => {
    await admin(server.url, 'POST', '/v1/admin/products', { name: 'gauged' });
    const first = (await admin(server.url, 'POST', '/v1/admin/codes', { product: 'gauged', seats: 3, days: 30 })).body.code.code;
    await call(server.url, 'POST', '/v1/activations', { code: first, fingerprint: machine('g1') });
    server.clock.advance(5 * SECOND);
    const fresh = await scrape();
    assert.equal(sample(fresh, 'licensor_seats_used', { product: 'gauged' }), 1);
    assert.equal(sample(fresh, 'licensor_seats_licensed', { product: 'gauged' }), 3);
    const alive = sample(fresh, 'licensor_codes', { status: 'alive' });
    assert.ok(alive >= 1);

    await admin(server.url, 'POST', '/v1/admin/codes', { product: 'gauged', seats: 2, days: 30 });
    await call(server.url, 'POST', '/v1/activations', { code: first, fingerprint: machine('g2') });
    const cached = await scrape();
    assert.equal(sample(cached, 'licensor_seats_used', { product: 'gauged' }), 1, 'read again within 5 s');

    server.clock.advance(5 * SECOND);
    const later = await scrape();
    assert.equal(sample(later, 'licensor_seats_used', { product: 'gauged' }), 2);
    assert.equal(sample(later, 'licensor_seats_licensed', { product: 'gauged' }), 5);
  });

  it('counts sweeper runs and what they changed', async () => {
    await admin(server.url, 'POST', '/v1/admin/products', { name: 'swept' });
    await admin(server.url, 'POST', '/v1/admin/codes', { product: 'swept', seats: 1, days: 1 });
    const before = await scrape();
    server.clock.advance(2 * 86_400 * SECOND);
    await server.running.sweeper.runOnce();
    const text = await scrape();
    assert.equal(sample(text, 'licensor_sweeper_runs_total', { result: 'ran' }) - sample(before, 'licensor_sweeper_runs_total', { result: 'ran' }), 1);
    assert.ok(
      sample(text, 'licensor_sweeper_changes_total', { change: 'expired' }) - sample(before, 'licensor_sweeper_changes_total', { change: 'expired' }) >= 1,
    );
    assert.equal(sample(text, 'licensor_sweeper_last_run_timestamp_seconds'), server.clock.now() / 1000);
  });

  it('counts marketplace callbacks by activity and result code, with unknown activities folded into one', async () => {
    const now = server.clock.now();
    const orderId = mkpId('O');
    await produce(server.url, { activity: 'newInstance', orderId, orderLineId: `${orderId}-1`, businessId: mkpId('B') }, { now });
    await produce(server.url, { activity: 'newInstance', orderId, orderLineId: `${orderId}-1`, businessId: mkpId('B') }, { now, signature: 'forged' });
    await produce(server.url, { activity: 'mineBitcoins' }, { now });
    const text = await scrape();
    assert.equal(sample(text, 'licensor_marketplace_callbacks_total', { activity: 'newInstance', result_code: '000000' }), 1);
    assert.equal(sample(text, 'licensor_marketplace_callbacks_total', { activity: 'unknown', result_code: '000001' }), 1);
    assert.equal(sample(text, 'licensor_marketplace_callbacks_total', { activity: 'unknown', result_code: '000002' }), 1);
    assert.ok(!text.includes('mineBitcoins'));
  });

  it('shows, on SQLite, the frames in the WAL, those not yet copied into the database file and the checkpoints made', async () => {
    const checkpointer = server.running.runtime.database.checkpointer;
    if (engine === 'postgres') {
      assert.equal(checkpointer, undefined);
      const text = await scrape();
      assert.ok(!text.includes('licensor_sqlite_wal_frames'));
      assert.ok(!text.includes('licensor_sqlite_checkpoints_total'));
      return;
    }
    await admin(server.url, 'POST', '/v1/admin/products', { name: 'wal-frames' });
    const result = await checkpointer!.checkpoint();
    assert.ok(result && !result.busy && result.walFrames > 0 && result.checkpointed === result.walFrames);
    // The scrape shows the latest checkpoint's figures; the background one may run meanwhile, so
    // compare with a result that stayed the latest from before the scrape to after it.
    for (let attempt = 0; ; attempt++) {
      const before = checkpointer!.lastResult!;
      const text = await scrape();
      if (checkpointer!.lastResult !== before && attempt < 20) continue;
      assert.equal(sample(text, 'licensor_sqlite_wal_frames', { state: 'in_wal' }), before.walFrames);
      assert.equal(sample(text, 'licensor_sqlite_wal_frames', { state: 'not_checkpointed' }), before.walFrames - before.checkpointed);
      assert.match(text, /^licensor_sqlite_wal_frames\{state="not_checkpointed"\} \d+$/m);
      assert.ok(sample(text, 'licensor_sqlite_checkpoints_total', { result: 'made' }) >= 1);
      assert.match(text, /^licensor_sqlite_checkpoints_total\{result="skipped"\} \d+$/m);
      break;
    }
  });

  it('includes the process metrics of prom-client', async () => {
    const text = await scrape();
    assert.ok(sample(text, 'process_cpu_user_seconds_total') > 0);
    assert.match(text, /^nodejs_eventloop_lag_seconds /m);
  });
});

describe('Prometheus /metrics with a token', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer('sqlite', { LICENSOR_METRICS_TOKEN: METRICS_TOKEN });
  });
  after(() => server.close());

  it('refuses a scrape without the token, and with the admin token', async () => {
    const bare = await call(server.url, 'GET', '/metrics');
    assert.equal(bare.status, 401);
    assert.equal(bare.body.error.code, 'metrics_token_required');
    const withAdmin = await admin(server.url, 'GET', '/metrics');
    assert.equal(withAdmin.status, 401);
  });

  it('answers a scrape that sends it', async () => {
    const res = await call(server.url, 'GET', '/metrics', undefined, { authorization: `Bearer ${METRICS_TOKEN}` });
    assert.equal(res.status, 200);
    assert.match(res.text, /licensor_http_requests_total/);
  });
});
