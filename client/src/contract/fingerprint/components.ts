/**
 * The fingerprint component catalogue (docs/fingerprint-design.md#component-catalogue), as data
 * so that hashing and matching on the client and on the server agree on one list.
 */

/** `single`: one value per machine. `set`: several members, matched on any overlap. */
export type ComponentKind = 'single' | 'set';

export interface ComponentSpec {
  /** Contribution to the match score. */
  readonly weight: number;
  /** Anchors identify one machine instance; at least one must agree for a match. */
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
  // A container's identity: a random secret the client keeps in its store, keyed with what tells
  // this container from another of its image. Its only component (docs/policies.md "Containers").
  'instance.id': Object.freeze({ weight: 5, anchor: true, kind: 'single' }),
} as const satisfies Record<string, ComponentSpec>);

export type ComponentId = keyof typeof COMPONENTS;

/** The components the native addon reads from the machine: every one but the container instance. */
export type HardwareComponentId = Exclude<ComponentId, 'instance.id'>;

/** The catalogue ids in a fixed order, so every consumer walks them the same way. */
export const COMPONENT_IDS: readonly ComponentId[] = Object.freeze(Object.keys(COMPONENTS) as ComponentId[]);

export const HARDWARE_COMPONENT_IDS: readonly HardwareComponentId[] = Object.freeze(
  COMPONENT_IDS.filter((id): id is HardwareComponentId => id !== 'instance.id'),
);

/** The component a container's fingerprint consists of. */
export const INSTANCE_COMPONENT = 'instance.id' satisfies ComponentId;

/**
 * Component id → lower-case hex hash (32 chars), or the sorted member hashes of a set component.
 * Ids outside the catalogue may appear (newer clients) and are ignored by matching.
 */
export type FingerprintHashes = Record<string, string | string[]>;

/** Narrows an untrusted id; `hasOwn` keeps names such as `constructor` out of the catalogue. */
export function isComponentId(id: string): id is ComponentId {
  return Object.hasOwn(COMPONENTS, id);
}
