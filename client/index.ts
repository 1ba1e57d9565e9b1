/**
 * licensor/client — what an on-prem product embeds. For now: this machine's fingerprint and its
 * per-product hashes; activation, offline checks and heartbeats build on these.
 */
export { collect, collectSync, deviceFingerprint } from './fingerprint/addon';
export type { CollectOptions, CollectedFingerprint } from './fingerprint/types';
export { hashFingerprint, displayId } from './fingerprint/hashing';
export type { FingerprintHashes } from './fingerprint/components';
