import { Router } from 'express';
import {
  activationIdParamSchema,
  issueCodeRequestSchema,
  listAuditQuerySchema,
  listCodesQuerySchema,
  renewalOf,
  renewRequestSchema,
  validityOf,
} from '../../application/schemas';
import { parse } from '../../application/validate';
import { adminActivationView, auditView, codeView } from '../../application/views';
import { requireScope } from '../../domain/admin-tokens';
import { listAudit } from '../../domain/audit-trail';
import {
  freezeCode,
  getActivation,
  getCode,
  issueCode,
  listCodeActivations,
  listCodes,
  releaseCode,
  renewCode,
  unfreezeCode,
  type CodeView,
} from '../../domain/codes';
import { deactivateMachine } from '../../domain/seat-allocation';
import type { Runtime } from '../../runtime';
import { grantOf } from '../admin-auth';
import { adminRoute, declareRoutes, refusals } from '../openapi/registry';
import {
  adminActivationAnswerSchema,
  adminActivationListSchema,
  auditPageSchema,
  codeAnswerSchema,
  codeChangeSchema,
  codePageSchema,
} from '../response-schemas';

/** Codes, their machines and the audit trail (docs/server.md#admin-api). */
export function adminCodes(runtime: Runtime): Router {
  const { ctx } = runtime;
  const router = Router();
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
  return router;
}

/** OpenAPI declarations of the routes above (src/http/openapi/registry.ts); keep them beside the handlers. */
export const adminCodesRoutes = declareRoutes([
  adminRoute({
    method: 'post',
    path: '/v1/admin/codes',
    summary: 'Issue an authorization code',
    body: issueCodeRequestSchema,
    responses: { 201: { description: 'Issued', schema: codeAnswerSchema }, ...refusals(400, 404, 413, 415) },
  }),
  adminRoute({
    method: 'get',
    path: '/v1/admin/codes',
    summary: 'List codes, newest first (keyset paging)',
    query: listCodesQuerySchema,
    responses: { 200: { description: 'A page of codes', schema: codePageSchema }, ...refusals(400) },
  }),
  adminRoute({
    method: 'get',
    path: '/v1/admin/codes/:code',
    summary: 'Show a code (by the code in any form, or its id)',
    responses: { 200: { description: 'The code', schema: codeAnswerSchema }, ...refusals(400, 404) },
  }),
  adminRoute({
    method: 'get',
    path: '/v1/admin/codes/:code/activations',
    summary: "A code's machines",
    responses: { 200: { description: 'Its activations, live and ended', schema: adminActivationListSchema }, ...refusals(400, 404) },
  }),
  adminRoute({
    method: 'post',
    path: '/v1/admin/codes/:code/renew',
    summary: 'Renew: { days } from the later of now and the expiry, or { expiresAt }',
    body: renewRequestSchema,
    responses: {
      200: { description: 'Renewed (changed: false when the date was already that)', schema: codeChangeSchema },
      ...refusals(400, 404, 409, 413, 415),
    },
  }),
  ...(['freeze', 'unfreeze', 'release'] as const).map((action) =>
    adminRoute({
      method: 'post',
      path: `/v1/admin/codes/:code/${action}`,
      summary: action === 'release' ? 'Release the code (terminal; every seat is freed)' : `${action[0]!.toUpperCase()}${action.slice(1)} the code`,
      responses: { 200: { description: 'Done (changed: false when it already was)', schema: codeChangeSchema }, ...refusals(400, 404, 409) },
    }),
  ),
  adminRoute({
    method: 'get',
    path: '/v1/admin/activations/:id',
    summary: 'Show an activation',
    params: activationIdParamSchema,
    responses: { 200: { description: 'The activation', schema: adminActivationAnswerSchema }, ...refusals(400, 404) },
  }),
  adminRoute({
    method: 'delete',
    path: '/v1/admin/activations/:id',
    summary: 'Deactivate a machine (frees its seat)',
    params: activationIdParamSchema,
    responses: { 200: { description: 'Deactivated', schema: adminActivationAnswerSchema }, ...refusals(400, 404, 409) },
  }),
  adminRoute({
    method: 'get',
    path: '/v1/admin/audit',
    summary: 'Audit events, newest first',
    query: listAuditQuerySchema,
    responses: { 200: { description: 'A page of events', schema: auditPageSchema }, ...refusals(400, 404) },
  }),
]);
