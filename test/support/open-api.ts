import { signApigRequest } from '@licensor/client/contract';

/** The marketplace-compatible open API's base path (docs/marketplace.md §3). */
export const OPEN_API = '/api/mkp-openapi-public/global';

export interface SignedOpenApiRequest {
  path: string;
  bytes: Buffer;
  headers: Record<string, string>;
}

/**
 * An open-API call signed SDK-HMAC-SHA256 as the marketplace's gateway wants it (§1.1), with
 * content-type, x-sdk-date and `extra` signed, built but not sent: to send the same bytes twice.
 */
export function signedOpenApiRequest(
  path: string,
  body: unknown,
  at: number,
  credentials: { accessKey: string; secretKey: string },
  extra: Record<string, string> = {},
): SignedOpenApiRequest {
  const bytes = Buffer.from(JSON.stringify(body));
  const headers = { 'content-type': 'application/json', ...extra };
  const auth = signApigRequest({ method: 'POST', path: OPEN_API + path, query: '', body: bytes, headers }, credentials, at);
  return { path: OPEN_API + path, bytes, headers: { ...headers, ...auth } };
}

/** Sends a built request to a server, byte for byte. */
export async function sendOpenApi(base: string, request: SignedOpenApiRequest): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(base + request.path, { method: 'POST', headers: request.headers, body: request.bytes });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text), text };
}
