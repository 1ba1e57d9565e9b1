import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { InvalidInput } from '../domain/errors';
import type { WebhookUrlGuard } from '../domain/webhooks';

/**
 * The network side of webhooks (docs/webhooks.md "Where deliveries may go"): which URLs may be
 * called, and the call. An endpoint's host must resolve only to public addresses unless the
 * operator allows private ones (LICENSOR_WEBHOOKS_ALLOW_PRIVATE). Checked when the endpoint is
 * registered and again for every delivery, on the very addresses the request then connects to, so
 * a name that resolves elsewhere later (DNS rebinding) cannot reach an inside address.
 */

/** Loopback, link-local, private, shared (CGNAT), multicast and reserved ranges. */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6');
}

/** True for an address a webhook may not reach unless private addresses are allowed. */
function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

function refused(url: string, why: string): InvalidInput {
  return new InvalidInput('webhook_url_refused', `${why}: ${url}`, { url });
}

function parseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidInput('webhook_url_invalid', 'the URL is not a valid absolute URL', { url });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new InvalidInput('webhook_url_invalid', 'only http:// and https:// URLs are called', { url });
  if (parsed.username || parsed.password) throw new InvalidInput('webhook_url_invalid', 'the URL may not carry a user name or password', { url });
  return parsed;
}

/** The host as resolvers take it: without an IPv6 literal's brackets. */
const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

type Resolve = (host: string) => Promise<string[]>;

const resolveAll: Resolve = (host) =>
  new Promise((resolve, reject) =>
    dnsLookup(host, { all: true }, (err, addresses: LookupAddress[]) => (err ? reject(err) : resolve(addresses.map((a) => a.address)))),
  );

export function webhookUrlGuard(allowPrivate: boolean, resolve: Resolve = resolveAll): WebhookUrlGuard {
  return {
    async check(url) {
      const parsed = parseUrl(url);
      if (allowPrivate) return;
      const host = hostOf(parsed);
      let addresses: string[];
      try {
        addresses = isIP(host) ? [host] : await resolve(host);
      } catch {
        throw new InvalidInput('webhook_url_unresolvable', `the host "${host}" does not resolve`, { url });
      }
      if (addresses.length === 0 || addresses.some(isPrivateAddress)) {
        throw refused(url, 'the host resolves to a loopback, link-local or private address (set LICENSOR_WEBHOOKS_ALLOW_PRIVATE=true to allow)');
      }
    },
  };
}

interface WebhookAnswer {
  status: number;
  /** The first part of the answer's body. */
  text: string;
}

/** Sends one delivery; rejects when there was no answer (refused, unreachable, timed out, a refused address). */
type WebhookSend = (url: string, headers: Record<string, string>, body: string) => Promise<WebhookAnswer>;

/** How much of an answer is read: the rest is not needed to judge it. */
const ANSWER_BYTES = 4096;

export function webhookSender(options: { allowPrivate: boolean; timeoutMs: number }): WebhookSend {
  // Every address a connection is about to use is checked, not only the one a check saw earlier.
  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const bad = options.allowPrivate ? undefined : addresses.find((a) => isPrivateAddress(a.address));
      if (bad || addresses.length === 0) return callback(new Error(`refused: ${hostname} resolves to ${bad?.address ?? 'nothing'}, a private address`), '', 0);
      if (lookupOptions.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      return callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
  return async (url, headers, body) => {
    const parsed = parseUrl(url);
    const host = hostOf(parsed);
    if (isIP(host) && !options.allowPrivate && isPrivateAddress(host)) throw new Error(`refused: ${host} is a private address`);
    const request = parsed.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<WebhookAnswer>((resolve, reject) => {
      let settled = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        outcome();
      };
      const req = request(
        parsed,
        {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'licensor-webhooks' },
          lookup,
          agent: false,
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const answer = () => ({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).subarray(0, ANSWER_BYTES).toString('utf8') });
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            size += chunk.length;
            // Enough to judge and show it: the rest of a long answer is not waited for.
            if (size >= ANSWER_BYTES) {
              settle(() => resolve(answer()));
              res.destroy();
            }
          });
          res.on('end', () => settle(() => resolve(answer())));
          res.on('close', () => settle(() => reject(new Error('the answer was cut off'))));
          res.on('error', (err) => settle(() => reject(err)));
        },
      );
      // One bound for the whole exchange: a receiver that trickles its answer is as slow as one that says nothing.
      const deadline = setTimeout(() => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
      req.on('error', (err) => settle(() => reject(err)));
      req.end(body);
    });
  };
}
