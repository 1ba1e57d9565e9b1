import type { Request, RequestHandler, Response } from 'express';
import { answerSigningInput, NONCE_PATTERN, requestDigest, UNREAD_BODY } from '@licensor/client/contract';
import { InvalidInput } from '../domain/errors';
import { INTERNAL_ERROR_BODY } from './error-response';
import { hasNoBody } from './json-body';

/** What signs answers: the server's key ring (src/tokens/key-ring.ts), with its cached current key. */
export interface AnswerSigner {
  /** On the thread pool when other requests are in flight, as lease tokens are (key-ring.ts). */
  signAnswer(input: Buffer): Promise<string>;
  tokenCoveredHeader(): string;
}

/**
 * Signs every answer of the client API, refusals included, in ONE place (docs/server.md "Signed
 * answers"; the format is client/src/contract/answer-signature.ts). Mounted in front of the client-API routes:
 * it wraps `res.send`, which every answer goes through — the route's own `res.json`, the error
 * mapper's, the not-found responder's — and signs the exact bytes Express is about to write.
 *
 * A heartbeat answer that carries a fresh lease token is not signed a second time: the route
 * sends it with `sendCoveredByToken`, and the token, which carries the client's nonce,
 * authenticates it. That keeps the hot path at one signature (an Ed25519 signature costs about as
 * much as a whole bare Express request).
 *
 * The signature is made where a lease token's is (on the thread pool unless the request is alone,
 * docs/performance.md#why-signing-goes-to-the-thread-pool), and the answer is written when it is
 * ready. A second answer asked for meanwhile is dropped, as Express refuses one after the first
 * has begun. An answer that cannot be signed becomes an unsigned 500.
 */
export function signedAnswers(signer: AnswerSigner): RequestHandler {
  return (req, res, next) => {
    const given = req.headers['licensor-nonce'];
    const valid = typeof given === 'string' && NONCE_PATTERN.test(given);
    const nonce = valid ? given : '';
    if (valid) res.setHeader('Licensor-Nonce', nonce);
    const send = res.send;
    let signing = false;
    res.send = function signedSend(this: Response, body?: unknown) {
      // res.json() and res.send(object) come back here with the serialised string.
      if (!(typeof body === 'string' || Buffer.isBuffer(body)) || res.headersSent) return send.call(this, body);
      if (signing) return this;
      signing = true;
      // Exactly the bytes Express writes for a string body (utf8).
      const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      const input = answerSigningInput(
        { nonce, method: req.method, target: req.originalUrl, requestDigest: receivedDigest(req, res), status: res.statusCode },
        bytes,
      );
      signer.signAnswer(input).then(
        (header) => {
          signing = false;
          res.setHeader('Licensor-Signature', header);
          send.call(this, body);
        },
        () => {
          // The only cause is a key ring without a current key. Said unsigned, as the error
          // responder would say any 500, which a client takes for a server it cannot reach.
          signing = false;
          res.locals.errorCode = 'answer_not_signed';
          res.status(500).type('json');
          send.call(this, JSON.stringify(INTERNAL_ERROR_BODY));
        },
      );
      return this;
    } as Response['send'];
    if (given !== undefined && !valid) {
      next(new InvalidInput('invalid_nonce', 'the Licensor-Nonce header must be 16–128 base64url characters'));
      return;
    }
    next();
  };
}

/**
 * The digest of the request body as the server read it (kept in `res.locals.rawBody` by the body
 * parsers). A body that was sent and not read — too large (413), or refused before it was read —
 * has none: UNREAD_BODY stands for it, never the digest of an empty body it was not.
 */
function receivedDigest(req: Request, res: Response): string {
  const received = res.locals.rawBody as Buffer | undefined;
  if (received !== undefined) return requestDigest(received);
  return hasNoBody(req) ? requestDigest(undefined) : UNREAD_BODY;
}

/**
 * Sends an answer (its JSON text) whose lease token carries the client's nonce: the token is its
 * signature. The bytes and headers are those `res.json` makes, written without Express's response layers,
 * a share of the heartbeat's own work worth removing (docs/performance.md#heartbeat).
 */
export function sendCoveredByToken(res: Response, signer: AnswerSigner, body: string, status = 200): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body, 'utf8'));
  res.setHeader('Licensor-Signature', signer.tokenCoveredHeader());
  res.end(body, 'utf8');
}

/** The nonce of this request, validated by signedAnswers (null when the client sent none). */
export function requestNonce(res: Response): string | null {
  const value = res.getHeader('Licensor-Nonce');
  return typeof value === 'string' ? value : null;
}
