import { Router } from 'express';
import type { DomainContext } from '../../domain/context';
import { activateMachine, deactivateMachine } from '../../domain/seat-allocation';
import { ACCEPT_COVERED_HEADER } from '@licensor/client/contract';
import { requestNonce, sendCoveredByToken, signedAnswers, type AnswerSigner } from '../answer-signing';
import { jsonRequest } from '../json-body';
import { declareRoutes, refusals } from '../openapi/registry';
import { clientAddress, codeKey, type CodeGuessGuard } from '../rate-limit';
import { activationIdParamSchema, activationRequestSchema, deactivationRequestSchema, heartbeatRequestSchema } from '../../application/schemas';
import { activationAnswerSchema, deactivationAnswerSchema, heartbeatAnswerSchema } from '../response-schemas';
import { parse } from '../../application/validate';
import { activationView, licenseAnswerView } from '../../application/views';

/** Client bodies are a code and a fingerprint: 32 KiB is far more than any real one. */
export const CLIENT_BODY_LIMIT = 32 * 1024;

/**
 * Our own client API (docs/server.md#client-api): activate and deactivate here; the heartbeat,
 * the hot path, is http/heartbeat/heartbeat-route.ts, which the app mounts ahead of everything else.
 */
export function clientApi(ctx: DomainContext, guard: CodeGuessGuard, signer: AnswerSigner): Router {
  const router = Router();
  // Every answer under these paths is signed, refusals included (docs/server.md "Signed answers"):
  // here for everything but POST /v1/heartbeat, which heartbeatRoute answers ahead of this router.
  router.use(['/v1/activations', '/v1/heartbeat'], signedAnswers(signer));
  const json = jsonRequest(CLIENT_BODY_LIMIT, true);

  router.post('/v1/activations', json, async (req, res) => {
    const code = codeKey((req.body as { code?: unknown } | undefined)?.code);
    // A client that takes the lease token as the answer's signature gets one signature, not two.
    const nonce = requestNonce(res);
    const coverNonce = nonce !== null && req.headers[ACCEPT_COVERED_HEADER] === 'token' ? nonce : null;
    const result = await guard.run(clientAddress(req), code, () => activateMachine(ctx, parse(activationRequestSchema, req.body), 'client', coverNonce));
    const answer = {
      // The secret is in this answer only, which is signed (or covered by the token, which
      // carries its hash): the client keeps it to prove it holds the seat.
      activation: { ...activationView(result.activation), secret: result.secret },
      token: result.token,
      license: licenseAnswerView(result.code, result.product, result.code.status),
    };
    const status = result.created ? 201 : 200;
    if (coverNonce !== null) sendCoveredByToken(res, signer, JSON.stringify(answer), status);
    else res.status(status).json(answer);
  });

  router.delete('/v1/activations/:id', json, async (req, res) => {
    const { id } = parse(activationIdParamSchema, req.params, 'path');
    const token = proofToken(req.headers.authorization, req.body);
    const activation = await deactivateMachine(ctx, id, token, 'client');
    res.json({ activation: activationView(activation) });
  });

  return router;
}

/** The proof of holding an activation: a bearer token, or `{ "token" }` in the body. */
function proofToken(authorization: string | undefined, body: unknown): string {
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  if (bearer) return bearer;
  return parse(deactivationRequestSchema, body ?? {}).token;
}

/** OpenAPI declarations of the routes above (src/http/openapi/registry.ts); keep them beside the handlers. */
export const clientApiRoutes = declareRoutes([
  {
    method: 'post',
    path: '/v1/activations',
    tag: 'Client API',
    summary: 'Activate this machine on an authorization code (takes a seat)',
    description:
      'Sent with `Licensor-Nonce` and `Licensor-Accept-Covered: token`, the answer is authenticated by its lease token alone (`Licensor-Signature: …, covered="token"`): the token carries the nonce and the hash of the secret. Otherwise the answer body is signed.',
    body: activationRequestSchema,
    responses: {
      201: { description: 'A new seat for this machine', schema: activationAnswerSchema },
      200: { description: 'This machine (matched by fingerprint) already holds a seat: the same activation', schema: activationAnswerSchema },
      ...refusals(400, 404, 409, 413, 415, 429, 503),
    },
  },
  {
    method: 'post',
    path: '/v1/heartbeat',
    tag: 'Client API',
    summary: 'Report liveness; answers the license status and a fresh lease token',
    body: heartbeatRequestSchema,
    responses: {
      200: { description: 'The license status; token is null once it is expired, frozen or released', schema: heartbeatAnswerSchema },
      ...refusals(400, 403, 404, 409, 413, 415, 503),
    },
  },
  {
    method: 'delete',
    path: '/v1/activations/:id',
    tag: 'Client API',
    summary: 'Deactivate this machine and free its seat',
    description:
      'Proof of holding the activation: a lease token the server signed for it (lapsed ones count), as a bearer token or as `{ "token" }` in the body.',
    auth: ['leaseToken'],
    params: activationIdParamSchema,
    body: deactivationRequestSchema,
    bodyRequired: false,
    responses: { 200: { description: 'Deactivated', schema: deactivationAnswerSchema }, ...refusals(400, 403, 404, 409, 415, 503) },
  },
]);
