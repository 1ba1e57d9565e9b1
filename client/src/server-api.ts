/**
 * The server's client API (docs/server.md; src/http/routes/client-api.ts) over fetch. Every
 * request carries a fresh nonce and every answer is authenticated before anything in it is
 * believed (client/src/contract/answer-signature.ts): a body signature over the answer, the nonce and the
 * request, or — for a heartbeat answer that carries a lease token, and an activation's answer
 * when this client asks for it — the token, which then must carry the nonce (checked by
 * LicenseClient once the token is verified). Refusals
 * (`{ error: { code, message } }`) become a LicenseClientError with the server's code only
 * after their signature holds.
 */
import {
  ACCEPT_COVERED_HEADER,
  answerSigningInput,
  NONCE_HEADER,
  newNonce,
  parseSignatureHeader,
  requestDigest,
  SIGNATURE_HEADER,
  UNREAD_BODY,
  verifyAnswerSignature,
  type AnswerFailure,
} from './contract/answer-signature';
import { LicenseClientError } from './errors';
import type { FingerprintHashes } from './contract/fingerprint/components';
import { isObject } from './contract/is-object';
import type { JwsAlgorithm, KeySet } from './contract/key-set';

interface LicenseView {
  status: string;
  expiresAt: string;
  seats: number;
  features: string[];
  product: string;
}

/** The product's published versions, as a heartbeat answer carries them (docs/policies.md). */
interface PublishedVersions {
  latestVersion: string;
  minimumVersion: string | null;
}

/** How an answer was authenticated: its body signature, or the lease token it carries (which must hold `nonce`). */
export type Authentication = { by: 'signature' } | { by: 'token'; nonce: string };

interface ActivationAnswer {
  /** `secret` proves, on every heartbeat, that this client holds the activation (docs/security.md). */
  activation: { id: string; status: string; secret: string };
  token: string;
  license: LicenseView;
  /** By the token: its `nonce` and `activation.secretHash` must then match the request and the secret. */
  authentication: Authentication;
}

export interface HeartbeatAnswer {
  status: string;
  token: string | null;
  license: LicenseView;
  update?: PublishedVersions | null;
  authentication: Authentication;
}

export type Fetch = typeof fetch;

/** The keys answers are verified with, and how to learn an unknown one through the endorsement chain. */
export interface AnswerTrust {
  keys: KeySet;
  algorithms: ReadonlySet<JwsAlgorithm>;
  /** Fetches the published endorsements and learns the key `kid` if a chain from a trusted key reaches it; false when none does. */
  learnKey(kid: string): Promise<boolean>;
}

/** Why an answer was refused: its signature, or what its verified token says against the request. */
type UntrustedReason = AnswerFailure | 'nonce_mismatch' | 'wrong_activation' | 'wrong_fingerprint' | 'wrong_secret';

const FAILURE_TEXT: Readonly<Record<UntrustedReason, string>> = {
  unsigned: 'the answer carries no signature',
  malformed_signature: 'the answer signature header is malformed',
  alg_not_allowed: 'the answer is signed with an algorithm this client does not allow',
  unknown_key: 'the answer is signed with a key this client does not trust',
  bad_signature: 'the answer signature does not verify (altered, replayed, or answering another request)',
  nonce_mismatch: "the answer's token does not carry this request's nonce (replayed, or answering another request)",
  wrong_activation: "the answer's token is for another activation",
  wrong_fingerprint: "the answer's token names a fingerprint other than the one this client sent",
  wrong_secret: "the answer's secret is not the one its token vouches for",
};

/** A refused answer: it did not come from the license server this client trusts, or not for this request. */
export function untrustedAnswer(reason: UntrustedReason, status?: number): LicenseClientError {
  const text = FAILURE_TEXT[reason];
  return new LicenseClientError('untrusted_answer', `refused the license server's answer: ${text}`, {
    ...(status === undefined ? {} : { status }),
    details: { reason },
  });
}

export class ServerApi {
  constructor(
    private readonly baseUrl: string,
    private readonly fetchImpl: Fetch,
    private readonly timeoutMs: number,
    private readonly trust: AnswerTrust,
  ) {}

  /** Asks for an answer covered by its lease token: one signature on the server, not two. */
  async activate(code: string, fingerprint: FingerprintHashes, environment: Record<string, string | boolean | null>): Promise<ActivationAnswer> {
    const { value, authentication } = await this.request(
      'POST',
      '/v1/activations',
      { code, fingerprint, environment },
      (body) => {
        if (!isObject(body) || typeof body.token !== 'string' || !isObject(body.activation) || !isObject(body.license)) return null;
        if (typeof body.activation.id !== 'string' || typeof body.activation.secret !== 'string') return null;
        return body as unknown as Omit<ActivationAnswer, 'authentication'>;
      },
      { [ACCEPT_COVERED_HEADER]: 'token' },
      [200, 201],
    );
    return { ...value, authentication };
  }

