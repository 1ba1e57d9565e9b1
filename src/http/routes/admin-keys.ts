import { Router } from 'express';
import { describeKey, listSigningKeys, rotateSigningKey } from '../../domain/signing-keys';
import type { Runtime } from '../../runtime';
import { grantOf } from '../admin-auth';
import { adminRoute, declareRoutes } from '../openapi/registry';
import { keyListSchema, keyRotationSchema } from '../response-schemas';

/** The signing keys: list and rotate (docs/deploy.md "Rotating the signing key"). */
export function adminKeys(runtime: Runtime): Router {
  const { ctx } = runtime;
  const router = Router();
  router.get('/v1/admin/keys', async (_req, res) => {
    res.json({ items: await listSigningKeys(ctx), current: runtime.keyRing.currentKid });
  });
  router.post('/v1/admin/keys/rotate', async (_req, res) => {
    const result = await rotateSigningKey(ctx, runtime.keyPolicy, grantOf(res).actor);
    await runtime.reloadKeys();
    res.status(201).json({ current: describeKey(result.current), retired: result.retired.map(describeKey) });
  });
  return router;
}

/** OpenAPI declarations of the routes above (src/http/openapi/registry.ts); keep them beside the handlers. */
export const adminKeysRoutes = declareRoutes([
  adminRoute({
    method: 'get',
    path: '/v1/admin/keys',
    summary: 'Signing keys (public parts only)',
    responses: { 200: { description: 'The keys', schema: keyListSchema } },
  }),
  adminRoute({
    method: 'post',
    path: '/v1/admin/keys/rotate',
    summary: 'Rotate the signing key (the previous one stays published)',
    responses: { 201: { description: 'The new current key and the retired ones', schema: keyRotationSchema } },
  }),
]);
