/**
 * licensor/client — what an on-prem product embeds (docs/client.md): activate a machine with an
 * authorization code, check the license offline, heartbeat in the background, air-gapped
 * activation; the machine fingerprint helpers; a helper for software written against the
 * marketplace's authorization-code API.
 */
export { LicenseClient } from './license-client';
export type { LicenseClientOptions } from './license-client';
export type { CheckReason, CheckResult, LicenseStatus } from './license-state';
export type { UpdateNotice } from './update-notice';
export type { HeartbeatHandle, HeartbeatLoopOptions, HeartbeatOutcome, HeartbeatResult } from './heartbeat-loop';
export type { JwsAlgorithm, PublicKeyInput } from './key-set';
export { LicenseClientError } from './errors';
export { marketplaceHeartbeat } from './marketplace-heartbeat';
export type { MarketplaceHeartbeatOptions, MarketplaceHeartbeatResult, MarketplaceReason, MarketplaceStatus } from './marketplace-heartbeat';
export { collect, collectSync, deviceFingerprint } from './fingerprint/addon';
export type { CollectOptions, CollectedFingerprint } from './fingerprint/types';
export { hashFingerprint, displayId } from './fingerprint/hashing';
export type { FingerprintHashes } from './fingerprint/components';
