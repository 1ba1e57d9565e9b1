import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sign, type KeyObject } from 'node:crypto';
import { answerSigningInput, requestDigest } from '@licensor/client/contract';

/** One request through the proxy and the answer that goes back. */
export interface Exchange {
  method: string;
  path: string;
  requestHeaders: Record<string, string>;
  requestBody: Buffer;
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export type ProxiedRequest = Pick<Exchange, 'method' | 'path' | 'requestHeaders' | 'requestBody'>;

/** Sends a request to the real server (recorded). */
export type Upstream = (request: ProxiedRequest) => Promise<Exchange>;

/**
 * Decides what the client gets for its request: the real server's answer, something made from
 * it, an answer to another request, or an answer of its own without asking the server at all.
 */
export type Forgery = (request: ProxiedRequest, upstream: Upstream) => Promise<Exchange> | Exchange;

/** A forgery that forwards the request and then alters the genuine answer. */
export function altered(change: (genuine: Exchange) => Exchange): Forgery {
  return async (request, upstream) => change(await upstream(request));
}

const FORWARDED = ['content-type', 'licensor-nonce', 'licensor-accept-covered', 'authorization', 'accept'];
const RETURNED = ['content-type', 'licensor-signature', 'licensor-nonce', 'retry-after'];

/**
 * A real HTTP proxy in front of a real server, standing in for a fake license server or a
 * man in the middle: it forwards, records every exchange, and lets a test alter, replay,
 * re-sign or replace answers (and re-send requests of its own to the real server).
 */
export class ForgingProxy {
  readonly exchanges: Exchange[] = [];
  forge: Forgery | null = null;
  private server: http.Server | null = null;
  url = '';

  constructor(private readonly target: string) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers: Record<string, string> = {};
        for (const name of FORWARDED) if (typeof req.headers[name] === 'string') headers[name] = req.headers[name] as string;
        void this.handle({ method: req.method!, path: req.url!, requestHeaders: headers, requestBody: Buffer.concat(chunks) }).then(
          (answer) => {
            res.writeHead(answer.status, answer.headers);
            res.end(answer.body);
          },
          (err) => {
            res.writeHead(599);
            res.end(String(err));
          },
        );
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  readonly upstream: Upstream = async (request) => {
    const res = await fetch(this.target + request.path, {
      method: request.method,
      headers: request.requestHeaders,
      ...(request.requestBody.length > 0 ? { body: request.requestBody } : {}),
    });
    const headers: Record<string, string> = {};
    for (const name of RETURNED) {
      const value = res.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    const exchange = { ...request, status: res.status, headers, body: Buffer.from(await res.arrayBuffer()) };
    this.exchanges.push(exchange);
    return exchange;
  };

  private async handle(request: ProxiedRequest): Promise<Exchange> {
    return this.forge ? this.forge(request, this.upstream) : this.upstream(request);
  }

  /** The last recorded exchange on a path. */
  last(path: string): Exchange {
    const found = [...this.exchanges].reverse().find((e) => e.path === path);
    if (!found) throw new Error(`no exchange on ${path}`);
    return found;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** An answer with a JSON body, its Content-Type, and no signature. */
export function withJson(exchange: ProxiedRequest, status: number, body: unknown): Exchange {
  return { ...exchange, status, headers: { 'content-type': 'application/json; charset=utf-8' }, body: Buffer.from(JSON.stringify(body)) };
}

/**
 * Signs an answer exactly as the server would, for the request it now answers, with `key` under
 * the label `kid`: what a fake server with a key of its own (or one claiming the real kid) sends.
 */
export function signAs(exchange: Exchange, key: KeyObject, kid: string): Exchange {
  const input = answerSigningInput(
    {
      nonce: exchange.requestHeaders['licensor-nonce'] ?? '',
      method: exchange.method,
      target: exchange.path,
      requestDigest: requestDigest(exchange.requestBody),
      status: exchange.status,
    },
    exchange.body,
  );
  const sig = sign(null, input, key).toString('base64url');
  return { ...exchange, headers: { ...exchange.headers, 'licensor-signature': `kid="${kid}", alg="EdDSA", sig="${sig}"` } };
}