  /** `proof`: the activation's secret, or (a store without one) the lease token held. */
  async heartbeat(activationId: string, fingerprint: FingerprintHashes, proof: { secret: string } | { token: string }): Promise<HeartbeatAnswer> {
    const { value, authentication } = await this.request(
      'POST',
      '/v1/heartbeat',
      { activationId, fingerprint, ...proof },
      (body) => {
        if (!isObject(body) || typeof body.status !== 'string' || !(typeof body.token === 'string' || body.token === null)) return null;
        return body as unknown as Omit<HeartbeatAnswer, 'authentication'>;
      },
      {},
      [200],
    );
    // Authenticated by its token: the caller believes nothing outside the verified token.
    if (authentication.by === 'token' && typeof value.token !== 'string') throw untrustedAnswer('unsigned', 200);
    return { ...value, authentication };
  }

  deactivate(activationId: string, token: string): Promise<{ activation: { id: string; status: string } }> {
    return this.request(
      'DELETE',
      `/v1/activations/${encodeURIComponent(activationId)}`,
      undefined,
      (body) => (isObject(body) && isObject(body.activation) ? (body as { activation: { id: string; status: string } }) : null),
      { authorization: `Bearer ${token}` },
    ).then((r) => r.value);
  }

  /**
   * The key endorsements published beside the JWKS at an absolute URL (jwksUrl). Not authenticated
   * as an answer, and it need not be: each endorsement is a signature that only adds a key when it
   * chains to a key this client already trusts (client/src/contract/key-endorsement.ts).
   */
  endorsements(url: string): Promise<unknown[]> {
    return this.request('GET', url, undefined, (body) => (isObject(body) && Array.isArray(body.keys) ? body : null)).then((r) =>
      Array.isArray(r.value.endorsements) ? r.value.endorsements : [],
    );
  }

  private async request<T>(
    method: string,
    path: string,
    body: unknown,
    accept: (body: unknown) => T | null,
    headers: Record<string, string> = {},
    /** The statuses of answers this request takes as authenticated by the lease token they carry. */
    coveredStatuses: readonly number[] = [],
  ): Promise<{ value: T; authentication: Authentication }> {
    const absolute = /^https?:\/\//i.test(path);
    const url = absolute ? path : this.baseUrl.replace(/\/+$/, '') + path;
    const nonce = newNonce();
    const sent = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    let res: Response;
    let bytes: Buffer;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers: {
          accept: 'application/json',
          ...(sent === undefined ? {} : { 'content-type': 'application/json' }),
          ...(absolute ? {} : { [NONCE_HEADER]: nonce }),
          ...headers,
        },
        ...(sent === undefined ? {} : { body: sent }),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
      bytes = Buffer.from(await res.arrayBuffer());
    } catch (cause) {
      throw new LicenseClientError('server_unreachable', `the license server did not answer ${method} ${url}`, { cause });
    }
    // Nothing of the answer is read before it is authenticated (the endorsements excepted, see endorsements()).
    const authentication: Authentication = absolute
      ? { by: 'signature' }
      : await this.authenticate(
          res,
          bytes,
          // A body refused for its size is not read, so the server signs the unread-body mark instead of its digest.
          { nonce, method, target: path, requestDigest: res.status === 413 && sent !== undefined ? UNREAD_BODY : requestDigest(sent), status: res.status },
          coveredStatuses,
        );
    let parsed: unknown;
    try {
      parsed = bytes.length === 0 ? undefined : JSON.parse(bytes.toString('utf8'));
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
    if (value === null)
      throw new LicenseClientError('bad_response', `the license server's answer to ${method} ${path} has an unexpected shape`, { status: res.status });
    return { value, authentication };
  }

  private async authenticate(
    res: Response,
    bytes: Buffer,
    request: Parameters<typeof answerSigningInput>[0],
    coveredStatuses: readonly number[],
  ): Promise<Authentication> {
    const raw = res.headers.get(SIGNATURE_HEADER);
    const header = parseSignatureHeader(raw);
    if (raw !== null && header === null) throw untrustedAnswer('malformed_signature', res.status);
    if (header !== null && header.sig !== null) {
      const input = answerSigningInput(request, bytes);
      let failure = verifyAnswerSignature(header, input, this.trust.keys, this.trust.algorithms);
      if (failure === 'unknown_key' && (await this.trust.learnKey(header.kid))) {
        failure = verifyAnswerSignature(header, input, this.trust.keys, this.trust.algorithms);
      }
      if (failure === 'unknown_key') {
        throw new LicenseClientError(
          'untrusted_key',
          `the server signed its answer with key ${header.kid}, which no endorsement from a pinned key vouches for`,
          {
            status: res.status,
          },
        );
      }
      if (failure !== null) throw untrustedAnswer(failure, res.status);
      return { by: 'signature' };
    }
    // An unsigned server error is what a proxy or load balancer in front says while the server is
    // away: treated as no answer at all, which changes nothing.
    if (res.status >= 500)
      throw new LicenseClientError('server_unreachable', `the license server answered HTTP ${res.status} (unsigned)`, { status: res.status });
    if (coveredStatuses.includes(res.status)) return { by: 'token', nonce: request.nonce };
    throw untrustedAnswer('unsigned', res.status);
  }
}
