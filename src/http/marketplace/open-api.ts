import express, { Router, type ErrorRequestHandler, type Request } from 'express';
import { LicensorError, Unauthorized } from '../../domain/errors';
import { formatMarketplaceTime } from '../../domain/marketplace/dates';
import { activateLicense, queryLicense, type LicenseFacts } from '../../domain/marketplace/license-api';
import { OPEN_API_CODES } from '../../domain/marketplace/result-codes';
import { reportSoftwareUsage } from '../../domain/marketplace/usage';
import type { Logger } from '../../logger';
import type { Runtime } from '../../runtime';
import { ReplayGuard } from '../../domain/marketplace/replay-guard';
import { signedAnswers } from '../answer-signing';
import { SDK_DATE_WINDOW_MS } from '@licensor/client/contract';
import { verifyApigRequest } from '../../domain/marketplace/apig-verification';
import { openApiFailure, openApiRefusal } from './marketplace-errors';
import { declareRoutes, openApiRefusals, type RouteDoc } from '../openapi/registry';
import { openApiActivateV1Schema, openApiActivateV2Schema, openApiHeartbeatV1Schema, openApiHeartbeatV2Schema, openApiUsageSchema } from '../response-schemas';
import { activateV1Schema, activateV2Schema, heartbeatV1Schema, heartbeatV2Schema, softwareUsageSchema } from './marketplace-schemas';
import { clientAddress, codeKey, type CodeGuessGuard } from '../rate-limit';
import { parse } from '../../application/validate';
import { parseJsonBuffer } from '../json-body';

/** Runs a code lookup under the guessing guard; `code` null charges failures to the address only. */
type Guarded = <T>(code: string | null, work: () => Promise<T>) => Promise<T>;

const BASE = '/api/mkp-openapi-public/global';

/** What a closed open API answers (403 92020001), to every call. */
const CLOSED =
  'the open API is closed: set LICENSOR_OPENAPI_AKSK to the AK:SK pairs that sign calls to it, or LICENSOR_OPENAPI_ALLOW_UNSIGNED=true for local testing (docs/marketplace.md)';

/**
 * The authorization-code open API, marketplace-compatible (docs/marketplace.md §2.1–2.3,
 * §2.6; docs/marketplace.md §3): the marketplace's paths, fields and error codes, so software written
 * for the marketplace runs against licensor unchanged. Closed unless AK/SK pairs are configured
 * (every call then signed SDK-HMAC-SHA256, §1.1, over the raw body, and each signature accepted
 * once) or unsigned calls are allowed for local testing. Every lookup is behind the guessing guard,
 * and every answer is signed like the client API's (docs/server.md "Signed answers").
 */
export function marketplaceOpenApi(runtime: Runtime, logger: Logger, guard: CodeGuessGuard): Router {
  const { ctx } = runtime;
  const { openApiCredentials, openApiAllowUnsigned } = runtime.config.marketplace;
  const secrets = new Map(openApiCredentials.map((c) => [c.accessKey, c.secretKey]));
  // A signature is good for its 15-minute window once, in whichever server process it reaches (the shared nonces table).
  const replays = new ReplayGuard(ctx, 'openapi', SDK_DATE_WINDOW_MS);
  const admit = async (req: Request, body: Buffer): Promise<void> => {
    if (secrets.size > 0) return authenticate(req, body, secrets, replays, ctx.clock.now());
    if (!openApiAllowUnsigned) throw new Unauthorized('openapi_closed', CLOSED);
  };
  const router = Router();
  router.use(BASE, signedAnswers(runtime.keyRing));
  const rawBody = express.raw({ type: () => true, limit: '256kb' });

  const route = (path: string, handle: (body: unknown, guarded: Guarded) => Promise<Record<string, unknown>>) => {
    router.post(BASE + path, rawBody, async (req, res) => {
      try {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        // The answer's signature covers the digest of the request it answers.
        res.locals.rawBody = body;
        await admit(req, body);
        const address = clientAddress(req);
        // The same code-guessing guard as our own activation route: a guesser cannot switch APIs.
        const guarded: Guarded = (code, work) => guard.run(address, codeKey(code), work);
        const data = await handle(parseJsonBuffer(body), guarded);
        res.status(200).json({ error_code: OPEN_API_CODES.success, error_msg: 'Success', data });
      } catch (err) {
        const failure = openApiFailure(err, logger, res.locals.requestId);
        // Every rate-limit refusal says when to come back, as error-response.ts answers them.
        if (err instanceof LicensorError && err.kind === 'rate_limited') res.setHeader('Retry-After', String(err.details?.retryAfterSeconds ?? 60));
        res.status(failure.status).json(failure.body);
      }
    });
  };

  // activate (§2.1): attempts on one code are counted too, as on our own activation route.
  route('/v1/license/activate', async (json, guarded) => {
    const body = parse(activateV1Schema, json);
    return { license_code_info: licenseCodeInfo(await guarded(body.license, () => activateLicense(ctx, body.license, body.real_effect_time))) };
  });
  route('/v2/license/activate', async (json, guarded) => {
    const body = parse(activateV2Schema, json);
    const list = [];
    for (const license of body.license_list) {
      const item = await perLicense(license, async () => ({
        license_code_info: licenseCodeInfo(await guarded(license, () => activateLicense(ctx, license, body.real_effect_time))),
      }));
      list.push({ license, ...item });
    }
    return { license_code_info_list: list };
  });
  // Queries and usage reports charge the address only: a fleet's many clients share one code.
  route('/v1/license/heartbeat', async (json, guarded) => {
    const body = parse(heartbeatV1Schema, json);
    return licenseInfo(body.license, await guarded(null, () => queryLicense(ctx, body.license, body.heartbeatInfo?.thirdPartyAccount)));
  });
  route('/v2/license/heartbeat', async (json, guarded) => {
    const body = parse(heartbeatV2Schema, json);
    const list = [];
    for (const license of body.license_list) {
      list.push(
        await perLicense(
          license,
          async () => licenseInfo(license, await guarded(null, () => queryLicense(ctx, license, body.heartbeatInfo?.thirdPartyAccount))),
          true,
        ),
      );
    }
    return { license_info_list: list };
  });
  route('/v2/license/software-usage-info', async (json, guarded) => {
    const body = parse(softwareUsageSchema, json);
    const failed = [];
    for (const usage of body.usage_info) {
      const report = {
        license: usage.license,
        infos: usage.software_usage_Info.map((i) => (i.id !== undefined ? { id: i.id } : { activeNum: i.active_num! })),
      };
      const entry = await perLicense(usage.license, async () => {
        await guarded(null, () => reportSoftwareUsage(ctx, report));
        return {};
      });
      if (entry.error_code !== OPEN_API_CODES.success) failed.push({ license: usage.license, error_code: entry.error_code, error_msg: entry.error_msg });
    }
    return { check_fail_list: failed };
  });

  const bodyErrors: ErrorRequestHandler = (err, req, res, next) => {
    if (req.method !== 'POST') return next(err);
    const failure = openApiFailure(err, logger, res.locals.requestId);
    res.status(failure.status).json(failure.body);
  };
  router.use(BASE, bodyErrors);
  return router;
}

