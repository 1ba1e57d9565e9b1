import { z } from 'zod';
import { ADMIN_SCOPES, CODE_STATUSES } from '../domain/types';

/**
 * The shapes of our answers, for the OpenAPI document and for test/openapi.test.ts, which checks
 * real answers against them. Objects are strict here so that a field added to a view without
 * being documented fails that test; the document itself leaves objects open (clients must accept
 * fields added later).
 */

const isoTime = z.string().describe('ISO 8601 time, UTC');
const codeStatus = z.enum(CODE_STATUSES);
const json = z.record(z.string(), z.unknown());

export const errorBodySchema = z
  .strictObject({
    error: z.strictObject({
      code: z.string().describe('Stable machine-readable code, e.g. seat_limit_reached'),
      message: z.string().describe('For people; may change'),
      details: json.optional(),
    }),
  })
  .describe('Every refusal outside the marketplace routes');

export const healthSchema = z.strictObject({ status: z.literal('ok') });
export const readySchema = z.strictObject({ status: z.literal('ready'), engine: z.enum(['sqlite', 'postgres']) });

export const jwksSchema = z.strictObject({
  keys: z.array(z.record(z.string(), z.unknown()).describe('A public JWK (OKP Ed25519 or EC P-256) with kid, alg and use')),
  endorsements: z
    .array(
      z
        .string()
        .describe(
          'Compact JWS, typ licensor-key-endorsement+jwt: the outgoing key (header kid) signs {"endorses": <the incoming public JWK>, "iat": <seconds>}',
        ),
    )
    .describe(
      'Every key endorsement ever made, oldest rotation first, kept after their keys leave `keys`: a client learns a key only by walking them from a key it trusts',
    ),
});

const activationSchema = z.strictObject({
  id: z.string(),
  status: z.enum(['active', 'deactivated', 'culled']),
  createdAt: isoTime,
  lastHeartbeatAt: isoTime.describe('Coalesced: up to LICENSOR_HEARTBEAT_FLUSH_MS behind'),
  endedAt: isoTime.nullable(),
  cloneSuspect: z.boolean(),
  clonedAt: isoTime.nullable().describe('When heartbeats of two machines were seen taking turns on it; its beats are refused since'),
});

const licenseSchema = z.strictObject({
  status: codeStatus,
  expiresAt: isoTime,
  seats: z.number().int(),
  features: z.array(z.string()),
  product: z.string(),
  seatMode: z.enum(['node_locked', 'floating']),
  leaseSeconds: z.number().int(),
  heartbeatIntervalSeconds: z.number().int(),
});

const leaseToken = z.string().describe('Compact JWS lease token (EdDSA or ES256), verifiable offline with the JWKS');

export const activationAnswerSchema = z.strictObject({
  activation: activationSchema.extend({
    secret: z.string().describe("The activation's secret: the client keeps it and proves with it that it holds the seat (heartbeats)"),
  }),
  token: leaseToken,
  license: licenseSchema,
});
export const heartbeatAnswerSchema = z.strictObject({
  status: codeStatus,
  token: leaseToken.nullable().describe('null once the license is expired, frozen or released'),
  license: licenseSchema,
  update: z
    .strictObject({ latestVersion: z.string(), minimumVersion: z.string().nullable() })
    .nullable()
    .describe("The product's published versions (update notices); null until the operator publishes one"),
});
export const deactivationAnswerSchema = z.strictObject({ activation: activationSchema });

const productSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  seatMode: z.enum(['node_locked', 'floating']),
  leaseSeconds: z.number().int(),
  heartbeatIntervalSeconds: z.number().int(),
  matchStrategy: z.enum(['exact', 'fuzzy', 'loose']),
  reclaim: z.enum(['eager', 'soft']).describe('Who takes back a lapsed floating seat: the sweeper at once (eager), or only an activation that needs it (soft)'),
  churnLimit: z.number().int().nullable().describe('At most this many activations + deactivations of one code per churn period; null = unlimited'),
  churnPeriodSeconds: z.number().int(),
  fingerprintChangeWindowSeconds: z.number().int().describe("A machine's enrolment may change one non-anchor component per window, never an anchor"),
  containers: z.enum(['refuse', 'instance']).describe('Containers refused, or each container instance licensed with a floating seat'),
  latestVersion: z.string().nullable(),
  minimumVersion: z.string().nullable(),
  createdAt: isoTime,
});

const codeSchema = z.strictObject({
  id: z.string(),
  code: z.string().describe('The authorization code, XXXXX-XXXXX-XXXXX-XXXXX-XXXXX'),
  product: z.string(),
  status: codeStatus.describe('Effective status: an alive code past its date reads expired'),
  storedStatus: codeStatus,
  seats: z.number().int().describe('Registered machines (N)'),
  concurrent: z.number().int().nullable().describe('Machines in use at once (M of "N machines, M at a time"); null = all N'),
  features: z.array(z.string()),
  expiresAt: isoTime,
  firstActivatedAt: isoTime.nullable(),
  metadata: json,
  test: z.boolean(),
  createdAt: isoTime,
  updatedAt: isoTime,
});

