import { Router } from 'express';
import { importCodes } from '../../domain/marketplace/marketplace-codes';
import { listInstances } from '../../domain/marketplace/instances';
import { listMarketplaceLicenses } from '../../domain/marketplace/license-delivery';
import { listUsage } from '../../domain/marketplace/usage';
import type { Runtime } from '../../runtime';
import { grantOf } from '../admin-auth';
import { jsonRequest } from '../json-body';
import { declareRoutes, refusals } from '../openapi/registry';
import { codeImportReportSchema, instancePageSchema, marketplaceLicenseListSchema, usageListSchema } from '../response-schemas';
import { codeImportRequestSchema, instancesQuerySchema, marketplaceLicensesQuerySchema, usageQuerySchema } from '../../application/schemas';
import { parse } from '../../application/validate';
import { instanceView, marketplaceLicenseView, usageView } from '../../application/views';

/** An import file may be far larger than the 64 kB other admin bodies are held to. */
const CODE_IMPORT_BODY_LIMIT = '16mb';
const CODE_IMPORT_PATH = '/v1/admin/marketplace/codes/import';

/**
 * Imports codes the marketplace made (docs/marketplace.md#codes-the-marketplace-made): the file in,
 * a report out. Mounted before the other admin routes, whose body limit would refuse a large file.
 */
export function marketplaceCodeImport(runtime: Runtime): Router {
  const router = Router();
  router.post(CODE_IMPORT_PATH, jsonRequest(CODE_IMPORT_BODY_LIMIT), async (req, res) => {
    const body = parse(codeImportRequestSchema, req.body);
    const settings = runtime.config.marketplace;
    const options = { product: body.product ?? settings.product, seats: body.seats ?? settings.seats, test: body.test ?? false };
    res.json(await importCodes(runtime.ctx, body.file, options, grantOf(res).actor));
  });
  return router;
}

/** The operator's view of the marketplace layer: usage figures, instances, license deliveries. */
export function marketplaceAdmin(runtime: Runtime): Router {
  const { ctx } = runtime;
  const router = Router();

  router.get('/v1/admin/usage', async (req, res) => {
    const q = parse(usageQuerySchema, req.query, 'query');
    const items = await listUsage(ctx, { code: q.code, from: q.from, to: q.to, includeTest: q.includeTest }, q.limit);
    res.json({ items: items.map(usageView) });
  });

  router.get('/v1/admin/marketplace/instances', async (req, res) => {
    const q = parse(instancesQuerySchema, req.query, 'query');
    const page = await listInstances(ctx, { test: q.test }, q.limit, q.cursor ?? null);
    res.json({ items: page.items.map(({ instance, code }) => instanceView(instance, code)), nextCursor: page.nextCursor });
  });

  router.get('/v1/admin/marketplace/licenses', async (req, res) => {
    const q = parse(marketplaceLicensesQuerySchema, req.query, 'query');
    res.json({ items: (await listMarketplaceLicenses(ctx, { status: q.status }, q.limit)).map(marketplaceLicenseView) });
  });
  return router;
}

export const marketplaceAdminRoutes = declareRoutes([
  {
    method: 'post',
    path: CODE_IMPORT_PATH,
    tag: 'Admin API',
    auth: ['adminToken'],
    summary: 'Import License 2.0 codes the marketplace made: all rows or none; codes already known are reported and left as they are',
    description:
      "A malformed row refuses the whole file (400 import_rejected) with every problem's line number in details.problems. Importing the same file again imports nothing.",
    body: codeImportRequestSchema,
    responses: { 200: { description: 'What was imported and what was known already', schema: codeImportReportSchema }, ...refusals(400, 401, 404, 413, 503) },
  },
  {
    method: 'get',
    path: '/v1/admin/usage',
    tag: 'Admin API',
    auth: ['adminToken'],
    summary: 'Software usage per code and day (reported through the marketplace-compatible open API)',
    query: usageQuerySchema,
    responses: { 200: { description: 'Newest day first', schema: usageListSchema }, ...refusals(400, 401, 404, 503) },
  },
  {
    method: 'get',
    path: '/v1/admin/marketplace/instances',
    tag: 'Admin API',
    auth: ['adminToken'],
    summary: 'Marketplace instances (order lines backed by codes)',
    query: instancesQuerySchema,
    responses: { 200: { description: 'A page of instances', schema: instancePageSchema }, ...refusals(400, 401, 503) },
  },
  {
    method: 'get',
    path: '/v1/admin/marketplace/licenses',
    tag: 'Admin API',
    auth: ['adminToken'],
    summary: 'Licenses delivered (or owed) to getLicenseAsync',
    query: marketplaceLicensesQuerySchema,
    responses: { 200: { description: 'The licenses', schema: marketplaceLicenseListSchema }, ...refusals(400, 401, 503) },
  },
]);
