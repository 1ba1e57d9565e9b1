import { z } from 'zod';
import { MAX_CHURN_PERIOD_SECONDS } from '../domain/churn';
import { VERSION_PATTERN } from '@licensor/client/contract';
import type { Renewal, Validity } from '../domain/codes';
import { ADMIN_SCOPES, CODE_STATUSES } from '../domain/types';
import { parse } from './validate';

/**
 * Request schemas of the client and admin APIs and of the CLI: untrusted input becomes typed
 * values here, once. The same schemas feed the OpenAPI document (src/http/openapi), so keep
 * descriptions on them. The marketplace's own wire formats are in src/http/marketplace/marketplace-schemas.ts.
 */

// The fingerprint's rules, shared by its schema and the heartbeat's fast check below.
const COMPONENT_ID = /^[a-z][a-zA-Z0-9._-]{0,63}$/;
const COMPONENT_HASH = /^[0-9a-fA-F]{16,128}$/;
const MAX_SET_HASHES = 64;
const MIN_COMPONENTS = 1;
const MAX_COMPONENTS = 32;
const ACTIVATION_ID = /^[0-9a-f-]{36}$/i;
// The activation's secret (32 random bytes, base64url), or a lease token as proof (docs/security.md).
const SECRET = /^[A-Za-z0-9_-]{16,128}$/;
const MAX_TOKEN_LENGTH = 16_384;

const componentHash = z.string().regex(COMPONENT_HASH, 'a hex hash of 16–128 digits');

const fingerprintSchema = z
  .record(z.string().regex(COMPONENT_ID, 'a component id such as os.machineId'), z.union([componentHash, z.array(componentHash).max(MAX_SET_HASHES)]))
  .refine((fp) => Object.keys(fp).length >= MIN_COMPONENTS && Object.keys(fp).length <= MAX_COMPONENTS, 'between 1 and 32 components')
  .describe('Per-component HMAC hashes of the machine fingerprint; set components (net.macs) as lists');

const environmentSchema = z
  .record(z.string().max(64), z.union([z.string().max(256), z.number(), z.boolean(), z.null()]))
  .refine((env) => Object.keys(env).length <= 32, 'at most 32 entries')
  .describe('What the machine reports about itself (virtualisation, container, platform), shown to operators');

export const activationRequestSchema = z.object({
  code: z.string().min(1).max(64).describe('The authorization code; case, dashes and spaces do not matter'),
  fingerprint: fingerprintSchema,
  environment: environmentSchema.optional(),
});

const activationId = z.string().regex(ACTIVATION_ID, 'an activation id');

export const heartbeatRequestSchema = z.object({
  activationId,
  fingerprint: fingerprintSchema,
  secret: z
    .string()
    .regex(SECRET, 'the secret the activation answered')
    .optional()
    .describe('Proof of holding the activation: the secret its activation answered'),
  token: z
    .string()
    .min(1)
    .max(MAX_TOKEN_LENGTH)
    .optional()
    .describe('Proof of holding the activation for clients without a secret: a lease token the server signed for it'),
});

export type HeartbeatRequest = z.output<typeof heartbeatRequestSchema>;

/**
 * The heartbeat body, validated: the hot path's share of the schema's work. A body exactly in the
 * schema's shape (nothing more) is checked here against the same rules and used as it is; any
 * other goes through the schema, which accepts or explains. Measured: the schema's parse was about
 * a tenth of a lone heartbeat's time on the server. The spec in test/heartbeat-body.test.ts holds
 * the two to the same answers.
 */
export function readHeartbeatRequest(body: unknown): HeartbeatRequest {
  return isPlainHeartbeat(body) ? body : parse(heartbeatRequestSchema, body);
}

function isPlainHeartbeat(body: unknown): body is HeartbeatRequest {
  if (!isRecord(body)) return false;
  let keys = 0;
  for (const key in body) {
    if (key !== 'activationId' && key !== 'fingerprint' && key !== 'secret' && key !== 'token') return false;
    keys++;
  }
  const { activationId: id, fingerprint, secret, token } = body;
  if (keys !== 2 + Number(secret !== undefined) + Number(token !== undefined)) return false;
  if (secret !== undefined && (typeof secret !== 'string' || !SECRET.test(secret))) return false;
  if (token !== undefined && (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH)) return false;
  if (typeof id !== 'string' || !ACTIVATION_ID.test(id) || !isRecord(fingerprint)) return false;
  let components = 0;
  for (const key in fingerprint) {
    if (!COMPONENT_ID.test(key)) return false;
    const value = fingerprint[key];
    if (typeof value === 'string') {
      if (!COMPONENT_HASH.test(value)) return false;
    } else if (Array.isArray(value)) {
      if (value.length > MAX_SET_HASHES) return false;
      for (const hash of value) if (typeof hash !== 'string' || !COMPONENT_HASH.test(hash)) return false;
    } else {
      return false;
    }
    components++;
  }
  return components >= MIN_COMPONENTS && components <= MAX_COMPONENTS;
}

