import { Router } from 'express';
import { findCode, freezeCode, getCode, issueCode, listCodeActivations, listCodes, releaseCode, renewCode, unfreezeCode, type CodeView } from '../../domain/codes';
import { NotFound } from '../../domain/errors';
import { createProduct, getProduct, listProducts } from '../../domain/products';
import { deactivateMachine } from '../../domain/seat-allocation';
import { describeKey, rotateSigningKey } from '../../domain/signing-keys';
import type { AuditEvent, Product } from '../../domain/types';
import type { Runtime } from '../../runtime';
import { requireAdmin } from '../admin-auth';
import { jsonRequest } from '../json-body';
import {
  activationIdParamSchema,
  issueCodeRequestSchema,
  listAuditQuerySchema,
  listCodesQuerySchema,
  productNameParamSchema,
  productRequestSchema,
  renewRequestSchema,
} from '../schemas';
import { parse } from '../validate';
import { activationView } from './client-api';

const DAY_MS = 86_400_000;
const ACTOR = 'admin-api';

/** The operator's API (PRODUCT.md §3.4), behind the admin bearer token. */
export function adminApi(runtime: Runtime, adminToken: string): Router {
  const { ctx } = runtime;
  const router = Router();
  router.use('/v1/admin', requireAdmin(adminToken), jsonRequest('64kb'));

  router.get('/v1/admin/products', async (_req, res) => {
    res.json({ items: (await listProducts(ctx)).map(productView) });
  });
  router.post('/v1/admin/products', async (req, res) => {
    const body = parse(productRequestSchema, req.body);
    res.status(201).json({ product: productView(await createProduct(ctx, body, ACTOR)) });
  });
  router.get('/v1/admin/products/:name', async (req, res) => {
    const { name } = parse(productNameParamSchema, req.params, 'path');
    res.json({ product: productView(await getProduct(ctx, name)) });
  });

  router.post('/v1/admin/codes', async (req, res) => {
    const body = parse(issueCodeRequestSchema, req.body);
    const expiresAt = body.expiresAt ?? ctx.clock.now() + body.days! * DAY_MS;
    const code = await issueCode(
      ctx,
      { product: body.product, seats: body.seats, expiresAt, features: body.features, metadata: body.metadata, test: body.test },
      ACTOR,
    );
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
    const renewal = body.expiresAt !== undefined ? { expiresAt: body.expiresAt } : { extendByDays: body.days! };
    const change = await renewCode(ctx, req.params.code, renewal, ACTOR);
    res.json({ code: codeView(change.code), changed: change.changed });
  });
  for (const [action, run] of [
    ['freeze', freezeCode],
    ['unfreeze', unfreezeCode],
    ['release', releaseCode],
  ] as const) {
    router.post(`/v1/admin/codes/:code/${action}`, async (req, res) => {
      const change = await run(ctx, req.params.code as string, ACTOR);
      res.json({ code: codeView(change.code), changed: change.changed });
    });
  }

  router.get('/v1/admin/activations/:id', async (req, res) => {
    const { id } = parse(activationIdParamSchema, req.params, 'path');
    const activation = await ctx.repo.activations.findById(id);
    if (!activation) throw new NotFound('activation_not_found', 'no such activation');
    res.json({ activation: adminActivationView(activation) });
  });
  router.delete('/v1/admin/activations/:id', async (req, res) => {
    const { id } = parse(activationIdParamSchema, req.params, 'path');
    const activation = await deactivateMachine(ctx, id, null, ACTOR);
    res.json({ activation: adminActivationView(activation) });
  });

  router.get('/v1/admin/audit', async (req, res) => {
    const q = parse(listAuditQuerySchema, req.query, 'query');
    let codeId: string | undefined;
    if (q.code !== undefined) {
      const code = await findCode(ctx.repo, q.code);
      if (!code) throw new NotFound('code_not_found', 'no such authorization code');
      codeId = code.id;
    }
    const page = await ctx.repo.audit.list({ codeId, entityId: q.entity, action: q.action }, q.limit, q.cursor ?? null);
    res.json({ items: page.items.map(auditView), nextCursor: page.nextCursor });
  });

  router.get('/v1/admin/keys', async (_req, res) => {
    const keys = await ctx.repo.keys.list();
    res.json({ items: keys.map(describeKey), current: runtime.keyRing.currentKid });
  });
  router.post('/v1/admin/keys/rotate', async (_req, res) => {
    const result = await rotateSigningKey(ctx, runtime.keyPolicy, ACTOR);
    await runtime.reloadKeys();
    res.status(201).json({ current: describeKey(result.current), retired: result.retired.map(describeKey) });
  });

  return router;
}

export function productView(p: Product) {
  return { ...p, createdAt: new Date(p.createdAt).toISOString() };
}

export function codeView(c: CodeView) {
  return {
    id: c.id,
    code: c.displayCode,
    product: c.productName,
    status: c.effectiveStatus,
    storedStatus: c.status,
    seats: c.seats,
    features: c.features,
    expiresAt: new Date(c.expiresAt).toISOString(),
    firstActivatedAt: c.firstActivatedAt === null ? null : new Date(c.firstActivatedAt).toISOString(),
    metadata: c.metadata,
    test: c.test,
    createdAt: new Date(c.createdAt).toISOString(),
    updatedAt: new Date(c.updatedAt).toISOString(),
  };
}

export function adminActivationView(a: Parameters<typeof activationView>[0]) {
  return { ...activationView(a), codeId: a.codeId, fingerprint: a.fingerprint, environment: a.environment };
}

function auditView(e: AuditEvent) {
  return { ...e, at: new Date(e.at).toISOString() };
}
