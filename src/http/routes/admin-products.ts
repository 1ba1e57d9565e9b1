import { Router } from 'express';
import { productNameParamSchema, productPolicyChangeSchema, productRequestSchema, publishVersionRequestSchema } from '../../application/schemas';
import { parse } from '../../application/validate';
import { productView } from '../../application/views';
import { changeProductPolicy } from '../../domain/product-policy-change';
import { createProduct, getProduct, listProducts, publishVersion } from '../../domain/products';
import type { Runtime } from '../../runtime';
import { grantOf } from '../admin-auth';
import { adminRoute, declareRoutes, refusals } from '../openapi/registry';
import { productAnswerSchema, productChangeSchema, productListSchema } from '../response-schemas';

/** Products and their policies (docs/server.md#admin-api, docs/policies.md). */
export function adminProducts(runtime: Runtime): Router {
  const { ctx } = runtime;
  const router = Router();
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
  // Changing a policy after creation (docs/policies.md "Changing a policy").
  router.patch('/v1/admin/products/:name', async (req, res) => {
    const { name } = parse(productNameParamSchema, req.params, 'path');
    const change = parse(productPolicyChangeSchema, req.body ?? {});
    const result = await changeProductPolicy(runtime.ctx, name, change, grantOf(res).actor);
    res.json({ product: productView(result.product), changed: result.changed });
  });
  return router;
}

/** OpenAPI declarations of the routes above (src/http/openapi/registry.ts); keep them beside the handlers. */
export const adminProductsRoutes = declareRoutes([
  adminRoute({
    method: 'get',
    path: '/v1/admin/products',
    summary: 'List products',
    responses: { 200: { description: 'Every product', schema: productListSchema } },
  }),
  adminRoute({
    method: 'post',
    path: '/v1/admin/products',
    summary: 'Create a product (its seat mode, lease, heartbeat interval and matching strategy)',
    body: productRequestSchema,
    responses: { 201: { description: 'Created', schema: productAnswerSchema }, ...refusals(400, 409, 413, 415) },
  }),
  adminRoute({
    method: 'get',
    path: '/v1/admin/products/:name',
    summary: 'Show a product',
    params: productNameParamSchema,
    responses: { 200: { description: 'The product', schema: productAnswerSchema }, ...refusals(400, 404) },
  }),
  adminRoute({
    method: 'post',
    path: '/v1/admin/products/:name/versions',
    summary: 'Publish the latest version of a product (update notices on heartbeats); required: true makes it the minimum',
    params: productNameParamSchema,
    body: publishVersionRequestSchema,
    responses: { 201: { description: 'Published', schema: productAnswerSchema }, ...refusals(400, 404, 409, 413, 415) },
  }),
  adminRoute({
    method: 'patch',
    path: '/v1/admin/products/:name',
    summary: "Change a product's policy: seat mode, lease, heartbeat interval, matching, reclaim, churn limit, fingerprint change window, containers",
    description:
      'Only the settings given change, with the limits of creation. Machines and codes already out there follow the new policy as docs/policies.md "Changing a policy" says; ' +
      'a change that cannot be applied safely is refused with 409 (lease_shorter_than_beats, containers_hold_seats) or 400 (heartbeat_exceeds_lease, containers_need_floating).',
    params: productNameParamSchema,
    body: productPolicyChangeSchema,
    responses: {
      200: { description: 'Changed (changed: false when every setting already had that value)', schema: productChangeSchema },
      ...refusals(400, 404, 409, 413, 415),
    },
  }),
]);
