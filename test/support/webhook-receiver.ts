import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a receiver does with one request: answer with a status, or never answer (the sender times out). */
export type Behaviour = number | 'hang';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  event: { id: string; type: string; [k: string]: unknown };
}

export interface WebhookReceiver {
  url: string;
  /** Every request, in the order it arrived. */
  received: Received[];
  /** How the next requests are answered, one each; 200 once these are used up. */
  script: Behaviour[];
  close(): Promise<void>;
}

/** A real receiving HTTP server on loopback, the way an operator's endpoint is. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: Received[] = [];
  const script: Behaviour[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, body, event: JSON.parse(body) });
      const behaviour = script.shift() ?? 200;
      if (behaviour === 'hang') {
        hanging.push(res);
        return;
      }
      res.writeHead(behaviour, { 'content-type': 'text/plain' }).end(behaviour < 300 ? 'thanks' : `receiver says ${behaviour}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    script,
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * The receiver's side of docs/webhooks.md "Verifying a delivery", written out here rather than
 * borrowed from licensor: the header's MAC over `t.body` with the secret, and a recent `t`.
 */
export function receiverVerifies(secret: string, received: Received, nowSeconds: number): boolean {
  const header = String(received.headers['licensor-signature'] ?? '');
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${received.body}`).digest();
  return Math.abs(nowSeconds - Number(m[1])) <= 300 && timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
}
