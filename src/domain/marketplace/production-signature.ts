import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Production-interface request signing (docs/marketplace.md §3.2) and the response
 * `Body-Sign` header (§3.4). Both are computed over the exact body bytes, never a re-serialisation.
 */

const hmacHex = (key: string, data: string | Buffer) => createHmac('sha256', key).update(data).digest('hex');

/** `hex(HMAC-SHA256(accessKey, accessKey + nonce + timestamp + lower(hex(HMAC-SHA256(accessKey, body)))))`, lower case. */
export function productionSignature(accessKey: string, nonce: string, timestamp: string, body: Buffer): string {
  return hmacHex(accessKey, accessKey + nonce + timestamp + hmacHex(accessKey, body));
}

/**
 * The configured access key that signed this request, or null. Several keys may be live during a
 * rotation; each is tried, in constant time and ignoring the hex case (the marketplace's examples use both).
 */
export function verifyProductionSignature(accessKeys: readonly string[], signature: string, nonce: string, timestamp: string, body: Buffer): string | null {
  if (!/^[0-9a-fA-F]{64}$/.test(signature)) return null;
  const given = Buffer.from(signature.toLowerCase(), 'utf8');
  let match: string | null = null;
  for (const key of accessKeys) {
    // Every key is tried even after a match, so the time taken does not tell which key matched.
    if (timingSafeEqual(given, Buffer.from(productionSignature(key, nonce, timestamp, body), 'utf8')) && match === null) match = key;
  }
  return match;
}

/** `Body-Sign: sign_type="HMAC-SHA256", signature="<base64(HMAC-SHA256(key, body))>"`, exactly as §3.4 shows. */
export function bodySignHeader(accessKey: string, body: Buffer): string {
  return `sign_type="HMAC-SHA256", signature="${createHmac('sha256', accessKey).update(body).digest('base64')}"`;
}

/** The query string the marketplace appends to the production URL for a body (§3.2). */
export function signedProductionQuery(accessKey: string, body: Buffer, timestamp: string, nonce: string): URLSearchParams {
  return new URLSearchParams({ signature: productionSignature(accessKey, nonce, timestamp, body), timestamp, nonce });
}
