import { licenseAnswerView, updateView } from '../../application/views';
import type { HeartbeatAnswer } from '../../domain/heartbeat';
import type { LicenseCode, Product } from '../../domain/types';

/** What a heartbeat answers: its status, the fresh lease token (null once the license is not usable), the license, any update notice. */
export function heartbeatAnswerView(answer: Pick<HeartbeatAnswer, 'status' | 'token' | 'code' | 'product'>) {
  return {
    status: answer.status,
    token: answer.token,
    license: licenseAnswerView(answer.code, answer.product, answer.status),
    update: updateView(answer.product),
  };
}

interface Tail {
  product: Product;
  status: string;
  json: string;
}

/**
 * The answer's JSON text: exactly `JSON.stringify(heartbeatAnswerView(answer))`, made without
 * building and serialising the license and update views on every beat. Their text is kept per code
 * object: a code held by the heartbeat view cache stays the same frozen object until it changes
 * (src/storage/heartbeat/heartbeat-view-cache.ts), so a beat finds it here; a code read afresh
 * makes it afresh. The token goes in as it is: a compact JWS is base64url and dots, nothing that
 * JSON escapes (src/tokens/key-ring.ts). Together a share of the heartbeat's own work on the main
 * thread (docs/performance.md#heartbeat).
 */
export function heartbeatAnswerJson(answer: Pick<HeartbeatAnswer, 'status' | 'token' | 'code' | 'product'>): string {
  const tail = tailOf(answer.code, answer.product, answer.status);
  const token = answer.token === null ? 'null' : `"${answer.token}"`;
  return `{"status":${JSON.stringify(answer.status)},"token":${token}${tail}`;
}

const tails = new WeakMap<LicenseCode, Tail>();

function tailOf(code: LicenseCode, product: Product, status: string): string {
  const kept = tails.get(code);
  if (kept !== undefined && kept.product === product && kept.status === status) return kept.json;
  const json = `,"license":${JSON.stringify(licenseAnswerView(code, product, status))},"update":${JSON.stringify(updateView(product))}}`;
  tails.set(code, { product, status, json });
  return json;
}
