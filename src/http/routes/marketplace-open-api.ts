import express, { Router, type ErrorRequestHandler, type Request } from 'express';
import { LicensorError, Unauthorized } from '../../domain/errors';
import { formatMarketplaceTime } from '../../domain/marketplace/dates';
import { activateLicense, queryLicense, type LicenseFacts } from '../../domain/marketplace/license-api';
import { OPEN_API_CODES } from '../../domain/marketplace/result-codes';
import { reportSoftwareUsage } from '../../domain/marketplace/usage';
import type { Logger } from '../../logger';
import type { Runtime } from '../../runtime';
import { verifyApigRequest } from '../apig-signature';
import { OPEN_API_CODE_NOT_FOUND, openApiFailure, openApiRefusal } from '../marketplace-errors';
import { declareRoutes, openApiRefusals, type RouteDoc } from '../openapi/registry';
import { openApiActivateV1Schema, openApiActivateV2Schema, openApiHeartbeatV1Schema, openApiHeartbeatV2Schema, openApiUsageSchema } from '../response-schemas';
import { activateV1Schema, activateV2Schema, heartbeatV1Schema, heartbeatV2Schema, softwareUsageSchema } from '../marketplace-schemas';
import { clientAddress, codeKey, type CodeGuessGuard } from '../rate-limit';
import { parse, parseJsonBuffer } from '../validate';

/** Runs a code lookup under the guessing guard; `code` null charges failures to the address only. */
type Guarded = <T>(code: string | null, work: () => Promise<T>) => Promise<T>;

const BASE = '/api/mkp-openapi-public/global';

/**
 * The authorization-code open API, marketplace-compatible (koogallery-license-protocol.md §2.1–2.3,
 * §2.6; PRODUCT.md §3.2): the marketplace's paths, fields and error codes, so software written for
 * the marketplace runs against licensor unchanged. With AK/SK pairs configured every call must be
 * signed SDK-HMAC-SHA256 (§1.1), verified over the raw body.
 */
export function marketplaceOpenApi(runtime: Runtime, logger: Logger, guard: CodeGuessGuard): Router {
  const { ctx } = runtime;
  const secrets = new Map(runtime.config.marketplace.openApiCredentials.map((c) => [c.accessKey, c.secretKey]));
  const router = Router();
  const rawBody = express.raw({ type: () => true, limit: '256kb' });

  const route = (path: string, handle: (body: unknown, guarded: Guarded) => Promise<Record<string, unknown>>) => {
    router.post(BASE + path, rawBody, async (req, res) => {
      try {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        if (secrets.size > 0) authenticate(req, body, secrets, ctx.clock.now());
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

  route('/v1/license/activate', async (json, guarded) => {
    const body = parse(activateV1Schema, json);
    return { license_code_info: licenseCodeInfo(await guarded(body.license, () => activateLicense(ctx, body.license, body.real_effect_time))) };
  });
  route('/v2/license/activate', async (json, guarded) => {
    const body = parse(activateV2Schema, json);
    const list = [];
    for (const license of body.license_list) {
      const item = await perLicense(license, async () => ({ license_code_info: licenseCodeInfo(await guarded(license, () => activateLicense(ctx, license, body.real_effect_time))) }));
      list.push({ license, ...item });
    }
    return { license_code_info_list: list };
  });
  route('/v1/license/heartbeat', async (json, guarded) => {
    const body = parse(heartbeatV1Schema, json);
    return licenseInfo(body.license, await guarded(null, () => queryLicense(ctx, body.license, body.heartbeatInfo?.thirdPartyAccount)));
  });
  route('/v2/license/heartbeat', async (json, guarded) => {
    const body = parse(heartbeatV2Schema, json);
    const list = [];
    for (const license of body.license_list) {
      list.push(await perLicense(license, async () => licenseInfo(license, await guarded(null, () => queryLicense(ctx, license, body.heartbeatInfo?.thirdPartyAccount))), true));
    }
    return { license_info_list: list };
  });
  route('/v2/license/software-usage-info', async (json) => {
    const body = parse(softwareUsageSchema, json);
    const failed = await reportSoftwareUsage(
      ctx,
      body.usage_info.map((u) => ({
        license: u.license,
        infos: u.software_usage_Info.map((i) => (i.id !== undefined ? { id: i.id } : { activeNum: i.active_num! })),
      })),
    );
    return { check_fail_list: failed.map((f) => ({ license: f.license, ...OPEN_API_CODE_NOT_FOUND })) };
  });

  const bodyErrors: ErrorRequestHandler = (err, req, res, next) => {
    if (req.method !== 'POST') return next(err);
    const failure = openApiFailure(err, logger, res.locals.requestId);
    res.status(failure.status).json(failure.body);
  };
  router.use(BASE, bodyErrors);
  return router;
}

function authenticate(req: Request, body: Buffer, secrets: ReadonlyMap<string, string>, now: number): void {
  const url = req.originalUrl;
  const q = url.indexOf('?');
  const verdict = verifyApigRequest(
    { method: req.method, path: q < 0 ? url : url.slice(0, q), query: q < 0 ? '' : url.slice(q + 1), headers: req.headers, body },
    secrets,
    now,
  );
  if (!verdict.ok) throw new Unauthorized('apig_signature_invalid', verdict.reason);
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
  description: 'Same paths, fields and error codes as the marketplace (koogallery-license-protocol.md §2). Signed SDK-HMAC-SHA256 when LICENSOR_OPENAPI_AKSK is configured, open otherwise. An unknown code answers HTTP 200 with error_code 92020005.',
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
