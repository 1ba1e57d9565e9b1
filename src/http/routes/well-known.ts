import { Router, type RequestHandler } from 'express';
import type { Clock } from '../../domain/clock';
import type { KeyRing } from '../../tokens/key-ring';

/** The public keys that verify lease tokens (PRODUCT.md §5). */
export function wellKnown(keyRing: KeyRing, clock: Clock): Router {
  const router = Router();
  const send: RequestHandler = (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(keyRing.jwks(clock.now()));
  };
  router.get('/.well-known/jwks.json', send);
  router.get('/v1/jwks', send);
  return router;
}
