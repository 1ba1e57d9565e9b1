import { auditEvent, codeSnapshot } from './audit';
import { displayCode, foldCodeInput, generateAuthorizationCode, marketplaceCodeForm, normalizeAuthorizationCode } from './authorization-code';
import type { DomainContext } from './context';
import { DAY_MS } from './clock';
import { Conflict, InvalidInput, NotFound } from './errors';
import { effectiveStatus, statusAfterExpiryChange, statusAfterFreeze, statusAfterRelease, statusAfterUnfreeze } from './lifecycle';
import type { CodeFilter, Stores } from './ports';
import { getProduct } from './products';
import type { Activation, Actor, CodeStatus, LicenseCode, Page } from './types';

interface NewCode {
  product: string;
  seats: number;
  /** "N machines, M at a time": at most this many of the `seats` machines in use at once (docs/policies.md). */
  concurrent?: number | null;
  features?: string[];
  metadata?: Record<string, unknown>;
  test?: boolean;
  /** When the license ends: a date, or a number of days from now. */
  validity: Validity;
}

export type Validity = { expiresAt: number } | { days: number };

/** What callers see of a code: the stored row plus the printable code and the status as of now. */
export interface CodeView extends LicenseCode {
  displayCode: string;
  productName: string;
  effectiveStatus: CodeStatus;
}

export interface CodeChange {
  code: CodeView;
  /** False when the code already was in the requested state (idempotent retry). */
  changed: boolean;
}

const MAX_ISSUE_ATTEMPTS = 3;

/**
 * `alongside` runs inside the issuing transaction, after the code and its audit event are written
 * (the marketplace records its instance there, so a code and its order line commit together).
 */
export async function issueCode(
  ctx: DomainContext,
  input: NewCode,
  actor: Actor,
  alongside?: (tx: Stores, code: LicenseCode) => Promise<void>,
): Promise<CodeView> {
  const product = await getProduct(ctx, input.product);
  const now = ctx.clock.now();
  const expiresAt = 'days' in input.validity ? now + input.validity.days * DAY_MS : input.validity.expiresAt;
  if (expiresAt <= now) throw new InvalidInput('expiry_in_past', 'the expiry date must be in the future');
  if (input.concurrent != null && input.concurrent > input.seats) {
    throw new InvalidInput('concurrent_exceeds_seats', 'concurrent (machines in use at once) may not exceed seats (machines registered)');
  }
  for (let attempt = 1; ; attempt++) {
    const code: LicenseCode = {
      id: ctx.ids.id(),
      productId: product.id,
      code: generateAuthorizationCode(),
      status: 'issued',
      seats: input.seats,
      maxConcurrent: input.concurrent ?? null,
      features: input.features ?? [],
      expiresAt,
      firstActivatedAt: null,
      metadata: input.metadata ?? {},
      test: input.test ?? false,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await ctx.repo.transaction(async (tx) => {
        await tx.codes.insert(code);
        await tx.audit.insert([auditEvent(ctx, now, actor, 'code.issued', { type: 'code', id: code.id }, code.id, null, codeSnapshot(code))]);
        if (alongside) await alongside(tx, code);
      });
      return view(code, product.name, now);
    } catch (err) {
      // 125 random bits make a collision practically impossible; retrying keeps it impossible in effect.
      if (attempt >= MAX_ISSUE_ATTEMPTS || !(err instanceof Conflict && err.code === 'duplicate')) throw err;
    }
  }
}

/** Finds a code by its id or by the code itself (any case, with or without dashes). */
export async function findCode(stores: Stores, reference: string): Promise<LicenseCode | undefined> {
  const byId = /^[0-9a-f-]{36}$/i.test(reference) ? await stores.codes.findById(reference.toLowerCase()) : undefined;
  return byId ?? findCodeByCode(stores, reference);
}

/**
 * Finds a code by the code itself only, never by its id: for what software and customers send,
 * since every lease token shows the id (`sub`). licensor's codes match in any case, with or
 * without dashes; a code the marketplace made matches exactly as it wrote it (authorization-code.ts).
 */
export async function findCodeByCode(stores: Stores, reference: string): Promise<LicenseCode | undefined> {
  let normalized: string | null;
  try {
    normalized = normalizeAuthorizationCode(reference);
  } catch {
    normalized = null;
  }
  const found = normalized === null ? undefined : await stores.codes.findByCode(normalized);
  if (found) return found;
  const exact = marketplaceCodeForm(reference);
  return exact === null || exact === normalized ? undefined : stores.codes.findByCode(exact);
}

/** The code a lookup found, or the one refusal for a code that is not there. */
export async function requireCode(lookup: Promise<LicenseCode | undefined>): Promise<LicenseCode> {
  const code = await lookup;
  if (!code) throw new NotFound('code_not_found', 'no such authorization code');
  return code;
}

export async function getCode(ctx: DomainContext, reference: string): Promise<CodeView> {
  return viewWithProduct(ctx, await requireCode(findCode(ctx.repo, reference)));
}

