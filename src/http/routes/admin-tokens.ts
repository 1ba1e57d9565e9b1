import { Router } from 'express';
import { createAdminToken, listAdminTokens, revokeAdminToken } from '../../domain/admin-tokens';
import type { Runtime } from '../../runtime';
import { grantOf } from '../admin-auth';
import { declareRoutes, refusals, adminRoute } from '../openapi/registry';
import { adminTokenChangeSchema, adminTokenCreatedSchema, adminTokenListSchema, whoamiSchema } from '../response-schemas';
import { adminTokenNameParamSchema, adminTokenRequestSchema } from '../../application/schemas';
import { parse } from '../../application/validate';
import { adminTokenView } from '../../application/views';

/** Named admin tokens and who is calling (docs/operations.md "Admin tokens"). */
export function adminTokens(runtime: Runtime): Router {
  const { ctx } = runtime;
  const router = Router();
  router.get('/v1/admin/whoami', (_req, res) => {
    const { name, actor, scope, products } = grantOf(res);
    res.json({ name, actor, scope, products });
  });
  router.get('/v1/admin/tokens', async (_req, res) => {
    res.json({ items: (await listAdminTokens(ctx)).map(adminTokenView) });
  });
  router.post('/v1/admin/tokens', async (req, res) => {
    const body = parse(adminTokenRequestSchema, req.body);
    const created = await createAdminToken(ctx, body, grantOf(res).actor);
    res.status(201).json({ token: adminTokenView(created.record), secret: created.token });
  });
  router.post('/v1/admin/tokens/:name/revoke', async (req, res) => {
    const { name } = parse(adminTokenNameParamSchema, req.params, 'path');
    const change = await revokeAdminToken(ctx, name, grantOf(res).actor);
    res.json({ token: adminTokenView(change.record), changed: change.changed });
  });
  return router;
}

export const adminTokensRoutes = declareRoutes([
  adminRoute({
    method: 'get',
    path: '/v1/admin/whoami',
    summary: 'Who is calling: the token name (null for the bootstrap token), its scope and products',
    responses: { 200: { description: 'The caller', schema: whoamiSchema } },
  }),
  adminRoute({
    method: 'get',
    path: '/v1/admin/tokens',
    summary: 'Named admin tokens, revoked ones too (never the tokens themselves)',
    responses: { 200: { description: 'The tokens', schema: adminTokenListSchema }, ...refusals(403) },
  }),
  adminRoute({
    method: 'post',
    path: '/v1/admin/tokens',
    summary: 'Create a named admin token with a scope; the answer shows the token this once',
    body: adminTokenRequestSchema,
    responses: { 201: { description: 'Created', schema: adminTokenCreatedSchema }, ...refusals(400, 403, 404, 409, 413, 415) },
  }),
  adminRoute({
    method: 'post',
    path: '/v1/admin/tokens/:name/revoke',
    summary: 'Revoke a named token (at once, on every process)',
    params: adminTokenNameParamSchema,
    responses: { 200: { description: 'Revoked (changed: false when it already was)', schema: adminTokenChangeSchema }, ...refusals(400, 403, 404) },
  }),
]);
