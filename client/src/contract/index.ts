/**
 * The wire contract: what the license server and the client must agree on, in one place both
 * import (`@licensor/client/contract`). The fingerprint catalogue, its hashing and matching; lease
 * claims and code statuses; the JWS primitive, trusted keys and key endorsements; signed answers;
 * AK/SK request signing; version ordering; the activation-request and license-file formats. The
 * server imports this and never the client's HTTP or store code.
 */
export * from './answer-signature';
export * from './apig-signing';
export * from './atomic-file';
export * from './fingerprint/components';
export * from './fingerprint/device-fingerprint';
export * from './fingerprint/hashing';
export * from './fingerprint/matching';
export * from './fingerprint/types';
export * from './is-object';
export * from './jws';
export * from './key-endorsement';
export * from './key-set';
export * from './lease-claims';
export * from './license-files';
export * from './version';
