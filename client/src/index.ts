/**
 * @licensor/client — what an on-prem product embeds (docs/client.md): activate a machine with an
 * authorization code, check the license offline, heartbeat in the background, air-gapped
 * activation; the machine fingerprint helpers; a helper for software written against the
 * marketplace's authorization-code API. What the server and client agree on is
 * `@licensor/client/contract`.
 */
export { LicenseClient, storePaths } from './license-client';
export type { LicenseClientOptions } from './license-client';
export type { CheckReason, CheckResult, LicenseStatus } from './license-state';
export type { UpdateNotice } from './update-notice';
export type { HeartbeatHandle, HeartbeatLoopOptions, HeartbeatOutcome, HeartbeatResult } from './heartbeat-loop';
export type { JwsAlgorithm, PublicKeyInput } from './contract/key-set';
export { LicenseClientError } from './errors';
export { marketplaceHeartbeat } from './marketplace-heartbeat';
export type { MarketplaceHeartbeatOptions, MarketplaceHeartbeatResult, MarketplaceReason, MarketplaceStatus } from './marketplace-heartbeat';
export { collect, collectSync, deviceFingerprint } from './fingerprint/addon';
export type { CollectOptions, CollectedFingerprint } from './contract/fingerprint/types';
export { hashFingerprint, displayId } from './contract/fingerprint/hashing';
export type { FingerprintHashes } from './contract/fingerprint/components';
