// docs/ARCHITECTURE.md's "Folders" table says what each src/ folder may import; eslint.config.js's
// `allowed` table is what the linter enforces. They must say the same thing.
import { describe, expect, it } from 'vitest';
import { codeRefs, listFiles, readRel, scanMirrors } from './docs-lib.ts';

/** `allowed` of eslint.config.js: folder → folders (or `folder/file`) it may import. */
export function eslintAllowed(js: string): Map<string, string[]> {
  const body = /const allowed = \{([\s\S]*?)\n\};/.exec(js)?.[1] ?? '';
  const out = new Map<string, string[]>();
  for (const m of body.matchAll(/^\s*([a-z]+):\s*\[([^\]]*)\]/gm)) {
    out.set(
      m[1]!,
      [...m[2]!.matchAll(/'([^']+)'/g)].map((x) => x[1]!),
    );
  }
  return out;
}

/** The Folders table: `name/` in the first cell, the imports in the third. */
export function docAllowed(md: string): Map<string, string[]> {
  const sec = /^## Folders\n([\s\S]*?)(?=^## )/m.exec(md)?.[1] ?? '';
  const out = new Map<string, string[]>();
  for (const line of sec.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const name = /^`([a-z]+)\/`$/.exec(cells[1] ?? '')?.[1];
    if (name === undefined) continue;
    const cell = (cells[3] ?? '').replace(/`/g, '');
    const list =
      cell === 'every folder above'
        ? [...out.keys()]
        : cell === '—'
          ? []
          : cell
              .split(/,\s*|\s+and\s+/)
              .map((x) =>
                x
                  .replace(/^and\s+/, '')
                  .replace(/\s+only$/, '')
                  .replace(/\.ts$/, '')
                  .trim(),
              )
              .filter((x) => x !== '');
    out.set(name, list);
  }
  return out;
}

describe('docs/ARCHITECTURE.md "Folders" and eslint.config.js', () => {
  const lint = eslintAllowed(readRel('eslint.config.js'));
  const doc = docAllowed(readRel('docs/ARCHITECTURE.md'));

  it('both tables were found', () => {
    expect(lint.size).toBeGreaterThan(10);
    expect(doc.size).toBeGreaterThan(10);
  });

  it('name the same folders with the same allowed imports', () => {
    const diffs: string[] = [];
    for (const f of new Set([...lint.keys(), ...doc.keys()])) {
      const a = [...(lint.get(f) ?? ['(absent)'])].sort().join(', ');
      const b = [...(doc.get(f) ?? ['(absent)'])].sort().join(', ');
      if (a !== b) diffs.push(`${f}: eslint.config.js [${a}] vs docs/ARCHITECTURE.md [${b}]`);
    }
    expect(diffs, diffs.join('\n')).toEqual([]);
  });
});

describe('code references in docs/', () => {
  it('every `src/file.ts:Name` (and each → `name` chained after it) exists', () => {
    const declared = new Map<string, Set<string> | null>();
    const problems: string[] = [];
    let count = 0;
    for (const d of listFiles('docs', ['.md'])) {
      for (const r of codeRefs(d, readRel(d))) {
        count++;
        if (!declared.has(r.file)) {
          let text: string | null = null;
          try {
            text = readRel(r.file);
          } catch {
            text = null;
          }
          declared.set(r.file, text === null ? null : scanMirrors(r.file, text).declared);
        }
        const names = declared.get(r.file);
        if (names === null || names === undefined)
          problems.push(`${r.doc}:${r.line}: ${r.file} does not exist`);
        else if (!names.has(r.name)) problems.push(`${r.doc}:${r.line}: ${r.file} has no ${r.name}`);
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
    expect(count).toBeGreaterThan(50);
  });
});
