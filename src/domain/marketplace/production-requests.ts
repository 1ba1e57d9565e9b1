import { freezeCode, releaseCode, renewCode, unfreezeCode, type CodeChange } from '../codes';
import type { DomainContext } from '../context';
import { IllegalTransition } from '../errors';
import { marketplaceStatus } from '../lifecycle';
import { formatMarketplaceTime } from './dates';
import { describeInstances, findInstance, instanceIdFor, provisionInstance } from './instances';
import { applyForLicense, type LicenseApplication } from './license-delivery';
import { codeForCallback } from './marketplace-codes';
import { upgradeInstance, type UpgradeRequest } from './orders';
import { RESULT_CODES, type ResultCode } from './result-codes';
import { marketplaceActor, type MarketplaceSettings } from './settings';

/** The production-interface activities (docs/marketplace.md §3.5, §3.6), validated at the edge. */
export type ProductionRequest =
  | {
      activity: 'refreshLicenseCode';
      scene: string;
      orderId: string;
      orderLineId: string;
      license: string;
      productId?: string;
      expireTime: number;
      testFlag: boolean;
    }
  | { activity: 'updateLicenseCodeStatus'; license: string; status: 'FREEZE' | 'UNFREEZE'; testFlag: boolean }
  | { activity: 'releaseLicenseCode'; license: string; orderId?: string; orderLineId?: string; testFlag: boolean }
  | { activity: 'newInstance'; orderId: string; orderLineId: string; businessId: string; testFlag: boolean }
  | {
      activity: 'refreshInstance';
      scene: string;
      orderId: string;
      orderLineId: string;
      instanceId: string;
      productId?: string;
      expireTime: number;
      testFlag: boolean;
    }
  | { activity: 'updateInstanceStatus'; instanceId: string; status: 'FREEZE' | 'UNFREEZE'; testFlag: boolean }
  | { activity: 'releaseInstance'; instanceId: string; orderId?: string; orderLineId?: string; testFlag: boolean }
  | ({ activity: 'getLicenseAsync' } & LicenseApplication)
  | { activity: 'queryInstance'; instanceIds: string[]; testFlag: boolean }
  | ({ activity: 'upgradeInstance' } & UpgradeRequest);

type Activity = ProductionRequest['activity'];

export const ACTIVITIES: readonly Activity[] = [
  'refreshLicenseCode',
  'updateLicenseCodeStatus',
  'releaseLicenseCode',
  'newInstance',
  'refreshInstance',
  'updateInstanceStatus',
  'releaseInstance',
  'getLicenseAsync',
  'queryInstance',
  'upgradeInstance',
];

/** `{ resultCode, resultMsg }` plus the activity's own fields (§3.1). */
export interface ProductionAnswer {
  resultCode: ResultCode;
  resultMsg: string;
  [field: string]: unknown;
}

const SUCCESS = { resultCode: RESULT_CODES.success, resultMsg: 'success.' } as const;

/** Runs one activity through the lifecycle functions, so every transition writes its audit event. */
export async function handleProductionRequest(ctx: DomainContext, request: ProductionRequest, settings: MarketplaceSettings): Promise<ProductionAnswer> {
  const actor = marketplaceActor(request.testFlag);
  switch (request.activity) {
    // License 2.0: a code licensor has never seen was made by the marketplace; it is adopted first.
    case 'refreshLicenseCode': {
      // §6: one renewal order applies once; a late retry of an older order cannot undo a newer one.
      const code = await codeForCallback(
        ctx,
        request.license,
        { expiresAt: request.expireTime, test: request.testFlag, activity: request.activity },
        settings,
        actor,
      );
      await renewCode(ctx, code.id, { expiresAt: request.expireTime }, actor, { scope: 'refreshLicenseCode', key: orderKey(request) });
      return { ...SUCCESS };
    }
    case 'updateLicenseCodeStatus': {
      const code = await codeForCallback(ctx, request.license, { test: request.testFlag, activity: request.activity }, settings, actor);
      await changeStatus(ctx, code.id, request.status, actor);
      return { ...SUCCESS };
    }
    case 'releaseLicenseCode': {
      const code = await codeForCallback(ctx, request.license, { test: request.testFlag, activity: request.activity }, settings, actor);
      await releaseCode(ctx, code.id, actor);
      return { ...SUCCESS };
    }
    case 'newInstance': {
      const instance = await provisionInstance(ctx, request, settings);
      return { ...SUCCESS, instanceId: instance.instanceId };
    }
    case 'refreshInstance': {
      const instance = await findInstance(ctx, request.instanceId);
      await renewCode(ctx, instance.codeId, { expiresAt: request.expireTime }, actor, { scope: 'refreshInstance', key: orderKey(request) });
      return { ...SUCCESS };
    }
    case 'updateInstanceStatus': {
      const instance = await findInstance(ctx, request.instanceId);
      await changeStatus(ctx, instance.codeId, request.status, actor);
      return { ...SUCCESS };
    }
    case 'releaseInstance': {
      const instance = await findInstance(ctx, request.instanceId);
      await releaseCode(ctx, instance.codeId, actor);
      return { ...SUCCESS };
    }
    case 'getLicenseAsync': {
      const outcome = await applyForLicense(ctx, request, settings);
      if (outcome.status === 'pending') return processingAnswer(request);
      return { ...SUCCESS, instanceId: request.instanceId, eventId: request.eventId, license: outcome.license };
    }
    case 'upgradeInstance': {
      await upgradeInstance(ctx, request, settings);
      return { ...SUCCESS };
    }
    case 'queryInstance': {
      // The answer's shape is licensor's own (docs/marketplace.md "queryInstance"): the SaaS one has no place for a license.
      const found = await describeInstances(ctx, request.instanceIds);
      return {
        ...SUCCESS,
        info: found.map(({ instance, code }) => ({
          instanceId: instance.instanceId,
          status: marketplaceStatus(code.effectiveStatus),
          expireTime: formatMarketplaceTime(code.expiresAt),
          licenseCode: code.displayCode,
          appInfo: { memo: `authorization code ${code.displayCode}` },
        })),
      };
    }
  }
}

/**
 * The answer while the work goes on after the 5 s budget (§3.6a: return the instanceId at once):
 * the id the instance is stored under, whichever request or process stores it.
 */
export function processingAnswer(request: ProductionRequest): ProductionAnswer {
  const answer: ProductionAnswer = { resultCode: RESULT_CODES.processing, resultMsg: 'request being processed.' };
  if (request.activity === 'newInstance') answer.instanceId = instanceIdFor(request.orderId, request.orderLineId);
  if (request.activity === 'getLicenseAsync') Object.assign(answer, { instanceId: request.instanceId, eventId: request.eventId });
  return answer;
}

function orderKey(request: { orderId: string; orderLineId: string }): string {
  return `${request.orderId}\n${request.orderLineId}`;
}

/**
 * FREEZE / UNFREEZE; repeats succeed without a second transition (lifecycle.ts). A released code
 * is more than frozen already, so a late FREEZE for it succeeds too; UNFREEZE of it is refused.
 */
async function changeStatus(ctx: DomainContext, codeId: string, status: 'FREEZE' | 'UNFREEZE', actor: string): Promise<CodeChange | null> {
  if (status === 'UNFREEZE') return unfreezeCode(ctx, codeId, actor);
  try {
    return await freezeCode(ctx, codeId, actor);
  } catch (err) {
    if (err instanceof IllegalTransition && err.details?.from === 'released') return null;
    throw err;
  }
}