const adminActivationSchema = activationSchema.extend({
  codeId: z.string(),
  fingerprint: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
  environment: json,
  inUseUntil: isoTime.nullable().describe('End of the in-use slot on codes with a concurrency limit; null otherwise'),
});

const auditEventSchema = z.strictObject({
  id: z.string(),
  at: isoTime,
  actor: z.string(),
  action: z.string().describe('e.g. code.issued, activation.created, key.rotated'),
  entityType: z.enum(['product', 'code', 'activation', 'key', 'outbox', 'webhook']),
  entityId: z.string(),
  codeId: z.string().nullable(),
  before: json.nullable(),
  after: json.nullable(),
});

const keySchema = z.strictObject({
  kid: z.string(),
  generation: z.number().int(),
  alg: z.enum(['EdDSA', 'ES256']),
  publicJwk: json,
  status: z.enum(['active', 'retired']),
  createdAt: z.number().describe('epoch ms'),
  retiredAt: z.number().nullable(),
  publishUntil: z.number().nullable(),
});

const nextCursor = z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page');

export const productAnswerSchema = z.strictObject({ product: productSchema });
const adminTokenSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  scope: z.enum(ADMIN_SCOPES),
  products: z.array(z.string()).nullable().describe('The products a codes token reaches; null for the other scopes'),
  createdAt: isoTime,
  revokedAt: isoTime.nullable(),
  lastUsedAt: isoTime.nullable().describe('To the minute'),
});
export const adminTokenCreatedSchema = z.strictObject({
  token: adminTokenSchema,
  secret: z.string().describe('The token itself: shown this once, only its SHA-256 is kept'),
});
export const adminTokenListSchema = z.strictObject({ items: z.array(adminTokenSchema) });
export const adminTokenChangeSchema = z.strictObject({ token: adminTokenSchema, changed: z.boolean().describe('false when it already was revoked') });
export const whoamiSchema = z.strictObject({
  name: z.string().nullable().describe('The token name; null for the bootstrap token'),
  actor: z.string().describe('How the audit trail names this caller'),
  scope: z.enum(ADMIN_SCOPES),
  products: z.array(z.string()).nullable(),
});
export const productChangeSchema = z.strictObject({ product: productSchema, changed: z.boolean().describe('false when every setting already had that value') });
export const productListSchema = z.strictObject({ items: z.array(productSchema) });
export const codeAnswerSchema = z.strictObject({ code: codeSchema });
export const codeChangeSchema = z.strictObject({ code: codeSchema, changed: z.boolean().describe('false when the code already was in that state') });
export const codePageSchema = z.strictObject({ items: z.array(codeSchema), nextCursor });
export const adminActivationAnswerSchema = z.strictObject({ activation: adminActivationSchema });
export const adminActivationListSchema = z.strictObject({ items: z.array(adminActivationSchema) });
export const auditPageSchema = z.strictObject({ items: z.array(auditEventSchema), nextCursor });
export const keyListSchema = z.strictObject({ items: z.array(keySchema), current: z.string().nullable() });
export const keyRotationSchema = z.strictObject({ current: keySchema, retired: z.array(keySchema) });

export const heartbeatSeriesSchema = z.strictObject({
  product: z.string().nullable(),
  from: isoTime,
  to: isoTime,
  stepSeconds: z.number(),
  points: z.array(z.strictObject({ at: isoTime, beats: z.number().int(), activeSeats: z.number().int().nullable() })),
});

export const usageListSchema = z.strictObject({
  items: z.array(
    z.strictObject({
      code: z.string(),
      codeId: z.string(),
      day: z.string().describe('YYYY-MM-DD, UTC'),
      distinctIds: z.number().int(),
      activeNum: z.number().int().nullable(),
      ids: z.array(z.string()),
      reportedAt: isoTime,
    }),
  ),
});

export const instancePageSchema = z.strictObject({
  items: z.array(
    z.strictObject({
      instanceId: z.string(),
      orderId: z.string(),
      orderLineId: z.string(),
      codeId: z.string(),
      test: z.boolean(),
      createdAt: isoTime,
      code: z.string().nullable(),
      order: z
        .strictObject({
          chargingMode: z.string().nullable(),
          periodType: z.string().nullable(),
          periodNumber: z.number().int().nullable(),
          quantity: z.number().int().nullable(),
          checkedAt: isoTime,
        })
        .nullable()
        .describe("What the marketplace's order/query said of the order line; null until it answered"),
    }),
  ),
  nextCursor,
});

export const marketplaceLicenseListSchema = z.strictObject({
  items: z.array(
    z.strictObject({
      eventId: z.string(),
      fingerprintHash: z.string(),
      instanceId: z.string(),
      codeId: z.string(),
      deviceFingerprint: z.string().nullable(),
      activationId: z.string().nullable(),
      status: z.enum(['pending', 'ready']),
      license: z.string().nullable(),
      test: z.boolean(),
      requestedAt: isoTime,
      deliveredAt: isoTime.nullable(),
      uploadedAt: isoTime.nullable().describe('When licensor uploaded the license to the marketplace (owed after a 000004 answer)'),
    }),
  ),
});