async function authenticate(req: Request, body: Buffer, secrets: ReadonlyMap<string, string>, replays: ReplayGuard, now: number): Promise<void> {
  const url = req.originalUrl;
  const q = url.indexOf('?');
  const verdict = verifyApigRequest(
    { method: req.method, path: q < 0 ? url : url.slice(0, q), query: q < 0 ? '' : url.slice(q + 1), headers: req.headers, body },
    secrets,
    now,
  );
  if (!verdict.ok) throw new Unauthorized('apig_signature_invalid', verdict.reason);
  await replays.claim(verdict.signature, verdict.signedAt);
}

/** One entry of a batch: an unknown code or a bad parameter is reported in its entry, the others still answer. */
async function perLicense(license: string, work: () => Promise<Record<string, unknown>>, echoCode = false): Promise<Record<string, unknown>> {
  try {
    return { error_code: OPEN_API_CODES.success, error_msg: 'Success', ...(await work()) };
  } catch (err) {
    // An unknown code or a bad parameter concerns this entry only; anything else fails the whole request.
    const refusal = err instanceof LicensorError && (err.kind === 'not_found' || err.kind === 'invalid_input') ? openApiRefusal(err) : undefined;
    if (!refusal) throw err;
    return echoCode ? { license_code: license, ...refusal.body } : refusal.body;
  }
}

/** §2.1: `data.license_code_info` is a JSON-encoded string. */
function licenseCodeInfo(facts: LicenseFacts): string {
  return JSON.stringify({
    status: facts.status,
    expire_time: formatMarketplaceTime(facts.code.expiresAt),
    product_id: facts.code.productName,
    order_id: facts.instance?.orderId ?? '',
    amount: facts.code.seats,
  });
}

/** §2.2 LicenseInfo; fields after `activate_time` are the evident ones (§10 gap 1, docs/marketplace.md). */
function licenseInfo(requested: string, facts: LicenseFacts): Record<string, unknown> {
  return {
    license_code: requested,
    status: facts.status,
    activate_time: facts.code.firstActivatedAt === null ? '' : formatMarketplaceTime(facts.code.firstActivatedAt),
    expire_time: formatMarketplaceTime(facts.code.expiresAt),
    product_id: facts.code.productName,
    order_id: facts.instance?.orderId ?? '',
    amount: facts.code.seats,
  };
}

/** OpenAPI declarations of the routes above (src/http/openapi/registry.ts); keep them beside the handlers. */
const openApi = (path: string, summary: string, body: RouteDoc['body'], answer: NonNullable<RouteDoc['body']>): RouteDoc => ({
  method: 'post',
  path: BASE + path,
  tag: 'Marketplace-compatible open API',
  auth: ['apigSignature'],
  summary,
  description:
    'Same paths, fields and error codes as the marketplace (docs/marketplace.md §2). Calls are signed SDK-HMAC-SHA256 with a pair of LICENSOR_OPENAPI_AKSK, each signature accepted once; without pairs every call is refused (403, 92020001) unless LICENSOR_OPENAPI_ALLOW_UNSIGNED=true. Answers carry Licensor-Signature (docs/server.md "Signed answers"). An unknown code answers HTTP 200 with error_code 92020005.',
  body,
  responses: { 200: { description: 'error_code 92020000 with data, or 92020005 (code not found)', schema: answer }, ...openApiRefusals() },
});

export const marketplaceOpenApiRoutes = declareRoutes([
  openApi('/v1/license/activate', 'Activate an authorization code', activateV1Schema, openApiActivateV1Schema),
  openApi('/v2/license/activate', 'Activate up to 100 codes; each entry answers for itself', activateV2Schema, openApiActivateV2Schema),
  openApi('/v1/license/heartbeat', 'Query a code (heartbeat)', heartbeatV1Schema, openApiHeartbeatV1Schema),
  openApi('/v2/license/heartbeat', 'Query up to 100 codes', heartbeatV2Schema, openApiHeartbeatV2Schema),
  openApi('/v2/license/software-usage-info', 'Report software usage (client ids or active counts) per code', softwareUsageSchema, openApiUsageSchema),
]);
