import type { RequestHandler } from 'express';
import { readHeartbeatRequest } from '../../application/schemas';
import type { DomainContext } from '../../domain/context';
import { recordHeartbeat } from '../../domain/heartbeat';
import { requestNonce, sendCoveredByToken, signedAnswers, type AnswerSigner } from '../answer-signing';
import { jsonRequest } from '../json-body';
import { heartbeatAnswerJson, heartbeatAnswerView } from './heartbeat-answer';
import { CLIENT_BODY_LIMIT } from '../routes/client-api';

/**
 * POST /v1/heartbeat, the hot path: signed answers, the JSON body, the route, as one route's
 * handlers. Validation, one read (from memory when cached), one signature. Keep it that way: the
 * token carries the client's nonce and is the answer's signature; only answers without a token
 * are signed again.
 */
export function heartbeatRoute(ctx: DomainContext, signer: AnswerSigner): RequestHandler[] {
  return [
    signedAnswers(signer),
    jsonRequest(CLIENT_BODY_LIMIT, true),
    async (req, res) => {
      const body = readHeartbeatRequest(req.body);
      const nonce = requestNonce(res);
      const proof = body.secret !== undefined ? { secret: body.secret } : body.token !== undefined ? { token: body.token } : null;
      const answer = await recordHeartbeat(ctx, { activationId: body.activationId, fingerprint: body.fingerprint, proof }, nonce);
      // The token carries the client's nonce only when the client sent one: otherwise the answer is signed too.
      if (answer.token !== null && nonce !== null) sendCoveredByToken(res, signer, heartbeatAnswerJson(answer));
      else res.json(heartbeatAnswerView(answer));
    },
  ];
}
