import { Router } from 'express';
import { requireScope } from '../../domain/admin-tokens';
import { listAudit } from '../../domain/audit-trail';
import { freezeCode, getActivation, getCode, issueCode, listCodeActivations, listCodes, releaseCode, renewCode, unfreezeCode, type CodeView } from '../../domain/codes';
import { createProduct, getProduct, listProducts, publishVersion } from '../../domain/products';
import { deactivateMachine } from '../../domain/seat-allocation';
import { describeKey, listSigningKeys, rotateSigningKey } from '../../domain/signing-keys';
import type { Runtime } from '../../runtime';
import { grantOf } from '../admin-auth';
import { jsonRequest } from '../json-body';
import { declareRoutes, refusals, type RouteDoc } from '../openapi/registry';
import {
  adminActivationAnswerSchema,
  adminActivationListSchema,
  auditPageSchema,
  codeAnswerSchema,
  codeChangeSchema,
  codePageSchema,
  keyListSchema,
  keyRotationSchema,
  productAnswerSchema,
  productListSchema,
} from '../response-schemas';
import {
  activationIdParamSchema,
  issueCodeRequestSchema,
  listAuditQuerySchema,
  listCodesQuerySchema,
  productNameParamSchema,
  productRequestSchema,
  publishVersionRequestSchema,
  renewalOf,
  renewRequestSchema,
  validityOf,
} from '../../application/schemas';
import { parse } from '../../application/validate';
import { adminActivationView, auditView, codeView, productView } from '../../application/views';