/** A JSON object as JSON.parse makes it: own enumerable keys only, no prototype surprises. */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

export const activationIdParamSchema = z.object({ id: activationId });

export const deactivationRequestSchema = z.object({
  token: z.string().min(1).max(MAX_TOKEN_LENGTH).describe('A lease token the server signed for this activation (lapsed ones count)'),
});

const productName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'letters, digits, dot, dash or underscore, up to 100');

export const productNameParamSchema = z.object({ name: productName });

/** Nesting depth of a JSON value, counted without recursion (a hostile body may nest thousands deep). */
function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    deepest = Math.max(deepest, depth);
    if (node !== null && typeof node === 'object') for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}

const MAX_METADATA_DEPTH = 16;

export const productRequestSchema = z.object({
  name: productName,
  seatMode: z.enum(['node_locked', 'floating']).optional(),
  leaseSeconds: z
    .number()
    .int()
    .min(60)
    .max(400 * 86_400)
    .optional(),
  heartbeatIntervalSeconds: z
    .number()
    .int()
    .min(10)
    .max(100 * 86_400)
    .optional(),
  matchStrategy: z.enum(['exact', 'fuzzy', 'loose']).optional(),
  reclaim: z
    .enum(['eager', 'soft'])
    .optional()
    .describe('Who takes back a lapsed floating seat: the sweeper at once (eager, default) or only an activation that needs it (soft)'),
  churnLimit: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .nullable()
    .optional()
    .describe('At most this many activations + deactivations of one code per churn period; null/absent = unlimited'),
  churnPeriodSeconds: z.number().int().min(60).max(MAX_CHURN_PERIOD_SECONDS).optional().describe('The churn period; default 86400 (a day)'),
  fingerprintChangeWindowSeconds: z
    .number()
    .int()
    .min(3600)
    .max(400 * 86_400)
    .optional()
    .describe("A machine's enrolment may change one non-anchor component per window, never an anchor; default 2592000 (30 days)"),
  containers: z
    .enum(['refuse', 'instance'])
    .optional()
    .describe(
      'Containers: refuse them (default), or license each container instance with a floating seat bound to the identity its client keeps (needs seatMode floating)',
    ),
});

/** A policy change: any of the settings creation takes but the name, with the same limits (docs/policies.md "Changing a policy"). */
export const productPolicyChangeSchema = productRequestSchema
  .omit({ name: true })
  .strict()
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'give at least one setting to change');

export const publishVersionRequestSchema = z.object({
  version: z.string().regex(VERSION_PATTERN, 'a version such as 2.1.0 or 2.1.0-beta.1').describe('The latest version of the product'),
  required: z.boolean().optional().describe('Every running version older than this one must update (raises the minimum version to it)'),
});

const isoDate = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s));

export const issueCodeRequestSchema = z
  .object({
    product: productName,
    seats: z.number().int().min(1).max(100_000),
    concurrent: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .optional()
      .describe('"N machines, M at a time": at most this many of the seats in use at once; default all'),
    days: z.number().int().min(1).max(36_500).optional(),
    expiresAt: isoDate.optional(),
    features: z.array(z.string().min(1).max(100)).max(100).optional(),
    metadata: z
      .record(z.string().max(100), z.unknown())
      .refine((m) => jsonDepth(m) <= MAX_METADATA_DEPTH, `nested at most ${MAX_METADATA_DEPTH} levels deep`)
      .optional(),
    test: z.boolean().optional(),
  })
  .refine((b) => (b.days === undefined) !== (b.expiresAt === undefined), 'give exactly one of days or expiresAt');

export const renewRequestSchema = z
  .object({
    days: z.number().int().min(1).max(36_500).optional(),
    expiresAt: isoDate.optional(),
  })
  .refine((b) => (b.days === undefined) !== (b.expiresAt === undefined), 'give exactly one of days or expiresAt');

/** An issue request's `days` or `expiresAt` (exactly one, checked above), as the domain takes it. */
export function validityOf(request: { days?: number | undefined; expiresAt?: number | undefined }): Validity {
  return request.expiresAt !== undefined ? { expiresAt: request.expiresAt } : { days: request.days! };
}

/** A renew request's `days` (added to the later of now and the current expiry) or `expiresAt`. */
export function renewalOf(request: { days?: number | undefined; expiresAt?: number | undefined }): Renewal {
  return request.expiresAt !== undefined ? { expiresAt: request.expiresAt } : { extendByDays: request.days! };
}

