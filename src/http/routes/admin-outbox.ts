import { Router } from 'express';
import { getOutboxEntry, listOutbox, retryOutboxEntry, summarizeOutbox } from '../../domain/outbox';
import type { Runtime } from '../../runtime';
import { grantOf } from '../admin-auth';
import { declareRoutes, refusals } from '../openapi/registry';
import { outboxEntryAnswerSchema, outboxPageSchema, outboxSummarySchema } from '../response-schemas';
import { outboxIdParamSchema, outboxQuerySchema } from '../../application/schemas';
import { parse } from '../../application/validate';
import { outboxEntryView, outboxSummaryView } from '../../application/views';

/** The operator's view of the calls licensor owes (docs/operations.md "Calls licensor owes"): what is owed, what failed, and try again. */
export function outboxAdmin(runtime: Runtime): Router {
  const { ctx } = runtime;
  const router = Router();
  router.get('/v1/admin/outbox', async (req, res) => {
    const q = parse(outboxQuerySchema, req.query, 'query');
    const page = await listOutbox(ctx, { status: q.status, kind: q.kind }, q.limit, q.cursor ?? null);
    res.json({ items: page.items.map(outboxEntryView), nextCursor: page.nextCursor });
  });
  router.get('/v1/admin/outbox/summary', async (_req, res) => {
    res.json({ items: (await summarizeOutbox(ctx)).map(outboxSummaryView) });
  });
  router.get('/v1/admin/outbox/:id', async (req, res) => {
    const { id } = parse(outboxIdParamSchema, req.params, 'path');
    res.json({ entry: outboxEntryView(await getOutboxEntry(ctx, id)) });
  });
  router.post('/v1/admin/outbox/:id/retry', async (req, res) => {
    const { id } = parse(outboxIdParamSchema, req.params, 'path');
    res.json({ entry: outboxEntryView(await retryOutboxEntry(ctx, id, grantOf(res).actor)) });
  });
  return router;
}

export const outboxAdminRoutes = declareRoutes([
  {
    method: 'get',
    path: '/v1/admin/outbox',
    tag: 'Admin API',
    auth: ['adminToken'],
    summary: 'Calls licensor owes other systems (the marketplace), newest first: pending, delivered or failed',
    query: outboxQuerySchema,
    responses: { 200: { description: 'A page of entries', schema: outboxPageSchema }, ...refusals(400, 401, 503) },
  },
  {
    method: 'get',
    path: '/v1/admin/outbox/summary',
    tag: 'Admin API',
    auth: ['adminToken'],
    summary: 'Entries per kind and status, with the oldest of each',
    responses: { 200: { description: 'The counts', schema: outboxSummarySchema }, ...refusals(401, 503) },
  },
  {
    method: 'get',
    path: '/v1/admin/outbox/:id',
    tag: 'Admin API',
    auth: ['adminToken'],
    summary: 'One entry, with its last error',
    params: outboxIdParamSchema,
    responses: { 200: { description: 'The entry', schema: outboxEntryAnswerSchema }, ...refusals(400, 401, 404, 503) },
  },
  {
    method: 'post',
    path: '/v1/admin/outbox/:id/retry',
    tag: 'Admin API',
    auth: ['adminToken'],
    summary: 'Try a failed entry again: due now, attempts from zero (audited)',
    params: outboxIdParamSchema,
    responses: { 200: { description: 'The entry, pending again', schema: outboxEntryAnswerSchema }, ...refusals(400, 401, 404, 409, 503) },
  },
]);
