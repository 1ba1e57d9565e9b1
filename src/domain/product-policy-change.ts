import { auditEvent } from './audit';
import type { DomainContext } from './context';
import { Conflict, NotFound } from './errors';
import { checkPolicy } from './products';
import { POLICY_SETTINGS, type Actor, type AuditEvent, type PolicySetting, type Product } from './types';

/** The settings of a product an operator may change after creation (docs/policies.md "Changing a policy"). */
type PolicyChange = Partial<Pick<Product, PolicySetting>>;

interface PolicyChangeResult {
  product: Product;
  /** False when every given setting already had that value (nothing written, nothing audited). */
  changed: boolean;
}

/**
 * Changes a product's policy in one transaction with one audit event (before/after of the settings
 * that changed). What each change does to codes and machines already out there, and why the
 * refusals below exist, is docs/policies.md "Changing a policy". The heartbeat view caches of every
 * process hear of it through the products trigger (migration 005), like a published version.
 */
export async function changeProductPolicy(ctx: DomainContext, name: string, change: PolicyChange, actor: Actor): Promise<PolicyChangeResult> {
  return ctx.repo.transaction(async (tx) => {
    const seen = await tx.products.findByName(name);
    if (!seen) throw new NotFound('product_not_found', `no product named "${name}"`);
    // Nothing to change is answered without a write; a change is worked out again under the lock.
    if (changesOf(seen, change).length === 0) return { product: seen, changed: false };
    const product = await tx.products.lockByName(name);
    if (!product) throw new NotFound('product_not_found', `no product named "${name}"`);
    const after: Product = { ...product };
    for (const setting of POLICY_SETTINGS) if (change[setting] !== undefined) (after as Record<PolicySetting, unknown>)[setting] = change[setting];
    const changed = changesOf(product, change);
    if (changed.length === 0) return { product, changed: false };
    // The rules of creation hold for the result, whichever setting moved.
    checkPolicy(after);
    const now = ctx.clock.now();
    // Machines beat at the interval of the last token they got; a floating seat lapses when its last
    // beat is older than the lease. A lease not longer than that interval would lapse live machines
    // before their next beat could tell them the new interval.
    if (
      after.seatMode === 'floating' &&
      after.leaseSeconds <= product.heartbeatIntervalSeconds &&
      (after.leaseSeconds !== product.leaseSeconds || product.seatMode !== 'floating')
    ) {
      throw new Conflict(
        'lease_shorter_than_beats',
        `machines beat every ${product.heartbeatIntervalSeconds}s until their next beat tells them otherwise: a floating lease of ${after.leaseSeconds}s would lapse them first. Shorten the heartbeat interval first, wait one old interval, then the lease`,
        { heartbeatIntervalSeconds: product.heartbeatIntervalSeconds, leaseSeconds: after.leaseSeconds },
      );
    }
    const events: AuditEvent[] = [];
    if (product.seatMode === 'floating' && after.seatMode === 'node_locked') {
      // A container's machine id belongs to its image: as a node-locked seat it would never be freed.
      const containers = await tx.activations.countActiveContainers(product.id);
      if (containers > 0) {
        throw new Conflict(
          'containers_hold_seats',
          `${containers} container instance(s) hold floating seats of "${name}": they would become node-locked seats that are never freed. Deactivate them (or let them lapse) first`,
          {
            containers,
          },
        );
      }
      // A seat that already lapsed is free under floating rules; it must not become a permanent one.
      for (const { id, codeId } of await tx.activations.cullLapsedOfProduct(product.id, now)) {
        events.push(auditEvent(ctx, now, actor, 'activation.culled', { type: 'activation', id }, codeId, null, { reason: 'seat_mode_changed' }));
      }
    }
    await tx.products.updatePolicy(product.id, after);
    const pick = (p: Product) => Object.fromEntries(changed.map((s) => [s, p[s]]));
    events.unshift(auditEvent(ctx, now, actor, 'product.policy_changed', { type: 'product', id: product.id }, null, pick(product), pick(after)));
    await tx.audit.insert(events);
    return { product: after, changed: true };
  });
}

/** The settings a change would give another value. */
function changesOf(product: Product, change: PolicyChange): PolicySetting[] {
  return POLICY_SETTINGS.filter((s) => change[s] !== undefined && change[s] !== product[s]);
}
