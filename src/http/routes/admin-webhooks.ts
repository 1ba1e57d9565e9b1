import { Router } from 'express';
import { z } from 'zod';
import {
  deleteWebhook,
  getWebhook,
  listWebhookDeliveries,
  listWebhooks,
  registerWebhook,
  resendWebhookDelivery,
  rotateWebhookSecret,
  updateWebhook,
  WEBHOOK_EVENT_TYPES,
} from '../../domain/webhooks';
import type { Runtime } from '../../runtime';
import { declareRoutes, refusals } from '../openapi/registry';
import { outboxEntryAnswerSchema } from '../response-schemas';
import { deliveriesQuerySchema, deliveryParamSchema, webhookChangeSchema, webhookIdParamSchema, webhookRequestSchema } from '../../application/schemas';
import { parse } from '../../application/validate';
import { deliveryView, endpointView, outboxEntryView } from '../../application/views';
import { grantOf } from '../admin-auth';
import { webhookUrlGuard } from '../../outbound/webhook-sender';

const isoTime = z.string().describe('ISO 8601 time, UTC');
const endpointSchema = z.strictObject({
  id: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  events: z.array(z.string()),
  enabled: z.boolean().describe('false: switched off by the operator, or by licensor after failing too long (disabledReason says which)'),
  failureStreak: z.number().int().describe('Failed attempts since the last success'),
  failingSince: isoTime.nullable(),
  disabledAt: isoTime.nullable(),
  disabledReason: z.string().nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
});
const endpointAnswerSchema = z.strictObject({ endpoint: endpointSchema });
const registeredSchema = z.strictObject({
  endpoint: endpointSchema,
  secret: z.string().describe('Signs every delivery (Licensor-Signature, docs/webhooks.md); shown this once only'),
});
const endpointListSchema = z.strictObject({ items: z.array(endpointSchema) });
const eventTypesSchema = z.strictObject({ items: z.array(z.string()) });
const attemptSchema = z.strictObject({
  at: isoTime,
  durationMs: z.number().int(),
  ok: z.boolean(),
  statusCode: z.number().int().nullable().describe('The receiver’s HTTP status; null when there was no answer'),
  response: z.string().nullable().describe('The start of the receiver’s answer'),
  error: z.string().nullable().describe('Why there was no answer (refused, timed out, a private address)'),
});
const deliveryListSchema = z.strictObject({
  items: z.array(
    z.strictObject({
      entry: outboxEntryAnswerSchema.shape.entry,
      eventId: z.string(),
      eventType: z.string().nullable(),
      lastAttempt: attemptSchema.nullable(),
    }),
  ),
});

/** The operator's webhooks (docs/webhooks.md): endpoints, their deliveries, and sending one again. */
export function webhooksAdmin(runtime: Runtime): Router {
  const { ctx } = runtime;
  const guard = webhookUrlGuard(runtime.config.webhooks.allowPrivate);
  const router = Router();
  router.get('/v1/admin/webhooks', async (_req, res) => {
    res.json({ items: (await listWebhooks(ctx)).map(endpointView) });
  });
  router.get('/v1/admin/webhooks/event-types', (_req, res) => {
    res.json({ items: ['*', ...WEBHOOK_EVENT_TYPES] });
  });
  router.post('/v1/admin/webhooks', async (req, res) => {
    const body = parse(webhookRequestSchema, req.body);
    const endpoint = await registerWebhook(ctx, body, grantOf(res).actor, guard);
    res.status(201).json({ endpoint: endpointView(endpoint), secret: endpoint.secret });
  });
  router.get('/v1/admin/webhooks/:id', async (req, res) => {
    const { id } = parse(webhookIdParamSchema, req.params, 'path');
    res.json({ endpoint: endpointView(await getWebhook(ctx, id)) });
  });
  router.patch('/v1/admin/webhooks/:id', async (req, res) => {
    const { id } = parse(webhookIdParamSchema, req.params, 'path');
    const change = parse(webhookChangeSchema, req.body);
    res.json({ endpoint: endpointView(await updateWebhook(ctx, id, change, grantOf(res).actor, guard)) });
  });
  router.post('/v1/admin/webhooks/:id/secret', async (req, res) => {
    const { id } = parse(webhookIdParamSchema, req.params, 'path');
    const endpoint = await rotateWebhookSecret(ctx, id, grantOf(res).actor);
    res.json({ endpoint: endpointView(endpoint), secret: endpoint.secret });
  });
  router.delete('/v1/admin/webhooks/:id', async (req, res) => {
    const { id } = parse(webhookIdParamSchema, req.params, 'path');
    await deleteWebhook(ctx, id, grantOf(res).actor);
    res.status(204).end();
  });
  router.get('/v1/admin/webhooks/:id/deliveries', async (req, res) => {
    const { id } = parse(webhookIdParamSchema, req.params, 'path');
    const { limit } = parse(deliveriesQuerySchema, req.query, 'query');
    res.json({ items: (await listWebhookDeliveries(ctx, id, limit)).map(deliveryView) });
  });
  router.post('/v1/admin/webhooks/:id/deliveries/:delivery/resend', async (req, res) => {
    const { id, delivery } = parse(deliveryParamSchema, req.params, 'path');
    res.status(201).json({ entry: outboxEntryView(await resendWebhookDelivery(ctx, id, delivery, grantOf(res).actor)) });
  });
  return router;
}

