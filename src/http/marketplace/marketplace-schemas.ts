import { z } from 'zod';
import { parseLooseMarketplaceTime, parseMarketplaceTime } from '../../domain/marketplace/dates';

/**
 * Request schemas of the marketplace routes (docs/marketplace.md §2, §3). Field names,
 * enums and lengths are the marketplace's; unknown fields are dropped, never refused.
 */

const text = (max: number) => z.string().min(1).max(max);

/** `"1"` marks a Seller Center debug request (§3.1); numbers are read too. */
const testFlag = z
  .preprocess((v) => (typeof v === 'number' ? String(v) : v), z.enum(['0', '1']).optional())
  .transform((v) => v === '1')
  .describe('"1" for a debug request (marked as test data), "0" or absent otherwise');

function time(max: number, parseTime: (s: string) => number | null, expected: string) {
  return z
    .string()
    .max(max)
    .transform((s, ctx) => {
      const t = parseTime(s);
      if (t === null) {
        ctx.addIssue({ code: 'custom', message: `expected ${expected}, UTC` });
        return z.NEVER;
      }
      return t;
    });
}

const compactTime = time(20, parseMarketplaceTime, 'yyyyMMddHHmmss or yyyyMMddHHmmssSSS');
const looseTime = time(32, parseLooseMarketplaceTime, 'yyyyMMddHHmmss, yyyyMMddHHmmssSSS or yyyy-MM-dd HH:mm:ss');
const statusChange = z.enum(['FREEZE', 'UNFREEZE']);

export const productionRequestSchemas = {
  refreshLicenseCode: z.object({
    activity: z.literal('refreshLicenseCode'),
    // TRIAL_TO_FORMAL is not listed for License 2.0 (§10 gap 6) but arrives as a validity change if ever sent.
    scene: z.enum(['RENEWAL', 'UNSUBSCRIBE_RENEWAL_PERIOD', 'TRIAL_TO_FORMAL']),
    orderId: text(64),
    orderLineId: text(64),
    license: text(64),
    productId: z.string().max(64).optional(),
    expireTime: compactTime,
    testFlag,
  }),
  updateLicenseCodeStatus: z.object({ activity: z.literal('updateLicenseCodeStatus'), license: text(64), status: statusChange, testFlag }),
  releaseLicenseCode: z.object({
    activity: z.literal('releaseLicenseCode'),
    license: text(64),
    orderId: z.string().max(64).optional(),
    orderLineId: z.string().max(64).optional(),
    testFlag,
  }),
  newInstance: z.object({ activity: z.literal('newInstance'), orderId: text(64), orderLineId: text(64), businessId: text(64), testFlag }),
  refreshInstance: z.object({
    activity: z.literal('refreshInstance'),
    scene: z.enum(['TRIAL_TO_FORMAL', 'RENEWAL', 'UNSUBSCRIBE_RENEWAL_PERIOD', 'RENEWAL_CHANGE']),
    orderId: text(64),
    orderLineId: text(64),
    instanceId: text(64),
    productId: z.string().max(64).optional(),
    expireTime: compactTime,
    testFlag,
  }),
  updateInstanceStatus: z.object({ activity: z.literal('updateInstanceStatus'), instanceId: text(64), status: statusChange, testFlag }),
  releaseInstance: z.object({
    activity: z.literal('releaseInstance'),
    instanceId: text(64),
    orderId: z.string().max(64).optional(),
    orderLineId: z.string().max(64).optional(),
    testFlag,
  }),
  getLicenseAsync: z.object({
    activity: z.literal('getLicenseAsync'),
    instanceId: text(64),
    effectiveTime: looseTime,
    expireTime: looseTime.optional(),
    eventId: text(64),
    // 1024 in the field table, 5 KB in the fingerprint spec (§10 gap 5): the larger is accepted.
    deviceFingerprint: z.string().max(5120).optional(),
    testFlag,
  }),
  // Borrowed from SaaS 2.0 (docs/marketplace.md "Upgrades"); SaaS V1's `amount` is read when sent.
  upgradeInstance: z.object({
    activity: z.literal('upgradeInstance'),
    instanceId: text(64),
    orderId: text(64),
    orderLineId: text(64),
    amount: z
      .preprocess((v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v), z.number().int().min(1).max(100_000).optional())
      .describe('The quantity after the upgrade (SaaS V1); without it order/query of the upgrade order tells it'),
    testFlag,
  }),
  queryInstance: z.object({
    activity: z.literal('queryInstance'),
    // A comma-separated list of up to 100 ids (§3.6f).
    instanceId: z
      .string()
      .min(1)
      .max(100 * 65)
      .transform((s) =>
        s
          .split(',')
          .map((id) => id.trim())
          .filter(Boolean),
      )
      .refine(
        (ids) => ids.length >= 1 && ids.length <= 100 && ids.every((id) => id.length <= 64),
        'one to 100 instance ids of up to 64 characters, comma-separated',
      ),
    testFlag,
  }),
} as const;

export const activityFieldSchema = z.object({ activity: z.string().max(64) });

const license = text(64).describe('The authorization code (or, for instance-based products, the instance id)');
const realEffectTime = z
  .string()
  .max(16)
  .transform((s, ctx) => {
    const t = parseMarketplaceTime(s);
    if (t === null || s.trim().length !== 14) {
      ctx.addIssue({ code: 'custom', message: 'expected yyyyMMddHHmmss, UTC' });
      return z.NEVER;
    }
    return t;
  });
const heartbeatInfo = z
  .object({ thirdPartyAccount: text(256), ip: z.string().max(64).optional() })
  .describe('Sunset (§2.2): still accepted; thirdPartyAccount counts as a usage identity for the day');

export const activateV1Schema = z.object({ license, real_effect_time: realEffectTime.optional() });
export const activateV2Schema = z.object({ license_list: z.array(license).min(1).max(100), real_effect_time: realEffectTime.optional() });
export const heartbeatV1Schema = z.object({ license, heartbeatInfo: heartbeatInfo.optional() });
export const heartbeatV2Schema = z.object({ license_list: z.array(license).min(1).max(100), heartbeatInfo: heartbeatInfo.optional() });

const softwareUsageInfo = z
  .object({ id: text(256).optional(), active_num: z.number().int().min(0).max(100_000_000).optional() })
  .refine((u) => (u.id === undefined) !== (u.active_num === undefined), 'each entry carries exactly one of id or active_num');

export const softwareUsageSchema = z.object({
  usage_info: z
    .array(
      z.preprocess(
        // The field is documented as `software_usage_Info`; the all-lower-case spelling is read too.
        (v) =>
          v && typeof v === 'object' && !('software_usage_Info' in v) && 'software_usage_info' in v
            ? { ...v, software_usage_Info: (v as Record<string, unknown>).software_usage_info }
            : v,
        z.object({ license, software_usage_Info: z.array(softwareUsageInfo).min(1).max(100) }),
      ),
    )
    .min(1)
    .max(100),
});
