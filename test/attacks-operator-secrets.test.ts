import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer } from './support/harness';
import { call } from './support/http';
import { spawnServer } from './support/processes';

/**
 * What an operator's secrets and figures show to others: the generated admin token in start-up
 * output (journals, CI logs), and /metrics (seat counts per product) on a server others can reach.
 */

describe('attack: the admin token and /metrics', () => {
  it('keeps the generated admin token out of what start-up prints, and closes /metrics beyond loopback, warning of both settings', async () => {
    const home = mkdtempSync(join(tmpdir(), 'licensor-attack-'));
    const server = await spawnServer({ LICENSOR_DATA_DIR: home, LICENSOR_ADMIN_TOKEN: '', LICENSOR_HOST: '0.0.0.0', LICENSOR_OPENAPI_ALLOW_UNSIGNED: 'true' });
    try {
      const token = readFileSync(join(home, 'admin-token'), 'utf8').trim();
      const printed = server.stderr() + server.stdout();
      assert.ok(!printed.includes(token), 'start-up printed the admin token');
      assert.match(server.stderr(), new RegExp(`admin token: generated, kept in ${join(home, 'admin-token')}`));
      const warnings = server
        .stdout()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
        .filter((l) => l.level === 40)
        .map((l) => l.notice as string);
      assert.ok(
        warnings.some((w) => /^LICENSOR_OPENAPI_ALLOW_UNSIGNED=true/.test(w)),
        warnings.join('\n'),
      );
      assert.ok(
        warnings.some((w) => /^\/metrics answers 403 metrics_token_not_configured/.test(w)),
        warnings.join('\n'),
      );
      const port = new URL(server.url).port;
      const metrics = await call(`http://127.0.0.1:${port}`, 'GET', '/metrics');
      assert.equal(metrics.status, 403, metrics.text);
      assert.equal(metrics.body.error.code, 'metrics_token_not_configured');
      assert.match(metrics.body.error.message, /LICENSOR_METRICS_TOKEN/);
      assert.doesNotMatch(metrics.text, /licensor_seats/);
    } finally {
      await server.stop();
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('serves /metrics beyond loopback only with the token, and on loopback without one', async () => {
    const exposed = await startTestServer('sqlite', { LICENSOR_HOST: '0.0.0.0', LICENSOR_METRICS_TOKEN: 'metrics-token-0123456789' });
    const local = await startTestServer('sqlite');
    try {
      const base = `http://127.0.0.1:${exposed.running.port}`;
      assert.equal((await call(base, 'GET', '/metrics')).status, 401);
      assert.equal((await call(base, 'GET', '/metrics', undefined, { authorization: 'Bearer metrics-token-0123456789' })).status, 200);
      assert.equal((await call(local.url, 'GET', '/metrics')).status, 200);
    } finally {
      await exposed.close();
      await local.close();
    }
  });
});
