/**
 * Every document a comment or a docs page cites is in this repository, and every section it
 * names exists: a maintainer must be able to follow each citation. Design notes and research kept
 * outside the repository cannot be followed, so their names fail here; what the code relies on
 * from them is written in docs/ (docs/fingerprint-design.md, docs/marketplace.md "The protocol as
 * licensor relies on it", docs/server.md, docs/policies.md).
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const SOURCE_FOLDERS = ['src', 'client/src', 'native', 'bench', 'test', 'docs'];
const SOURCE_FILES = ['README.md', 'client/README.md', 'binding.gyp'];
const SKIPPED_FOLDERS = new Set(['node_modules', 'dist', 'build', 'prebuilds', 'fixtures', 'screenshots']);
const SOURCE_EXTENSIONS = /\.(?:ts|js|cc|h|md|gyp)$/;

// Documents outside the repository, spelled in pieces so that this file does not cite them.
const OUTSIDE_DOCUMENTS = [
  ['PRODUCT', '.md'],
  ['STYLE', '.md'],
  ['fingerprint', '-research'],
  ['koogallery', '-license-protocol'],
  ['license', '-servers.md'],
  ['shared', '/reference'],
  ['shared', '/design'],
  ['..', '/shared'],
].map((parts) => parts.join(''));

interface SourceFile {
  /** Relative to the repository root, with `/`. */
  readonly path: string;
  readonly lines: readonly string[];
}

function walk(folder: string, into: string[]): void {
  for (const entry of readdirSync(join(ROOT, folder), { withFileTypes: true })) {
    const path = `${folder}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!SKIPPED_FOLDERS.has(entry.name)) walk(path, into);
    } else if (entry.isFile() && SOURCE_EXTENSIONS.test(entry.name)) {
      into.push(path);
    }
  }
}

function sourceFiles(): SourceFile[] {
  const paths: string[] = [];
  for (const folder of SOURCE_FOLDERS) walk(folder, paths);
  for (const file of SOURCE_FILES) if (statSync(join(ROOT, file), { throwIfNoEntry: false })?.isFile()) paths.push(file);
  return paths.map((path) => ({ path, lines: readFileSync(join(ROOT, path), 'utf8').split('\n') }));
}

/**
 * The anchor GitHub gives a heading: the rendered text lower-cased, everything but letters,
 * digits, `_`, spaces and `-` dropped, spaces turned into `-`.
 */
function headingSlug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a markdown page's headings, outside fenced code; repeats get `-1`, `-2`, … as on GitHub. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fence: string | null = null;
  for (const line of markdown.split('\n')) {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line);
    if (marker) {
      if (fence === null) fence = marker[1]![0]!;
      else if (marker[1]![0] === fence) fence = null;
      continue;
    }
    if (fence !== null) continue;
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const slug = headingSlug(heading[1]!);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

const pageAnchors = new Map<string, Set<string> | null>();

/** The anchors of a page given relative to the repository root; null when there is no such page. */
function anchorsOfPage(page: string): Set<string> | null {
  if (!pageAnchors.has(page)) {
    const stat = statSync(join(ROOT, page), { throwIfNoEntry: false });
    pageAnchors.set(page, stat?.isFile() ? anchorsOf(readFileSync(join(ROOT, page), 'utf8')) : null);
  }
  return pageAnchors.get(page)!;
}

interface Citation {
  readonly where: string;
  readonly page: string;
  readonly anchor: string | null;
  /** A heading quoted by name may leave off its end ("Calls licensor owes" for "… (the outbox)"). */
  readonly prefix?: boolean;
}

/**
 * The file's lines without their comment markers, joined by spaces, so that a citation a comment
 * wraps over two lines reads as one; `lineAt` maps an offset back to its line number.
 */
function joinedText(lines: readonly string[]): { text: string; lineAt(offset: number): number } {
  const starts: number[] = [];
  let text = '';
  for (const line of lines) {
    starts.push(text.length);
    text += line.replace(/^\s*(?:\/\/+|\*+(?!\/)|#+(?=\s))?\s*/, '') + ' ';
  }
  return {
    text,
    lineAt(offset) {
      let line = 0;
      while (line + 1 < starts.length && starts[line + 1]! <= offset) line += 1;
      return line + 1;
    },
  };
}

function unresolved(citations: Iterable<Citation>): string[] {
  const broken: string[] = [];
  for (const { where, page, anchor, prefix } of citations) {
    const anchors = anchorsOfPage(page);
    if (anchors === null) broken.push(`${where}: ${page} does not exist`);
    else if (anchor !== null && !anchors.has(anchor) && !(prefix && [...anchors].some((known) => known.startsWith(`${anchor}-`))))
      broken.push(`${where}: ${page} has no heading #${anchor}`);
  }
  return broken;
}

