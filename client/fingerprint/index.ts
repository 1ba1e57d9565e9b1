// Public surface of fingerprint hashing and matching, shared by the client and the server.
// The addon wrapper (./addon) is exported separately by its own module.
export { COMPONENTS, COMPONENT_IDS, isComponentId } from './components';
export type { ComponentId, ComponentKind, ComponentSpec, FingerprintHashes } from './components';
export { displayId, hashFingerprint, normalizeComponentValue } from './hashing';
export type { CollectedComponent, CollectedFingerprint } from './hashing';
export { anchorEntries, matchFingerprint, reEnrol, sharedAnchors } from './matching';
export type { MatchResult, MatchStrategy } from './matching';
