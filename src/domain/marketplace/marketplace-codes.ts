import { auditEvent, codeSnapshot } from '../audit';
import { marketplaceCodeForm } from '../authorization-code';
import { findCodeByCode } from '../codes';
import type { DomainContext } from '../context';
import { Conflict, InvalidInput, LicensorError, NotFound } from '../errors';
import type { Stores } from '../ports';
import { getProduct } from '../products';
import type { Actor, LicenseCode, Product } from '../types';
import { parseMarketplaceTime } from './dates';
import { findMarketplaceCode } from './instances';
import type { MarketplaceSettings } from './settings';
import { DAY_MS } from '../clock';

/**
 * License 2.0 codes are made by the marketplace (`PL…`, Seller Center test codes included), not by
 * licensor (docs/marketplace.md "Codes the marketplace made"). licensor takes them in two ways: a
 * callback for a code it has never seen adopts it, and an operator imports a batch. Either way the
 * code is stored exactly as the marketplace wrote it, under the configured product, and answers
 * from then on like any other code.
 */

/**
 * The code a License 2.0 callback names. One licensor has never seen is adopted first: issued
 * under the configured product with the configured seats, valid until `expiresAt` (the expiry
 * the callback carries) or for the configured days. Racing callbacks for one new code adopt it once.
 */
export async function codeForCallback(
  ctx: DomainContext,
  license: string,
  terms: { expiresAt?: number; test: boolean; activity: string },
  settings: MarketplaceSettings,
  actor: Actor,
): Promise<LicenseCode> {
  const known = await findMarketplaceCode(ctx, license);
  if (known) return known;
  const stored = marketplaceCodeForm(license);
  if (stored === null)
    throw new NotFound('code_not_found', 'no such authorization code, and the text cannot be one the marketplace made (1–64 printable characters)');
  const product = await marketplaceProduct(ctx, settings);
  const now = ctx.clock.now();
  const code = newMarketplaceCode(
    ctx,
    stored,
    product,
    { seats: settings.seats, expiresAt: terms.expiresAt ?? now + settings.instanceDays * DAY_MS, test: terms.test },
    now,
  );
  try {
    await ctx.repo.transaction(async (tx) => {
      await tx.codes.insert(code);
      await tx.audit.insert([
        auditEvent(ctx, now, actor, 'code.adopted', { type: 'code', id: code.id }, code.id, null, { ...codeSnapshot(code), activity: terms.activity }),
      ]);
    });
    return code;
  } catch (err) {
    if (!(err instanceof Conflict && err.code === 'duplicate')) throw err;
  }
  // Another request adopted it first.
  const winner = await findMarketplaceCode(ctx, license);
  if (!winner) throw new Conflict('duplicate', 'the code could not be adopted');
  return winner;
}

interface ImportOptions {
  product: string;
  /** Seats of a row that gives none. */
  seats: number;
  test: boolean;
}

interface ImportedRow {
  line: number;
  code: string;
}

interface ImportReport {
  product: string;
  /** Codes new to licensor, now issued. */
  imported: ImportedRow[];
  /** Codes licensor knew already, left as they are; `differs` names what the file says otherwise. */
  existing: Array<ImportedRow & { differs: string[] }>;
}

/** A row of an import file that cannot be taken, by line number (1-based). */
export interface ImportProblem {
  line: number;
  message: string;
}

interface ImportRow {
  line: number;
  code: string;
  expiresAt: number;
  seats: number | null;
}

const MAX_IMPORT_ROWS = 100_000;
const MAX_PROBLEMS_SHOWN = 100;

/**
 * Imports codes the marketplace made, from a file of lines `code,expiry[,seats]`
 * (docs/marketplace.md#codes-the-marketplace-made): all of them or none. A malformed row refuses
 * the whole file with every problem's line number; a code licensor knows is reported and left as it
 * is, so importing the same file again changes nothing.
 */
export async function importCodes(ctx: DomainContext, text: string, options: ImportOptions, actor: Actor): Promise<ImportReport> {
  const rows = parseImportFile(text);
  const product = await getProduct(ctx, options.product);
  return ctx.repo.transaction(async (tx) => {
    const now = ctx.clock.now();
    const report: ImportReport = { product: product.name, imported: [], existing: [] };
    for (const row of rows) {
      const known = await findCodeByCode(tx, row.code);
      if (known) {
        report.existing.push({ line: row.line, code: row.code, differs: differences(known, row) });
        continue;
      }
      const code = newMarketplaceCode(ctx, row.code, product, { seats: row.seats ?? options.seats, expiresAt: row.expiresAt, test: options.test }, now);
      await insertImported(ctx, tx, code, actor, now);
      report.imported.push({ line: row.line, code: row.code });
    }
    return report;
  });
}