/** The production interface answers HTTP 200 with a result code, signed with Body-Sign (§3.4). */
export const productionAnswerSchema = z
  .strictObject({
    resultCode: z
      .enum(['000000', '000001', '000002', '000003', '000004', '000005', '000100', '000900', '000901', '000902', '000903'])
      .describe(
        '000000 success, 000001 authentication failed, 000002 invalid parameter, 000003 not found, 000004 processing, 000005 internal error, 000100 no instance resource, 000900 quota exhausted, 000901 outside order validity, 000903 device fingerprint required',
      ),
    resultMsg: z.string(),
    instanceId: z.string().optional().describe('newInstance, getLicenseAsync'),
    eventId: z.string().optional().describe('getLicenseAsync'),
    license: z.string().optional().describe('getLicenseAsync: the authorization code, or a signed token bound to the device fingerprint'),
    info: z
      .array(
        z.strictObject({
          instanceId: z.string(),
          status: z.enum(['ALIVE', 'EXPIRED', 'RELEASED']),
          expireTime: z.string().describe('yyyyMMddHHmmss, UTC'),
          licenseCode: z.string(),
          appInfo: z.strictObject({ memo: z.string() }),
        }),
      )
      .optional()
      .describe(
        'queryInstance: licensor\'s own shape (docs/marketplace.md "queryInstance"): the SaaS appInfo has no place for a license, so the code is in licenseCode and appInfo.memo',
      ),
  })
  .describe('Production-interface answer (docs/marketplace.md §3)');

const openApiEnvelope = <T extends z.ZodType>(data: T) =>
  z.strictObject({
    error_code: z.string().describe('92020000 success; 92020001 unauthorized or internal; 92020002 invalid parameter; 92020005 code not found'),
    error_msg: z.string(),
    data: data.optional(),
  });

const licenseInfo = z.strictObject({
  license_code: z.string(),
  status: z.enum(['ALIVE', 'EXPIRED', 'RELEASED']),
  activate_time: z.string(),
  expire_time: z.string(),
  product_id: z.string(),
  order_id: z.string(),
  amount: z.number().int(),
});
const licenseCodeInfo = z.string().describe('JSON-encoded { status, expire_time, product_id, order_id, amount }');
const refusalEntry = { error_code: z.string(), error_msg: z.string() };

export const openApiActivateV1Schema = openApiEnvelope(z.strictObject({ license_code_info: licenseCodeInfo }));
export const openApiActivateV2Schema = openApiEnvelope(
  z.strictObject({ license_code_info_list: z.array(z.strictObject({ license: z.string(), ...refusalEntry, license_code_info: licenseCodeInfo.optional() })) }),
);
export const openApiHeartbeatV1Schema = openApiEnvelope(licenseInfo);
export const openApiHeartbeatV2Schema = openApiEnvelope(
  z.strictObject({ license_info_list: z.array(z.union([licenseInfo.extend(refusalEntry), z.strictObject({ license_code: z.string(), ...refusalEntry })])) }),
);
export const openApiUsageSchema = openApiEnvelope(z.strictObject({ check_fail_list: z.array(z.strictObject({ license: z.string(), ...refusalEntry })) }));
/** A refusal of the marketplace-compatible open API (no `data`). */
export const openApiRefusalSchema = z.strictObject(refusalEntry);

const outboxEntry = z.strictObject({
  id: z.string(),
  kind: z.string().describe('What is owed, e.g. marketplace.order-query, marketplace.license-upload, marketplace.usage-push'),
  target: z.string().describe('Entries of one target are delivered in order, one at a time'),
  key: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()),
  status: z.enum(['pending', 'delivered', 'failed']).describe('pending: owed; delivered; failed: given up (retry it once the cause is fixed)'),
  attempts: z.number().int().describe('Failed attempts so far'),
  nextAttemptAt: isoTime,
  lastError: z.string().nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
  deliveredAt: isoTime.nullable(),
});

export const outboxEntryAnswerSchema = z.strictObject({ entry: outboxEntry });
export const outboxPageSchema = z.strictObject({ items: z.array(outboxEntry), nextCursor });
export const outboxSummarySchema = z.strictObject({
  items: z.array(z.strictObject({ kind: z.string(), status: z.enum(['pending', 'delivered', 'failed']), count: z.number().int(), oldestAt: isoTime })),
});

const importedRow = { line: z.number().int(), code: z.string() };
export const codeImportReportSchema = z.strictObject({
  product: z.string(),
  imported: z.array(z.strictObject(importedRow)).describe('Codes new to licensor, now issued'),
  existing: z.array(z.strictObject({ ...importedRow, differs: z.array(z.enum(['expiry', 'seats'])) })).describe('Codes licensor knew, left as they are'),
});