export async function listCodes(
  ctx: DomainContext,
  filter: Omit<CodeFilter, 'codePrefix' | 'exactPrefix' | 'id'> & { product?: string; search?: string },
  limit: number,
  cursor: string | null,
): Promise<Page<CodeView>> {
  const { product: productName, search, ...rest } = filter;
  const storeFilter: CodeFilter = { ...rest };
  if (productName !== undefined) storeFilter.productId = (await getProduct(ctx, productName)).id;
  if (search !== undefined) {
    // An id, or the typed form of a code (or its start): separators dropped, look-alikes read as lookups do.
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(search.trim())) storeFilter.id = search.trim().toLowerCase();
    else {
      storeFilter.codePrefix = foldCodeInput(search);
      storeFilter.exactPrefix = marketplaceCodeForm(search) ?? undefined;
    }
  }
  const page = await ctx.repo.codes.list(storeFilter, limit, cursor);
  const names = new Map((await ctx.repo.products.list()).map((p) => [p.id, p.name]));
  const now = ctx.clock.now();
  return { items: page.items.map((c) => view(c, names.get(c.productId) ?? '', now)), nextCursor: page.nextCursor };
}

export async function listCodeActivations(ctx: DomainContext, reference: string): Promise<Activation[]> {
  const code = await getCode(ctx, reference);
  return ctx.repo.activations.listByCode(code.id);
}

/** One activation, whatever its code (the admin API's and the dashboard's machine page). */
export async function getActivation(ctx: DomainContext, id: string): Promise<Activation> {
  const activation = await ctx.repo.activations.findById(id);
  if (!activation) throw new NotFound('activation_not_found', 'no such activation');
  return activation;
}

export type Renewal = { expiresAt: number } | { extendByDays: number };

/** Marks a change as applied once per key (a marketplace order id): a repeat changes nothing. */
interface OnceKey {
  scope: string;
  key: string;
}

/**
 * renew (later date) or shorten (earlier date): one transaction, one audit event.
 * Extending by days counts from the later of now and the current expiry, so renewing early loses nothing.
 */
export async function renewCode(ctx: DomainContext, reference: string, renewal: Renewal, actor: Actor, once?: OnceKey): Promise<CodeChange> {
  return changeCode(ctx, reference, actor, once, (code, now) => {
    const expiresAt = 'expiresAt' in renewal ? renewal.expiresAt : Math.max(now, code.expiresAt) + renewal.extendByDays * DAY_MS;
    if (code.expiresAt === expiresAt && code.status !== 'released') return null;
    const status = statusAfterExpiryChange(code, expiresAt, now);
    return { action: expiresAt >= code.expiresAt ? 'code.renewed' : 'code.shortened', patch: { status, expiresAt } };
  });
}

export async function freezeCode(ctx: DomainContext, reference: string, actor: Actor): Promise<CodeChange> {
  return changeCode(ctx, reference, actor, undefined, (code) => {
    const status = statusAfterFreeze(code);
    return status === null ? null : { action: 'code.frozen', patch: { status } };
  });
}

export async function unfreezeCode(ctx: DomainContext, reference: string, actor: Actor): Promise<CodeChange> {
  return changeCode(ctx, reference, actor, undefined, (code, now) => {
    const status = statusAfterUnfreeze(code, now);
    return status === null ? null : { action: 'code.unfrozen', patch: { status } };
  });
}

/** Release is terminal: every seat is freed in the same transaction. */
export async function releaseCode(ctx: DomainContext, reference: string, actor: Actor): Promise<CodeChange> {
  return changeCode(ctx, reference, actor, undefined, (code) => {
    const status = statusAfterRelease(code);
    return status === null ? null : { action: 'code.released', patch: { status }, releaseSeats: true };
  });
}

interface PlannedChange {
  action: string;
  patch: { status: CodeStatus; expiresAt?: number };
  releaseSeats?: boolean;
}

async function changeCode(
  ctx: DomainContext,
  reference: string,
  actor: Actor,
  once: OnceKey | undefined,
  plan: (code: LicenseCode, now: number) => PlannedChange | null,
): Promise<CodeChange> {
  const found = await requireCode(findCode(ctx.repo, reference));
  const result = await ctx.repo.transaction(async (tx) => {
    const code = await requireCode(tx.codes.lockForUpdate(found.id));
    const now = ctx.clock.now();
    // Claimed under the code's lock and in the same transaction as the change: applied exactly once.
    if (once && !(await tx.idempotency.claim(once.scope, once.key, '', now))) return { code, changed: false };
    const change = plan(code, now);
    if (!change) return { code, changed: false };
    const after: LicenseCode = { ...code, ...change.patch, updatedAt: now };
    await tx.codes.update(code.id, change.patch, now);
    const events = [auditEvent(ctx, now, actor, change.action, { type: 'code', id: code.id }, code.id, codeSnapshot(code), codeSnapshot(after))];
    if (change.releaseSeats) {
      const ended = await tx.activations.endAllForCode(code.id, 'deactivated', now);
      for (const id of ended) {
        events.push(auditEvent(ctx, now, actor, 'activation.released', { type: 'activation', id }, code.id, null, null));
      }
    }
    await tx.audit.insert(events);
    return { code: after, changed: true };
  });
  return { code: await viewWithProduct(ctx, result.code), changed: result.changed };
}

async function viewWithProduct(ctx: DomainContext, code: LicenseCode): Promise<CodeView> {
  const product = await ctx.repo.products.findById(code.productId);
  return view(code, product?.name ?? '', ctx.clock.now());
}

function view(code: LicenseCode, productName: string, now: number): CodeView {
  return { ...code, displayCode: displayCode(code.code), productName, effectiveStatus: effectiveStatus(code, now) };
}