const tag = 'Admin API';
const auth: ['adminToken'] = ['adminToken'];
export const webhooksAdminRoutes = declareRoutes([
  {
    method: 'get',
    path: '/v1/admin/webhooks',
    tag,
    auth,
    summary: 'Webhook endpoints, oldest first (never their secrets)',
    responses: { 200: { description: 'The endpoints', schema: endpointListSchema }, ...refusals(401, 503) },
  },
  {
    method: 'get',
    path: '/v1/admin/webhooks/event-types',
    tag,
    auth,
    summary: 'The event types an endpoint may ask for (the audit actions), and * for all',
    responses: { 200: { description: 'The types', schema: eventTypesSchema }, ...refusals(401) },
  },
  {
    method: 'post',
    path: '/v1/admin/webhooks',
    tag,
    auth,
    summary: 'Register an endpoint; the answer shows its signing secret, this once (audited)',
    description: 'Refusals: webhook_url_invalid, webhook_url_refused (a private address), webhook_url_unresolvable, webhook_event_type_unknown.',
    body: webhookRequestSchema,
    bodyRequired: true,
    responses: { 201: { description: 'The endpoint and its secret', schema: registeredSchema }, ...refusals(400, 401, 503) },
  },
  {
    method: 'get',
    path: '/v1/admin/webhooks/:id',
    tag,
    auth,
    summary: 'One endpoint, with its failure streak and why it was switched off',
    params: webhookIdParamSchema,
    responses: { 200: { description: 'The endpoint', schema: endpointAnswerSchema }, ...refusals(400, 401, 404, 503) },
  },
  {
    method: 'patch',
    path: '/v1/admin/webhooks/:id',
    tag,
    auth,
    summary: 'Change an endpoint’s URL, events or description, or switch it off or on again (audited)',
    description: 'Switching an endpoint on starts its failure streak from zero; deliveries given up meanwhile can be sent again one by one.',
    params: webhookIdParamSchema,
    body: webhookChangeSchema,
    bodyRequired: true,
    responses: { 200: { description: 'The endpoint', schema: endpointAnswerSchema }, ...refusals(400, 401, 404, 503) },
  },
  {
    method: 'post',
    path: '/v1/admin/webhooks/:id/secret',
    tag,
    auth,
    summary: 'A new signing secret for an endpoint, in force from the next attempt; shown in this answer only (audited)',
    params: webhookIdParamSchema,
    responses: { 200: { description: 'The endpoint and its new secret', schema: registeredSchema }, ...refusals(400, 401, 404, 503) },
  },
  {
    method: 'delete',
    path: '/v1/admin/webhooks/:id',
    tag,
    auth,
    summary: 'Remove an endpoint; what it still had pending is given up (audited)',
    params: webhookIdParamSchema,
    responses: { 204: { description: 'Removed' }, ...refusals(400, 401, 404, 503) },
  },
  {
    method: 'get',
    path: '/v1/admin/webhooks/:id/deliveries',
    tag,
    auth,
    summary: 'An endpoint’s deliveries, newest first, each with its status and the last answer the receiver gave',
    params: webhookIdParamSchema,
    query: deliveriesQuerySchema,
    responses: { 200: { description: 'The deliveries', schema: deliveryListSchema }, ...refusals(400, 401, 404, 503) },
  },
  {
    method: 'post',
    path: '/v1/admin/webhooks/:id/deliveries/:delivery/resend',
    tag,
    auth,
    summary: 'Send a delivered or failed delivery again: the same event id and body, after what the endpoint has pending (audited)',
    params: deliveryParamSchema,
    responses: { 201: { description: 'The new outbox entry', schema: outboxEntryAnswerSchema }, ...refusals(400, 401, 404, 409, 503) },
  },
]);