/** The operator's API (docs/server.md#admin-api), behind the admin bearer token. */
export function adminApi(runtime: Runtime): Router {
  const { ctx } = runtime;
  const router = Router();
  router.use('/v1/admin', jsonRequest('64kb'));

  router.get('/v1/admin/products', async (_req, res) => {
    res.json({ items: (await listProducts(ctx)).map(productView) });
  });
  router.post('/v1/admin/products', async (req, res) => {
    const body = parse(productRequestSchema, req.body);
    res.status(201).json({ product: productView(await createProduct(ctx, body, grantOf(res).actor)) });
  });
  router.get('/v1/admin/products/:name', async (req, res) => {
    const { name } = parse(productNameParamSchema, req.params, 'path');
    res.json({ product: productView(await getProduct(ctx, name)) });
  });
  // Update notices (docs/policies.md): heartbeat answers carry the latest version from now on.
  router.post('/v1/admin/products/:name/versions', async (req, res) => {
    const { name } = parse(productNameParamSchema, req.params, 'path');
    const body = parse(publishVersionRequestSchema, req.body);
    res.status(201).json({ product: productView(await publishVersion(ctx, name, body, grantOf(res).actor)) });
  });

  router.post('/v1/admin/codes', async (req, res) => {
    const body = parse(issueCodeRequestSchema, req.body);
    requireScope(grantOf(res), 'codes', body.product);
    const { product, seats, concurrent, features, metadata, test } = body;
    const code = await issueCode(ctx, { product, seats, concurrent, features, metadata, test, validity: validityOf(body) }, grantOf(res).actor);
    res.status(201).json({ code: codeView(code) });
  });
  router.get('/v1/admin/codes', async (req, res) => {
    const q = parse(listCodesQuerySchema, req.query, 'query');
    const page = await listCodes(
      ctx,
      { product: q.product, status: q.status as CodeView['status'] | undefined, search: q.q, test: q.test },
      q.limit,
      q.cursor ?? null,
    );
    res.json({ items: page.items.map(codeView), nextCursor: page.nextCursor });
  });
  router.get('/v1/admin/codes/:code', async (req, res) => {
    res.json({ code: codeView(await getCode(ctx, req.params.code)) });
  });
  router.get('/v1/admin/codes/:code/activations', async (req, res) => {
    res.json({ items: (await listCodeActivations(ctx, req.params.code)).map(adminActivationView) });
  });
  router.post('/v1/admin/codes/:code/renew', async (req, res) => {
    const body = parse(renewRequestSchema, req.body ?? {});
    // A codes token renews only its products' codes: the code's product decides.
    if (grantOf(res).products !== null) requireScope(grantOf(res), 'codes', (await getCode(ctx, req.params.code)).productName);
    const change = await renewCode(ctx, req.params.code, renewalOf(body), grantOf(res).actor);
    res.json({ code: codeView(change.code), changed: change.changed });
  });
  for (const [action, run] of [
    ['freeze', freezeCode],
    ['unfreeze', unfreezeCode],
    ['release', releaseCode],
  ] as const) {
    router.post(`/v1/admin/codes/:code/${action}`, async (req, res) => {
      const change = await run(ctx, req.params.code as string, grantOf(res).actor);
      res.json({ code: codeView(change.code), changed: change.changed });
    });
  }

  router.get('/v1/admin/activations/:id', async (req, res) => {
    const { id } = parse(activationIdParamSchema, req.params, 'path');
    res.json({ activation: adminActivationView(await getActivation(ctx, id)) });
  });
  router.delete('/v1/admin/activations/:id', async (req, res) => {
    const { id } = parse(activationIdParamSchema, req.params, 'path');
    const activation = await deactivateMachine(ctx, id, null, grantOf(res).actor);
    res.json({ activation: adminActivationView(activation) });
  });

  router.get('/v1/admin/audit', async (req, res) => {
    const q = parse(listAuditQuerySchema, req.query, 'query');
    const page = await listAudit(ctx, { code: q.code, entityId: q.entity, action: q.action }, q.limit, q.cursor ?? null);
    res.json({ items: page.items.map(auditView), nextCursor: page.nextCursor });
  });

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
export const admin = (route: Omit<RouteDoc, 'tag' | 'auth'>): RouteDoc => ({
  ...route,
  tag: 'Admin API',
  auth: ['adminToken'],
  responses: { ...refusals(401, 403, 503), ...route.responses },
});

export const adminApiRoutes = declareRoutes([
  admin({ method: 'get', path: '/v1/admin/products', summary: 'List products', responses: { 200: { description: 'Every product', schema: productListSchema } } }),
  admin({
    method: 'post',
    path: '/v1/admin/products',
    summary: 'Create a product (its seat mode, lease, heartbeat interval and matching strategy)',
    body: productRequestSchema,
    responses: { 201: { description: 'Created', schema: productAnswerSchema }, ...refusals(400, 409, 413, 415) },
  }),
  admin({
    method: 'get',
    path: '/v1/admin/products/:name',
    summary: 'Show a product',
    params: productNameParamSchema,
    responses: { 200: { description: 'The product', schema: productAnswerSchema }, ...refusals(400, 404) },
  }),
  admin({
    method: 'post',
    path: '/v1/admin/products/:name/versions',
    summary: 'Publish the latest version of a product (update notices on heartbeats); required: true makes it the minimum',
    params: productNameParamSchema,
    body: publishVersionRequestSchema,
    responses: { 201: { description: 'Published', schema: productAnswerSchema }, ...refusals(400, 404, 409, 413, 415) },
  }),
  admin({
    method: 'post',
    path: '/v1/admin/codes',
    summary: 'Issue an authorization code',
    body: issueCodeRequestSchema,
    responses: { 201: { description: 'Issued', schema: codeAnswerSchema }, ...refusals(400, 404, 413, 415) },
  }),
  admin({
    method: 'get',
    path: '/v1/admin/codes',
    summary: 'List codes, newest first (keyset paging)',
    query: listCodesQuerySchema,
    responses: { 200: { description: 'A page of codes', schema: codePageSchema }, ...refusals(400) },
  }),
  admin({
    method: 'get',
    path: '/v1/admin/codes/:code',
    summary: 'Show a code (by the code in any form, or its id)',
    responses: { 200: { description: 'The code', schema: codeAnswerSchema }, ...refusals(400, 404) },
  }),
  admin({
    method: 'get',
    path: '/v1/admin/codes/:code/activations',
    summary: "A code's machines",
    responses: { 200: { description: 'Its activations, live and ended', schema: adminActivationListSchema }, ...refusals(400, 404) },
  }),
  admin({
    method: 'post',
    path: '/v1/admin/codes/:code/renew',
    summary: 'Renew: { days } from the later of now and the expiry, or { expiresAt }',
    body: renewRequestSchema,
    responses: { 200: { description: 'Renewed (changed: false when the date was already that)', schema: codeChangeSchema }, ...refusals(400, 404, 409, 413, 415) },
  }),
  ...(['freeze', 'unfreeze', 'release'] as const).map((action) =>
    admin({
      method: 'post',
      path: `/v1/admin/codes/:code/${action}`,
      summary: action === 'release' ? 'Release the code (terminal; every seat is freed)' : `${action[0]!.toUpperCase()}${action.slice(1)} the code`,
      responses: { 200: { description: 'Done (changed: false when it already was)', schema: codeChangeSchema }, ...refusals(400, 404, 409) },
    }),
  ),
  admin({
    method: 'get',
    path: '/v1/admin/activations/:id',
    summary: 'Show an activation',
    params: activationIdParamSchema,
    responses: { 200: { description: 'The activation', schema: adminActivationAnswerSchema }, ...refusals(400, 404) },
  }),
  admin({
    method: 'delete',
    path: '/v1/admin/activations/:id',
    summary: 'Deactivate a machine (frees its seat)',
    params: activationIdParamSchema,
    responses: { 200: { description: 'Deactivated', schema: adminActivationAnswerSchema }, ...refusals(400, 404, 409) },
  }),
  admin({
    method: 'get',
    path: '/v1/admin/audit',
    summary: 'Audit events, newest first',
    query: listAuditQuerySchema,
    responses: { 200: { description: 'A page of events', schema: auditPageSchema }, ...refusals(400, 404) },
  }),
  admin({ method: 'get', path: '/v1/admin/keys', summary: 'Signing keys (public parts only)', responses: { 200: { description: 'The keys', schema: keyListSchema } } }),
  admin({
    method: 'post',
    path: '/v1/admin/keys/rotate',
    summary: 'Rotate the signing key (the previous one stays published)',
    responses: { 201: { description: 'The new current key and the retired ones', schema: keyRotationSchema } },
  }),
]);
