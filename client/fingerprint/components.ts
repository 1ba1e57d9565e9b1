/**
 * The fingerprint component catalogue (fingerprint-research §5.1), as data so that hashing and
 * matching on the client and on the server agree on one list.
 */

/** `single`: one value per machine. `set`: several members, matched on any overlap (§5.3). */
export type ComponentKind = 'single' | 'set';

export interface ComponentSpec {
  /** Contribution to the match score. */
  readonly weight: number;
  /** Anchors identify one machine instance; at least one must agree for a match (§5.3). */
  readonly anchor: boolean;
  readonly kind: ComponentKind;
}

export const COMPONENTS = Object.freeze({
  'os.machineId': Object.freeze({ weight: 3, anchor: true, kind: 'single' }),
  'hw.systemUuid': Object.freeze({ weight: 4, anchor: true, kind: 'single' }),
  'hw.boardSerial': Object.freeze({ weight: 2, anchor: true, kind: 'single' }),
  'disk.bootSerial': Object.freeze({ weight: 3, anchor: true, kind: 'single' }),
  // A NIC or dock changes often, and VMs assign MACs: never enough alone to name a machine.
  'net.macs': Object.freeze({ weight: 2, anchor: false, kind: 'set' }),
  // Same for every machine of one CPU SKU or model line: consistency checks only.
  'cpu.signature': Object.freeze({ weight: 1, anchor: false, kind: 'single' }),
  'hw.model': Object.freeze({ weight: 1, anchor: false, kind: 'single' }),
} as const satisfies Record<string, ComponentSpec>);

export type ComponentId = keyof typeof COMPONENTS;

/** The catalogue ids in a fixed order, so every consumer walks them the same way. */
export const COMPONENT_IDS: readonly ComponentId[] = Object.freeze(
  Object.keys(COMPONENTS) as ComponentId[],
);

/**
 * Component id → lower-case hex hash (32 chars), or the sorted member hashes of a set component.
 * Ids outside the catalogue may appear (newer clients) and are ignored by matching.
 */
export type FingerprintHashes = Record<string, string | string[]>;

/** Narrows an untrusted id; `hasOwn` keeps names such as `constructor` out of the catalogue. */
export function isComponentId(id: string): id is ComponentId {
  return Object.hasOwn(COMPONENTS, id);
}
