import { Router } from 'express';
import { formatAuthorizationCode } from '../../domain/authorization-code';
import { listUsage, type UsageView } from '../../domain/marketplace/usage';
import type { MarketplaceInstance, MarketplaceLicense } from '../../domain/marketplace/types';
import type { Runtime } from '../../runtime';
import { requireAdmin } from '../admin-auth';
import { instancesQuerySchema, marketplaceLicensesQuerySchema, usageQuerySchema } from '../marketplace-schemas';
import { parse } from '../validate';

/** The operator's view of the marketplace layer: usage figures, instances, license deliveries. */
export function marketplaceAdmin(runtime: Runtime, adminToken: string): Router {
  const { ctx } = runtime;
  const router = Router();
  router.use(['/v1/admin/usage', '/v1/admin/marketplace'], requireAdmin(adminToken));

  router.get('/v1/admin/usage', async (req, res) => {
    const q = parse(usageQuerySchema, req.query, 'query');
    const items = await listUsage(ctx, { code: q.code, from: q.from, to: q.to, includeTest: q.includeTest }, q.limit);
    res.json({ items: items.map(usageView) });
  });

  router.get('/v1/admin/marketplace/instances', async (req, res) => {
    const q = parse(instancesQuerySchema, req.query, 'query');
    const page = await ctx.repo.marketplaceInstances.list({ test: q.test }, q.limit, q.cursor ?? null);
    const items = [];
    for (const instance of page.items) items.push(instanceView(instance, (await ctx.repo.codes.findById(instance.codeId))?.code ?? ''));
    res.json({ items, nextCursor: page.nextCursor });
  });

  router.get('/v1/admin/marketplace/licenses', async (req, res) => {
    const q = parse(marketplaceLicensesQuerySchema, req.query, 'query');
    res.json({ items: (await ctx.repo.marketplaceLicenses.list({ status: q.status }, q.limit)).map(licenseView) });
  });
  return router;
}

export function usageView(u: UsageView) {
  return {
    code: u.displayCode,
    codeId: u.codeId,
    day: u.day,
    distinctIds: u.ids.length,
    activeNum: u.activeNum,
    ids: u.ids,
    reportedAt: new Date(u.reportedAt).toISOString(),
  };
}

function instanceView(i: MarketplaceInstance, code: string) {
  return { ...i, code: code ? formatAuthorizationCode(code) : null, createdAt: new Date(i.createdAt).toISOString() };
}

function licenseView(l: MarketplaceLicense) {
  return {
    ...l,
    requestedAt: new Date(l.requestedAt).toISOString(),
    deliveredAt: l.deliveredAt === null ? null : new Date(l.deliveredAt).toISOString(),
  };
}
