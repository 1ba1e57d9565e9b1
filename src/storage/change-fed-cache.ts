import { deepFreeze, type ViewChange } from './heartbeat/heartbeat-view-cache';

/** More entries than this is not a vendor's catalogue but a leak: start afresh. */
const MOST_ENTRIES = 10_000;

/**
 * Rows that change a few times in their life but are read on every activation or audited write
 * (products by id, the enabled webhook endpoints), in memory. Kept fresh like the heartbeat
 * views: the database raises a change for every write to their table (migrations 005 and 017),
 * the change feed applies it here, and a value read before a change but stored after it is
 * dropped (`stamp`). Read only through readThrough, while the feed vouches for it.
 *
 * `entity`: the kind of change that concerns it. `keyedByRow`: entries are keyed by the changed
 * row's id (a change drops those ids); otherwise any change of the kind drops everything.
 */
export class ChangeFedCache<V> {
  private readonly entries = new Map<string, V>();
  private generation = 0;

  constructor(
    private readonly entity: ViewChange['entity'],
    private readonly keyedByRow: boolean,
  ) {}

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  /** Taken before a read; fill() keeps the read only if nothing changed since. */
  stamp(): number {
    return this.generation;
  }

  fill(key: string, value: V, stamp: number): V {
    if (stamp !== this.generation) return value;
    if (this.entries.size >= MOST_ENTRIES) this.entries.clear();
    // Shared by every reader, as a heartbeat view is: frozen through and through.
    const frozen = deepFreeze(value);
    this.entries.set(key, frozen);
    return frozen;
  }

  apply(change: ViewChange): void {
    if (change.entity !== this.entity) return;
    this.generation++;
    if (!this.keyedByRow || change.ids === '*') return this.entries.clear();
    for (const id of change.ids) this.entries.delete(id);
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
  }
}

/** A cache and whether the change feed currently vouches for it. */
export interface FedBy<V> {
  cache: ChangeFedCache<V>;
  readonly synced: boolean;
  /** Told by a store that wrote the cached table (forOneTransaction). */
  wrote?(): void;
}

/**
 * One transaction's view of a cache: once the transaction has written the cached table it reads
 * it from the database, for the feed tells of its own change only after the commit (an endpoint
 * hears of its own creation). Outside a transaction each write commits at once: the plain view.
 */
export function forOneTransaction<V>(fed: FedBy<V>): FedBy<V> {
  let written = false;
  return {
    cache: fed.cache,
    get synced() {
      return !written && fed.synced;
    },
    wrote: () => {
      written = true;
    },
  };
}

export function fedBy<V>(cache: ChangeFedCache<V>, feed: { readonly synced: boolean }): FedBy<V> {
  return {
    cache,
    get synced() {
      return feed.synced;
    },
  };
}

/**
 * `read()`'s value from memory when the feed vouches for it; read and kept otherwise. Without a
 * cache (the heartbeat cache is switched off, and with it the feed) every call reads.
 */
export async function readThrough<V>(fed: FedBy<V> | null, key: string, read: () => Promise<V | undefined>): Promise<V | undefined> {
  const synced = fed?.synced ?? false;
  if (synced) {
    const hit = fed!.cache.get(key);
    if (hit !== undefined) return hit;
  }
  const stamp = fed?.cache.stamp();
  const value = await read();
  return value !== undefined && synced && fed!.synced ? fed!.cache.fill(key, value, stamp!) : value;
}