/** A query-string flag: `true` or `false`, as a boolean. */
const queryFlag = z.enum(['true', 'false']).transform((v) => v === 'true');
/** Where a keyset page goes on from (the previous page's nextCursor). */
const pageCursor = z.string().max(200).optional();

export const listCodesQuerySchema = z.object({
  product: productName.optional(),
  status: z.enum(CODE_STATUSES).optional(),
  q: z
    .string()
    .max(64)
    .regex(/^[A-Za-z0-9\s-]*$/, 'a code prefix or an id: letters, digits, dashes, spaces')
    .optional(),
  test: queryFlag.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: pageCursor,
});

/** Entity ids (uuids, key ids) and action names such as code.renewed. */
const auditWord = z.string().regex(/^[\w.:-]{1,64}$/, 'letters, digits, dot, colon, dash or underscore, up to 64');

export const listAuditQuerySchema = z.object({
  code: z.string().max(64).optional(),
  entity: auditWord.optional(),
  action: auditWord.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: pageCursor,
});

export const heartbeatStatsQuerySchema = z.object({
  product: productName.optional().describe('One product; all products when absent'),
  from: isoDate.optional().describe('Start of the range; default one day before `to`'),
  to: isoDate.optional().describe('End of the range; default now'),
  points: z.coerce.number().int().min(10).max(500).default(120).describe('At most this many buckets; the bucket width follows'),
});

// The marketplace layer, as the operator sees it (docs/marketplace.md).
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a day as YYYY-MM-DD');

export const usageQuerySchema = z.object({
  code: z.string().max(64).optional(),
  from: day.optional(),
  to: day.optional(),
  includeTest: queryFlag.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const instancesQuerySchema = z.object({
  test: queryFlag.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: pageCursor,
});

export const marketplaceLicensesQuerySchema = z.object({
  status: z.enum(['pending', 'ready']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export const codeImportRequestSchema = z.object({
  file: z
    .string()
    .min(1)
    .max(16_000_000)
    .describe(
      "The file's text: one code a line, `code,expiry[,seats]`; expiry yyyyMMddHHmmss (UTC), YYYY-MM-DD or ISO 8601; an optional header line `code,…`; blank lines and lines starting with # are skipped",
    ),
  product: z.string().min(1).max(100).optional().describe('Default: LICENSOR_MARKETPLACE_PRODUCT'),
  seats: z.number().int().min(1).max(100_000).optional().describe('Seats of a row that gives none; default: LICENSOR_MARKETPLACE_SEATS'),
  test: z.boolean().optional().describe('Mark the imported codes as test data (Seller Center test codes)'),
});

// The calls licensor owes (docs/operations.md).
export const outboxQuerySchema = z.object({
  status: z.enum(['pending', 'delivered', 'failed']).optional(),
  kind: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: pageCursor,
});
export const outboxIdParamSchema = z.object({ id: z.string().min(1).max(36) });
const tokenName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, dot, dash or underscore, up to 64');

export const adminTokenRequestSchema = z.strictObject({
  name: tokenName.describe('Shown in the audit trail as the actor token:<name>'),
  scope: z.enum(ADMIN_SCOPES).describe('read: reads only; codes: reads, and issues and renews codes of `products`; full: everything'),
  products: z.array(productName).min(1).max(100).optional().describe('For scope codes (required there): the products whose codes it may issue and renew'),
});

export const adminTokenNameParamSchema = z.object({ name: tokenName });

// Webhook endpoints (docs/webhooks.md).
const eventPatterns = z
  .array(z.string().min(1).max(64))
  .min(1)
  .max(100)
  .describe('Event types (e.g. code.issued), families (code.*) or * for all; see GET /v1/admin/webhooks/event-types');
const url = z
  .string()
  .min(1)
  .max(2048)
  .describe('http:// or https://; a host resolving to a loopback, link-local or private address is refused unless LICENSOR_WEBHOOKS_ALLOW_PRIVATE');

export const webhookRequestSchema = z.strictObject({ url, events: eventPatterns, description: z.string().max(200).optional() });
export const webhookChangeSchema = z
  .strictObject({
    url: url.optional(),
    events: eventPatterns.optional(),
    description: z.string().max(200).nullable().optional(),
    enabled: z.boolean().optional(),
  })
  .refine((c) => Object.keys(c).length > 0, 'name at least one of url, events, description, enabled');
export const webhookIdParamSchema = z.object({ id: z.string().min(1).max(36) });
export const deliveryParamSchema = z.object({ id: z.string().min(1).max(36), delivery: z.string().min(1).max(36) });
export const deliveriesQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });
