/**
 * Weighted k-of-n fingerprint matching (docs/fingerprint-design.md#matching). Pure and shared:
 * the server runs it on every heartbeat and the client in its offline `check()`.
 */
import { COMPONENTS, COMPONENT_IDS, isComponentId, type ComponentId, type ComponentKind, type FingerprintHashes } from './components';

/** The strategies a product may set; the client refuses a `matchStrategy` option outside this list. */
export const MATCH_STRATEGIES = ['exact', 'fuzzy', 'loose'] as const;

export type MatchStrategy = (typeof MATCH_STRATEGIES)[number];

export interface MatchResult {
  accepted: boolean;
  /** Σweight(matched) / Σweight(compared); 0 when nothing was compared. */
  score: number;
  comparedWeight: number;
  /** Compared components that agree. */
  matched: string[];
  /** Compared components that disagree: `accepted` with any of these means re-enrol. */
  changed: string[];
  anchorMatched: boolean;
  reason: 'match' | 'no_common_components' | 'too_few_components' | 'no_anchor' | 'below_threshold' | 'not_exact';
}

// So that two weak components alone can never pass (docs/fingerprint-design.md#matching).
const MIN_COMPARED_WEIGHT = 5;

// Thresholds in percent, so the comparison stays in integers (0.6 is not exact in binary).
const THRESHOLD_PERCENT: Readonly<Record<MatchStrategy, number>> = { exact: 100, fuzzy: 60, loose: 40 };

interface CatalogueEntry {
  readonly id: ComponentId;
  readonly weight: number;
  readonly anchor: boolean;
  readonly kind: ComponentKind;
}

// Built once: the hot path walks this fixed list, never the (untrusted) keys of its inputs.
const CATALOGUE: readonly CatalogueEntry[] = COMPONENT_IDS.map((id) => ({ id, ...COMPONENTS[id] }));
const ANCHORS: readonly CatalogueEntry[] = CATALOGUE.filter((entry) => entry.anchor);

// Above this many member pairs a Set beats the nested loop; real machines have a handful of NICs.
const NESTED_LOOP_LIMIT = 64;

function intersects(a: readonly string[], b: readonly string[]): boolean {
  if (a.length * b.length > NESTED_LOOP_LIMIT) {
    const members = new Set(a);
    return b.some((member) => members.has(member));
  }
  for (const x of a) {
    for (const y of b) {
      if (x === y) return true;
    }
  }
  return false;
}

function isPresent(value: unknown): value is string | string[] {
  return (typeof value === 'string' && value !== '') || (Array.isArray(value) && value.length > 0);
}

/**
 * `true` match, `false` mismatch, `undefined` when absent on either side, which counts as neither.
 * Equal hashes short-cut before any set work, so an unchanged machine costs one string
 * comparison per component.
 */
function compareComponent(kind: ComponentKind, stored: unknown, current: unknown): boolean | undefined {
  if (!isPresent(stored) || !isPresent(current)) return undefined;
  if (typeof stored === 'string' && typeof current === 'string') return stored === current;
  // A single component must carry one hash; anything else is malformed and not compared.
  if (kind === 'single') return undefined;
  if (typeof stored === 'string') return (current as string[]).includes(stored);
  if (typeof current === 'string') return stored.includes(current);
  return intersects(stored, current);
}

function decide(strategy: MatchStrategy, storedWeight: number, comparedWeight: number, matchedWeight: number, anchorMatched: boolean): MatchResult['reason'] {
  if (comparedWeight === 0) return 'no_common_components';
  // A machine that exposes little hardware (a container: OS id and CPU only) was enrolled with
  // less than the usual minimum; then every enrolled component must be there and agree.
  const sparse = storedWeight < MIN_COMPARED_WEIGHT;
  if (comparedWeight < (sparse ? storedWeight : MIN_COMPARED_WEIGHT)) return 'too_few_components';
  if (!anchorMatched) return 'no_anchor';
  if (sparse) return matchedWeight === storedWeight ? 'match' : 'not_exact';
  if (matchedWeight * 100 >= comparedWeight * THRESHOLD_PERCENT[strategy]) return 'match';
  return strategy === 'exact' ? 'not_exact' : 'below_threshold';
}

/**
 * Decides whether `current` is the machine enrolled as `stored`:
 * components present on both sides are compared, sets match on any overlap; accepted when the
 * compared weight is at least 5, an anchor agrees and the score reaches the strategy's threshold
 * (exact: every compared component agrees). An enrolment lighter than 5 (a container) must match
 * in full instead. Ids outside the catalogue are ignored.
 * Hot path: no I/O, no sorting, no work beyond one pass over the catalogue.
 */
export function matchFingerprint(stored: FingerprintHashes, current: FingerprintHashes, strategy: MatchStrategy): MatchResult {
  if (!Object.hasOwn(THRESHOLD_PERCENT, strategy)) {
    throw new TypeError(`unknown match strategy: ${JSON.stringify(strategy)}`);
  }
  const matched: string[] = [];
  const changed: string[] = [];
  let storedWeight = 0;
  let comparedWeight = 0;
  let matchedWeight = 0;
  let anchorMatched = false;
  for (const entry of CATALOGUE) {
    if (isPresent(stored[entry.id])) storedWeight += entry.weight;
    const same = compareComponent(entry.kind, stored[entry.id], current[entry.id]);
    if (same === undefined) continue;
    comparedWeight += entry.weight;
    if (same) {
      matchedWeight += entry.weight;
      matched.push(entry.id);
      anchorMatched ||= entry.anchor;
    } else {
      changed.push(entry.id);
    }
  }
  const reason = decide(strategy, storedWeight, comparedWeight, matchedWeight, anchorMatched);
  return {
    accepted: reason === 'match',
    score: comparedWeight === 0 ? 0 : matchedWeight / comparedWeight,
    comparedWeight,
    matched,
    changed,
    anchorMatched,
    reason,
  };
}

/**
 * Anchor components on which `a` and `b` agree. The same anchor on two live activations that do
 * not otherwise match points to an imaged or cloned machine (docs/fingerprint-design.md#matching).
 */
export function sharedAnchors(a: FingerprintHashes, b: FingerprintHashes): string[] {
  const shared: string[] = [];
  for (const entry of ANCHORS) {
    if (compareComponent(entry.kind, a[entry.id], b[entry.id]) === true) shared.push(entry.id);
  }
  return shared;
}

/** The anchor hashes of a fingerprint, one entry per hash, for indexing clone lookups. */
export function anchorEntries(fp: FingerprintHashes): Array<{ component: string; hash: string }> {
  const entries: Array<{ component: string; hash: string }> = [];
  for (const entry of ANCHORS) {
    const value = fp[entry.id];
    if (!isPresent(value)) continue;
    for (const hash of typeof value === 'string' ? [value] : value) {
      if (typeof hash === 'string' && hash !== '') entries.push({ component: entry.id, hash });
    }
  }
  return entries;
}

/** How a fingerprint differs from an enrolment, component by component (fingerprintChanges). */
export interface FingerprintChanges {
  /** Anchors present on both sides that disagree: another machine, or a replaced part that names this one. */
  anchorConflicts: string[];
  /** Anchors present now that the enrolment lacks (unreadable at enrolment, readable now). */
  anchorsAdded: string[];
  /** Other components present now that the enrolment lacks or disagrees with. */
  others: string[];
}

/**
 * What `current` shows that the enrolment `stored` does not. A set disagrees only when no member
 * is shared (as matching compares it); a component unreadable now is not a change. The server's
 * re-enrolment rules (docs/fingerprint.md "Drift, re-enrolment and clones") decide what may change.
 */
export function fingerprintChanges(stored: FingerprintHashes, current: FingerprintHashes): FingerprintChanges {
  const changes: FingerprintChanges = { anchorConflicts: [], anchorsAdded: [], others: [] };
  for (const entry of CATALOGUE) {
    if (!isPresent(current[entry.id])) continue;
    if (!isPresent(stored[entry.id])) {
      (entry.anchor ? changes.anchorsAdded : changes.others).push(entry.id);
    } else if (compareComponent(entry.kind, stored[entry.id], current[entry.id]) === false) {
      (entry.anchor ? changes.anchorConflicts : changes.others).push(entry.id);
    }
  }
  return changes;
}

/** Whether one component's two values agree as matching compares them (sets: a shared member). */
export function componentAgrees(id: string, a: unknown, b: unknown): boolean {
  return isComponentId(id) && compareComponent(COMPONENTS[id].kind, a, b) === true;
}

/**
 * Whether two fingerprints are the same record: the same components with the same hashes, set
 * members in the same order. A client holds a lease token's fingerprint to exactly what it sent
 * (docs/client.md "Answers from the server are verified").
 */
export function sameFingerprint(a: FingerprintHashes, b: FingerprintHashes): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(b, key)) return false;
    const x = a[key];
    const y = b[key];
    if (typeof x === 'string' || typeof y === 'string') {
      if (x !== y) return false;
    } else if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length || x.some((member, i) => member !== y[i])) {
      return false;
    }
  }
  return true;
}