describe('documentation references', () => {
  const files = sourceFiles();

  it('knows the anchors GitHub makes of headings', () => {
    assert.equal(headingSlug('"N machines, M at a time"'), 'n-machines-m-at-a-time');
    assert.equal(headingSlug('The API document: `/openapi.json` and `/docs`'), 'the-api-document-openapijson-and-docs');
    assert.equal(headingSlug('§3 The production interface (marketplace → vendor)'), '3-the-production-interface-marketplace--vendor');
    assert.equal(headingSlug('Drift, re-enrolment and clones'), 'drift-re-enrolment-and-clones');
    assert.equal(headingSlug('CPUID leaf 0x40000000'), 'cpuid-leaf-0x40000000');
    assert.deepEqual([...anchorsOf('# A\n```sh\n# not a heading\n```\n## A\n## B')], ['a', 'a-1', 'b']);
  });

  it('walks the source folders', () => {
    // A walk that silently found nothing would pass everything below.
    for (const expected of [
      'src/http/routes/client-api.ts',
      'client/src/contract/fingerprint/matching.ts',
      'native/fingerprint.h',
      'docs/fingerprint-design.md',
      'README.md',
    ]) {
      assert.ok(
        files.some((file) => file.path === expected),
        expected,
      );
    }
  });

  it('cites no document kept outside the repository', () => {
    const outside: string[] = [];
    for (const file of files) {
      file.lines.forEach((line, index) => {
        const named = OUTSIDE_DOCUMENTS.find((document) => line.includes(document));
        if (named !== undefined) outside.push(`${file.path}:${index + 1}: ${named}`);
      });
    }
    assert.deepEqual(outside, []);
  });

  it('names, with docs/<page>.md#<anchor>, only headings that exist', () => {
    const citations: Citation[] = [];
    for (const file of files) {
      file.lines.forEach((line, index) => {
        for (const match of line.matchAll(/(?<![\w/.-])docs\/([\w.-]+\.md)(?:#([\w-]+))?/g)) {
          citations.push({ where: `${file.path}:${index + 1}`, page: `docs/${match[1]}`, anchor: match[2] ?? null });
        }
      });
    }
    assert.ok(citations.some((citation) => citation.anchor !== null));
    assert.deepEqual(unresolved(citations), []);
  });

  it('names, with docs/<page>.md "Heading", only headings that exist', () => {
    const citations: Citation[] = [];
    for (const file of files) {
      const { text, lineAt } = joinedText(file.lines);
      for (const match of text.matchAll(/(?<![\w/.-])docs\/([\w.-]+\.md),?\s+"([^"]+)"/g)) {
        const where = `${file.path}:${lineAt(match.index)}`;
        citations.push({ where, page: `docs/${match[1]}`, anchor: headingSlug(match[2]!), prefix: true });
      }
    }
    assert.ok(citations.length > 0);
    assert.deepEqual(unresolved(citations), []);
  });

  it('links the markdown pages only to headings that exist', () => {
    const citations: Citation[] = [];
    for (const file of files.filter((candidate) => candidate.path.endsWith('.md'))) {
      const folder = file.path.includes('/') ? file.path.slice(0, file.path.lastIndexOf('/') + 1) : '';
      file.lines.forEach((line, index) => {
        for (const match of line.matchAll(/\]\(([^)\s:]*?\.md)?(?:#([^)\s]+))?\)/g)) {
          if (match[1] === undefined && match[2] === undefined) continue;
          const page =
            match[1] === undefined
              ? file.path
              : relative(ROOT, join(ROOT, folder, match[1]))
                  .split('\\')
                  .join('/');
          citations.push({ where: `${file.path}:${index + 1}`, page, anchor: match[2] ?? null });
        }
      });
    }
    assert.ok(citations.length > 0);
    assert.deepEqual(unresolved(citations), []);
  });
});
