import { Router, type RequestHandler } from 'express';
import type { Clock } from '../../domain/clock';
import type { KeyRing } from '../../tokens/key-ring';
import { signedAnswers } from '../answer-signing';
import { declareRoutes } from '../openapi/registry';
import { jwksSchema } from '../response-schemas';

/** The public keys that verify lease tokens, and the endorsements that chain them (docs/server.md "Key endorsements"). */
export function wellKnown(keyRing: KeyRing, clock: Clock): Router {
  const router = Router();
  const send: RequestHandler = (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(keyRing.jwks(clock.now()));
  };
  router.get('/.well-known/jwks.json', send);
  // Under /v1 it is a client-API answer, signed like the others (docs/server.md "Signed answers").
  router.get('/v1/jwks', signedAnswers(keyRing), send);
  return router;
}

const jwksAnswer = {
  200: {
    description: 'The JWK Set: the current key and retired keys whose tokens may still be live, and every key endorsement (Cache-Control: max-age=300)',
    schema: jwksSchema,
  },
};

export const wellKnownRoutes = declareRoutes([
  { method: 'get', path: '/.well-known/jwks.json', tag: 'Client API', summary: 'Public keys that verify lease tokens', responses: jwksAnswer },
  {
    method: 'get',
    path: '/v1/jwks',
    tag: 'Client API',
    summary: 'Public keys that verify lease tokens (same as /.well-known/jwks.json)',
    responses: jwksAnswer,
  },
]);
