import { timingSafeEqual } from 'node:crypto';
import { apigSignature, headerValue, isUnsignedPayload, parseSdkDate, SDK_DATE_WINDOW_MS, type ApigRequest } from '@licensor/client/contract';

/**
 * Verifies `SDK-HMAC-SHA256` signed calls to our copy of the marketplace open API
 * (docs/marketplace.md §1.1) when AK/SK pairs are configured. The signing half lives in
 * client/src/contract/apig-signing.ts, shared with the client and the simulator. A replay of a good signature
 * is the caller's to refuse (the verdict names the signature and its date).
 */
type ApigVerdict = { ok: true; accessKey: string; signature: string; signedAt: number } | { ok: false; reason: string };

/** Checks the Authorization header against the configured AK/SK pairs and the X-Sdk-Date window. */
export function verifyApigRequest(request: ApigRequest, secrets: ReadonlyMap<string, string>, now: number): ApigVerdict {
  const authorization = headerValue(request.headers.authorization);
  const m = /^SDK-HMAC-SHA256\s+Access=([^,\s]+)\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-fA-F]{64})$/.exec(authorization);
  if (!m) return { ok: false, reason: 'the Authorization header is not "SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…"' };
  const [, accessKey, signedList, signature] = m as unknown as [string, string, string, string];
  const secretKey = secrets.get(accessKey);
  if (secretKey === undefined) return { ok: false, reason: 'unknown access key' };
  const signed = signedList.split(';').map((h) => h.toLowerCase());
  if (!signed.includes('x-sdk-date')) return { ok: false, reason: 'x-sdk-date must be a signed header' };
  const sdkDate = headerValue(request.headers['x-sdk-date']);
  const at = parseSdkDate(sdkDate);
  if (at === null) return { ok: false, reason: "X-Sdk-Date must be yyyyMMdd'T'HHmmss'Z'" };
  if (Math.abs(now - at) > SDK_DATE_WINDOW_MS) return { ok: false, reason: 'X-Sdk-Date is more than 15 minutes from the server clock' };
  if (isUnsignedPayload(request.headers)) return { ok: false, reason: 'X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD is refused: the signature must cover the body' };
  const expected = apigSignature(request, signed, secretKey, sdkDate);
  if (!timingSafeEqual(Buffer.from(expected), Buffer.from(signature.toLowerCase()))) return { ok: false, reason: 'signature mismatch' };
  return { ok: true, accessKey, signature: expected, signedAt: at };
}
