import { Router } from 'express';
import { changeProductPolicy } from '../../domain/product-policy-change';
import type { Runtime } from '../../runtime';
import { grantOf } from '../admin-auth';
import { declareRoutes, refusals } from '../openapi/registry';
import { productChangeSchema } from '../response-schemas';
import { productNameParamSchema, productPolicyChangeSchema } from '../../application/schemas';
import { parse } from '../../application/validate';
import { productView } from '../../application/views';
import { admin } from './admin-api';

/** Changing a product's policy after creation (docs/policies.md "Changing a policy"). */
export function productPolicy(runtime: Runtime): Router {
  const router = Router();
  router.patch('/v1/admin/products/:name', async (req, res) => {
    const { name } = parse(productNameParamSchema, req.params, 'path');
    const change = parse(productPolicyChangeSchema, req.body ?? {});
    const result = await changeProductPolicy(runtime.ctx, name, change, grantOf(res).actor);
    res.json({ product: productView(result.product), changed: result.changed });
  });
  return router;
}

export const productPolicyRoutes = declareRoutes([
  admin({
    method: 'patch',
    path: '/v1/admin/products/:name',
    summary: "Change a product's policy: seat mode, lease, heartbeat interval, matching, reclaim, churn limit, fingerprint change window, containers",
    description:
      'Only the settings given change, with the limits of creation. Machines and codes already out there follow the new policy as docs/policies.md "Changing a policy" says; ' +
      'a change that cannot be applied safely is refused with 409 (lease_shorter_than_beats, containers_hold_seats) or 400 (heartbeat_exceeds_lease, containers_need_floating).',
    params: productNameParamSchema,
    body: productPolicyChangeSchema,
    responses: { 200: { description: 'Changed (changed: false when every setting already had that value)', schema: productChangeSchema }, ...refusals(400, 404, 409, 413, 415) },
  }),
]);
