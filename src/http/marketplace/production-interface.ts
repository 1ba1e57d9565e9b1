import express, { Router, type ErrorRequestHandler, type Response } from 'express';
import { z } from 'zod';
import { InvalidInput, Unauthorized } from '../../domain/errors';
import { retryWhileUnavailable } from '../../domain/marketplace/background-work';
import { oweLicenseUpload } from '../../domain/marketplace/license-upload';
import { handleProductionRequest, processingAnswer, type ProductionAnswer, type ProductionRequest } from '../../domain/marketplace/production-requests';
import { ReplayGuard } from '../../domain/marketplace/replay-guard';
import { RESULT_CODES } from '../../domain/marketplace/result-codes';
import type { Logger } from '../../logger';
import type { Runtime } from '../../runtime';
import { productionFailure } from './marketplace-errors';
import { declareRoutes } from '../openapi/registry';
import { codeHintFor } from '../request-observer';
import { productionAnswerSchema } from '../response-schemas';
import { activityFieldSchema, productionRequestSchemas } from './marketplace-schemas';
import { bodySignHeader, verifyProductionSignature } from '../../domain/marketplace/production-signature';
import { parse } from '../../application/validate';
import { parseJsonBuffer } from '../json-body';

/**
 * The marketplace production interface (docs/marketplace.md §3, "Register the production URL"): one
 * POST URL for every activity. The body is read as raw bytes, because the signature covers them
 * exactly as sent (§3.2); every answer is HTTP 200 with a `resultCode`, signed with Body-Sign (§3.4).
 */
export function productionInterface(runtime: Runtime, logger: Logger): Router {
  const { ctx, background } = runtime;
  const settings = runtime.config.marketplace;
  const guard = new ReplayGuard(ctx);
  const router = Router();
  const defaultKey = settings.accessKeys[0] ?? null;

  const send = (res: Response, key: string | null, answer: ProductionAnswer) => {
    const body = Buffer.from(JSON.stringify(answer), 'utf8');
    res.locals.marketplaceResultCode = answer.resultCode;
    res.status(200).setHeader('Content-Type', 'application/json;charset=UTF-8');
    if (key !== null) res.setHeader('Body-Sign', bodySignHeader(key, body));
    res.end(body);
  };

  router.post(settings.productionPath, express.raw({ type: () => true, limit: '64kb' }), async (req, res) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let key = defaultKey;
    let answer: ProductionAnswer;
    try {
      const { signature, timestamp, nonce } = req.query as Record<string, unknown>;
      if (typeof signature !== 'string' || typeof timestamp !== 'string' || typeof nonce !== 'string') {
        throw new Unauthorized('signature_missing', 'signature, timestamp and nonce are required in the query string');
      }
      if (settings.accessKeys.length === 0)
        throw new Unauthorized('marketplace_not_configured', 'no marketplace access key is configured (LICENSOR_MARKETPLACE_KEYS)');
      if (!/^[\x21-\x7e]{1,120}$/.test(nonce)) throw new Unauthorized('nonce_invalid', 'nonce must be 1–120 printable characters');
      const signedBy = verifyProductionSignature(settings.accessKeys, signature, nonce, timestamp, body);
      if (signedBy === null) throw new Unauthorized('signature_invalid', 'the signature does not match the body with any configured access key');
      key = signedBy;
      const request = parseProductionRequest(body);
      // For the access log and /metrics (request-observer.ts): the activity, and a code only as its hint.
      res.locals.marketplaceActivity = request.activity;
      if ('license' in request) res.locals.codeHint = codeHintFor(request.license);
      // The nonce is claimed after the signature (an unsigned request cannot use nonces up) and inside
      // the budget: on a database that is stuck, even the claim is answered 000004 rather than late.
      const handle = () => handleProductionRequest(ctx, request, settings);
      // A newInstance answered 000004 has promised its instance: the work keeps at it while the database is away.
      const work = guard.admit(nonce, timestamp).then(() => (request.activity === 'newInstance' ? retryWhileUnavailable(handle) : handle()));
      const outcome = await background.withinBudget(work, settings.budgetMs);
      answer = outcome.late ? processingAnswer(request) : outcome.value;
      // A license answered 000004 is owed to the marketplace's upload API once its work has settled.
      if (request.activity === 'getLicenseAsync' && answer.resultCode === RESULT_CODES.processing) {
        background.track(
          work.then(
            () => oweLicenseUpload(ctx, request, settings),
            () => false,
          ),
        );
      }
    } catch (err) {
      answer = productionFailure(err, logger, res.locals.requestId);
    }
    send(res, key, answer);
  });

  // The raw-body reader refuses oversized or undecodable bodies before the handler runs.
  const bodyErrors: ErrorRequestHandler = (err, req, res, next) => {
    if (req.method !== 'POST') return next(err);
    send(res, defaultKey, productionFailure(err, logger, res.locals.requestId));
  };
  router.use(settings.productionPath, bodyErrors);
  return router;
}

function parseProductionRequest(body: Buffer): ProductionRequest {
  const json = parseJsonBuffer(body);
  const { activity } = parse(activityFieldSchema, json);
  if (!Object.hasOwn(productionRequestSchemas, activity)) throw new InvalidInput('unknown_activity', `unknown activity "${activity}"`);
  const schema = productionRequestSchemas[activity as keyof typeof productionRequestSchemas];
  const request = parse(schema, json);
  if (request.activity === 'queryInstance') return { activity: 'queryInstance', instanceIds: request.instanceId, testFlag: request.testFlag };
  return request;
}

/**
 * The query the marketplace signs with (§3.2). Documentation only: the handler checks these
 * itself, because a missing one is an authentication failure (000001), not a bad parameter.
 */
const signedQuery = z.object({
  signature: z
    .string()
    .describe(
      'hex(HMAC-SHA256(accessKey, accessKey + nonce + timestamp + lower(hex(HMAC-SHA256(accessKey, body))))), over the raw body bytes; hex in either case (docs/marketplace.md "Authentication")',
    ),
  timestamp: z.string().describe('Milliseconds since the epoch; ±60 s'),
  nonce: z.string().describe('1–120 printable characters; each is accepted once, across every server process'),
});

/** OpenAPI declaration of the route above; its path is LICENSOR_MARKETPLACE_PATH. */
export function productionInterfaceRoutes(path: string) {
  return declareRoutes([
    {
      method: 'post',
      path,
      tag: 'Marketplace production interface',
      auth: ['marketplaceSignature'],
      summary: 'The marketplace production interface: one URL, dispatched on `activity`',
      description:
        'Configured with LICENSOR_MARKETPLACE_PATH (default /produce) and LICENSOR_MARKETPLACE_KEYS. Every answer is HTTP 200 with a resultCode and a Body-Sign header (base64 of the HMAC-SHA256 of the answer bytes); work slower than LICENSOR_MARKETPLACE_BUDGET_MS answers 000004 and finishes in the background. The queryInstance answer is licensor\'s own shape (docs/marketplace.md "queryInstance").',
      query: signedQuery,
      body: z
        .union(Object.values(productionRequestSchemas) as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]])
        .describe('One of the activities, by `activity`'),
      responses: { 200: { description: 'resultCode 000000 on success; refusals carry their own resultCode', schema: productionAnswerSchema } },
    },
  ]);
}
