import type { HeartbeatView } from '../../domain/ports';

/** What changed, as the database reported it: some ids of one kind of row, or all of that kind ('*'). */
export interface ViewChange {
  /** Activation, code, product; webhook endpoint (migration 017), which no heartbeat view holds. */
  entity: 'a' | 'c' | 'p' | 'w';
  ids: string[] | '*';
}

/** Parses `a:<id>,<id>` / `c:*` (the trigger's wording, migration 005); undefined for anything else. */
export function parseViewChange(text: string): ViewChange | undefined {
  const entity = text[0];
  if ((entity !== 'a' && entity !== 'c' && entity !== 'p' && entity !== 'w') || text[1] !== ':') return undefined;
  const rest = text.slice(2);
  return { entity, ids: rest === '*' ? '*' : rest.split(',').filter(Boolean) };
}

/**
 * The heartbeat views of the most recently beating activations, in memory, so that a beat needs no
 * database read (docs/performance.md). It is only as good as its invalidation: the database raises
 * a change for every write that matters (migration 005), the change feed applies it here, and a
 * view read before a change but stored after it is dropped (the `stamp` check in fill).
 *
 * Views handed out are frozen: the domain must not change what other beats will read.
 */
export class HeartbeatViewCache {
  /**
   * Insertion order is age; a get only marks its entry used, and eviction gives a used entry a
   * second chance at the end (the "clock" approximation of least recently used). A hit neither
   * reorders the map nor replaces its entry: see Entry.
   */
  private readonly views = new Map<string, Entry>();
  private readonly byCode = new Map<string, Set<string>>();
  private generation = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.views.size;
  }

  get(activationId: string): HeartbeatView | undefined {
    const entry = this.views.get(activationId);
    if (!entry) return undefined;
    entry.used = true;
    const { view, lastBeat } = entry;
    if (lastBeat <= view.activation.lastHeartbeatAt) return view;
    // A copy that lives as long as the beat that asked: garbage the next young collection never copies.
    return Object.freeze({ ...view, activation: Object.freeze({ ...view.activation, lastHeartbeatAt: lastBeat }) });
  }

  /** Taken before a read; fill() stores the read only if nothing was invalidated since. */
  stamp(): number {
    return this.generation;
  }

  /** Stores a fresh read (its objects are frozen in place, not copied) and returns it. */
  fill(view: HeartbeatView, stamp: number): HeartbeatView {
    if (this.capacity === 0 || stamp !== this.generation) return view;
    const frozen = freezeView(view);
    const id = frozen.activation.id;
    this.remove(id);
    this.views.set(id, { view: frozen, lastBeat: frozen.activation.lastHeartbeatAt, used: false });
    let siblings = this.byCode.get(frozen.code.id);
    if (!siblings) this.byCode.set(frozen.code.id, (siblings = new Set()));
    siblings.add(id);
    if (this.views.size > this.capacity) this.evictOne(id);
    return frozen;
  }

  /** A beat this process recorded: liveness is not a database change (migration 005), so it is kept here. */
  updateLastHeartbeat(activationId: string, at: number): void {
    const entry = this.views.get(activationId);
    if (entry && entry.lastBeat < at) entry.lastBeat = at;
  }

  apply(change: ViewChange): void {
    if (change.entity === 'w') return;
    this.generation++;
    // A product change (a new version, a policy) is rare and touches many views: start afresh.
    if (change.ids === '*' || change.entity === 'p') return this.clear();
    for (const id of change.ids) {
      if (change.entity === 'a') this.remove(id);
      else for (const activationId of [...(this.byCode.get(id) ?? [])]) this.remove(activationId);
    }
  }

  clear(): void {
    this.generation++;
    this.views.clear();
    this.byCode.clear();
  }

  /**
   * The oldest entry no get has used since it was last passed over; those passed over go to the
   * end, unmarked. Never `filled`, the entry just stored: when every other entry was used, it
   * would otherwise be the first one found unmarked.
   */
  private evictOne(filled: string): void {
    for (const [id, entry] of this.views) {
      if (id === filled) continue;
      if (!entry.used) return this.remove(id);
      entry.used = false;
      this.views.delete(id);
      this.views.set(id, entry);
    }
  }

  private remove(activationId: string): void {
    const entry = this.views.get(activationId);
    if (!entry) return;
    this.views.delete(activationId);
    const siblings = this.byCode.get(entry.view.code.id);
    siblings?.delete(activationId);
    if (siblings?.size === 0) this.byCode.delete(entry.view.code.id);
  }
}

/**
 * One cached activation. Only the two fields change after it is stored, in place: a beat once
 * replaced the whole frozen view to raise its liveness, and those views, each living until its
 * activation's next beat, were most of what every young-generation collection had to copy
 * (docs/performance.md#heartbeat, where a heartbeat's p99 goes).
 */
interface Entry {
  /** The view as read from the database, frozen and shared. */
  readonly view: HeartbeatView;
  /** The latest beat this process recorded for it, or the read's own; handed out in the view's place. */
  lastBeat: number;
  /** A get since eviction last passed it over. */
  used: boolean;
}

function freezeView(view: HeartbeatView): HeartbeatView {
  return Object.freeze({ activation: deepFreeze(view.activation), code: deepFreeze(view.code), product: deepFreeze(view.product) });
}

/** Freezes a value and everything it holds: a cached value is shared by every reader (also change-fed-cache.ts). */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