async function insertImported(ctx: DomainContext, tx: Stores, code: LicenseCode, actor: Actor, now: number): Promise<void> {
  await tx.codes.insert(code);
  await tx.audit.insert([auditEvent(ctx, now, actor, 'code.imported', { type: 'code', id: code.id }, code.id, null, codeSnapshot(code))]);
}

function differences(known: LicenseCode, row: ImportRow): string[] {
  const differs: string[] = [];
  if (known.expiresAt !== row.expiresAt) differs.push('expiry');
  if (row.seats !== null && known.seats !== row.seats) differs.push('seats');
  return differs;
}

/** Every row, or an InvalidInput naming every malformed one. */
function parseImportFile(text: string): ImportRow[] {
  const rows: ImportRow[] = [];
  const problems: ImportProblem[] = [];
  const seen = new Map<string, number>();
  const lines = text.split(/\r?\n/);
  let header = true;
  lines.forEach((raw, index) => {
    const line = index + 1;
    const content = raw.trim();
    if (content === '' || content.startsWith('#')) return;
    const fields = content.split(',').map((f) => f.trim());
    // An optional header row: `code,expires[,seats]`.
    if (header && fields[0]?.toLowerCase() === 'code') {
      header = false;
      return;
    }
    header = false;
    const problem = (message: string) => problems.push({ line, message });
    if (fields.length < 2 || fields.length > 3) return problem('expected code,expiry[,seats]');
    const [codeText, expiryText, seatsText] = fields as [string, string, string | undefined];
    const code = marketplaceCodeForm(codeText);
    if (code === null) return problem('the code must be 1–64 printable characters without spaces');
    const expiresAt = parseExpiry(expiryText);
    if (expiresAt === null) return problem(`"${expiryText}" is not an expiry: yyyyMMddHHmmss (UTC), YYYY-MM-DD or an ISO 8601 time`);
    let seats: number | null = null;
    if (seatsText !== undefined && seatsText !== '') {
      seats = Number(seatsText);
      if (!Number.isInteger(seats) || seats < 1 || seats > 100_000) return problem('seats must be a whole number from 1 to 100000');
    }
    const first = seen.get(code);
    if (first !== undefined) return problem(`the code of line ${first} again`);
    seen.set(code, line);
    rows.push({ line, code, expiresAt, seats });
  });
  if (rows.length + problems.length > MAX_IMPORT_ROWS) {
    throw new InvalidInput('import_too_large', `an import takes at most ${MAX_IMPORT_ROWS} codes; split the file`);
  }
  if (problems.length > 0) {
    throw new InvalidInput(
      'import_rejected',
      `${problems.length} row(s) cannot be imported, so nothing was: ${problems
        .slice(0, 3)
        .map((p) => `line ${p.line}: ${p.message}`)
        .join('; ')}`,
      {
        problems: problems.slice(0, MAX_PROBLEMS_SHOWN),
        more: Math.max(0, problems.length - MAX_PROBLEMS_SHOWN),
      },
    );
  }
  if (rows.length === 0) throw new InvalidInput('import_empty', 'the file holds no codes (lines code,expiry[,seats])');
  return rows;
}

/** `yyyyMMddHHmmss` as the marketplace writes times, a day `YYYY-MM-DD` (its start, UTC) or an ISO 8601 time with its zone. */
function parseExpiry(text: string): number | null {
  if (/^\d{14}$/.test(text)) return parseMarketplaceTime(text);
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    const t = Date.parse(`${text}T00:00:00Z`);
    return Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== text ? null : t;
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    const t = Date.parse(text);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

async function marketplaceProduct(ctx: DomainContext, settings: MarketplaceSettings): Promise<Product> {
  try {
    return await getProduct(ctx, settings.product);
  } catch (err) {
    if (err instanceof LicensorError && err.code === 'product_not_found') {
      throw new LicensorError(
        'unavailable',
        'marketplace_product_missing',
        `the product "${settings.product}" that codes made by the marketplace are adopted under does not exist: create it (licensor products create --name ${settings.product})`,
      );
    }
    throw err;
  }
}

function newMarketplaceCode(
  ctx: DomainContext,
  stored: string,
  product: Product,
  terms: { seats: number; expiresAt: number; test: boolean },
  now: number,
): LicenseCode {
  return {
    id: ctx.ids.id(),
    productId: product.id,
    code: stored,
    status: 'issued',
    seats: terms.seats,
    maxConcurrent: null,
    features: [],
    expiresAt: terms.expiresAt,
    firstActivatedAt: null,
    metadata: { marketplace: { madeByMarketplace: true } },
    test: terms.test,
    createdAt: now,
    updatedAt: now,
  };
}
