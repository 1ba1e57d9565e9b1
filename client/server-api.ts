/**
 * The server's client API (docs/server.md; src/http/routes/client-api.ts) over fetch. Refusals
 * (`{ error: { code, message } }`) become a LicenseClientError with the server's code.
 */
import { LicenseClientError } from './errors';
import type { FingerprintHashes } from './fingerprint/components';

export interface LicenseView {
  status: string;
  expiresAt: string;
  seats: number;
  features: string[];
  product: string;
}

export interface ActivationAnswer {
  activation: { id: string; status: string };
  token: string;
  license: LicenseView;
}

export interface HeartbeatAnswer {
  status: string;
  token: string | null;
  license: LicenseView;
}

export type Fetch = typeof fetch;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export class ServerApi {
  constructor(
    private readonly baseUrl: string,
    private readonly fetchImpl: Fetch,
    private readonly timeoutMs: number,
  ) {}

  activate(code: string, fingerprint: FingerprintHashes, environment: Record<string, string | boolean | null>): Promise<ActivationAnswer> {
    return this.request('POST', '/v1/activations', { code, fingerprint, environment }, (body) => {
      if (!isObject(body) || typeof body.token !== 'string' || !isObject(body.activation) || !isObject(body.license)) return null;
      return body as unknown as ActivationAnswer;
    });
  }

  heartbeat(activationId: string, fingerprint: FingerprintHashes): Promise<HeartbeatAnswer> {
    return this.request('POST', '/v1/heartbeat', { activationId, fingerprint }, (body) => {
      if (!isObject(body) || typeof body.status !== 'string' || !(typeof body.token === 'string' || body.token === null)) return null;
      return body as unknown as HeartbeatAnswer;
    });
  }

  deactivate(activationId: string, token: string): Promise<{ activation: { id: string; status: string } }> {
    return this.request('DELETE', `/v1/activations/${encodeURIComponent(activationId)}`, undefined, (body) =>
      isObject(body) && isObject(body.activation) ? (body as { activation: { id: string; status: string } }) : null,
      { authorization: `Bearer ${token}` },
    );
  }

  /** A JWK Set from an absolute URL (the configured jwksUrl). */
  jwks(url: string): Promise<{ keys: unknown[] }> {
    return this.request('GET', url, undefined, (body) => (isObject(body) && Array.isArray(body.keys) ? (body as { keys: unknown[] }) : null));
  }

  private async request<T>(
    method: string,
    path: string,
    body: unknown,
    accept: (body: unknown) => T | null,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const url = /^https?:\/\//.test(path) ? path : this.baseUrl.replace(/\/+$/, '') + path;
    let res: Response;
    let text: string;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
      text = await res.text();
    } catch (cause) {
      throw new LicenseClientError('server_unreachable', `the license server did not answer ${method} ${url}`, { cause });
    }
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const error = isObject(parsed) && isObject(parsed.error) ? parsed.error : null;
      if (error && typeof error.code === 'string') {
        throw new LicenseClientError(error.code, typeof error.message === 'string' ? error.message : error.code, {
          status: res.status,
          ...(isObject(error.details) ? { details: error.details } : {}),
        });
      }
      throw new LicenseClientError(res.status >= 500 ? 'server_unreachable' : 'bad_response', `the license server answered HTTP ${res.status}`, {
        status: res.status,
      });
    }
    const value = accept(parsed);
    if (value === null) throw new LicenseClientError('bad_response', `the license server's answer to ${method} ${path} has an unexpected shape`, { status: res.status });
    return value;
  }
}
