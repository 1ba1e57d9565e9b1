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
  /** Insertion order is recency: a hit moves its entry to the end, eviction takes the first. */
  private readonly views = new Map<string, HeartbeatView>();
  private readonly byCode = new Map<string, Set<string>>();
  private generation = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.views.size;
  }

  get(activationId: string): HeartbeatView | undefined {
    const view = this.views.get(activationId);
    if (view) {
      this.views.delete(activationId);
      this.views.set(activationId, view);
    }
    return view;
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
    this.views.set(id, frozen);
    let siblings = this.byCode.get(frozen.code.id);
    if (!siblings) this.byCode.set(frozen.code.id, (siblings = new Set()));
    siblings.add(id);
    if (this.views.size > this.capacity) this.remove(this.views.keys().next().value!);
    return frozen;
  }

  /** A beat this process recorded: liveness is not a database change (migration 005), so it is kept here. */
  updateLastHeartbeat(activationId: string, at: number): void {
    const view = this.views.get(activationId);
    if (!view || view.activation.lastHeartbeatAt >= at) return;
    this.views.set(activationId, Object.freeze({ ...view, activation: Object.freeze({ ...view.activation, lastHeartbeatAt: at }) }));
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

  private remove(activationId: string): void {
    const view = this.views.get(activationId);
    if (!view) return;
    this.views.delete(activationId);
    const siblings = this.byCode.get(view.code.id);
    siblings?.delete(activationId);
    if (siblings?.size === 0) this.byCode.delete(view.code.id);
  }
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
