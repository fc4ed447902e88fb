// Every citation of the project's documents resolves inside the repository: "docs/X.md §N" and a
// bare "§N" that follows it name a numbered heading of X.md, "docs/X.md "Heading"" an existing
// heading, and nothing cites a "spec §N" that is not in docs/.
import { describe, expect, it } from 'vitest';
import {
  headings,
  listFiles,
  readRel,
  scanCitations,
  unresolved,
  type Citation,
  type Heading,
} from './docs-lib.ts';

describe('scanCitations', () => {
  const docs = new Map<string, Heading[]>([
    ['docs/SPEC.md', headings('# Spec\n## §2 Device\n### §2.4 CSB\n```\n## §9 in a fence\n```\n')],
    ['docs/ARCHITECTURE.md', headings('# Architecture\n## Folders\n')],
  ]);
  const names = new Set(['SPEC.md', 'ARCHITECTURE.md']);
  const scan = (text: string, file = 'src/x.ts') => scanCitations(file, text, names);

  it('attributes bare § to the last document named, RFCs included', () => {
    const r = scan('// docs/SPEC.md §2.4\n// then §2 and §2.4–§9\n// RFC 9293 §3.10\n// §3.10.7');
    expect(r.problems).toEqual([]);
    expect(r.citations.map((c) => c.section)).toEqual([null, '2.4', '2', '2.4', '9']);
    const bad = r.citations.map((c) => unresolved(c, docs)).filter((x) => x !== null);
    expect(bad).toEqual(['src/x.ts:2: docs/SPEC.md has no §9']);
  });

  it('refuses an out-of-tree spec, an unattributed §, a missing docs file and a bare doc name', () => {
    const r = scan('// §1.6 checks\n// spec §2.2\n// docs/NOPE.md\n// ARCHITECTURE.md "Folders"');
    expect(r.problems).toEqual([
      'src/x.ts:1: §1.6 names no document (write docs/SPEC.md §1.6)',
      'src/x.ts:2: "spec §2.2" points outside the repository; write docs/SPEC.md §2.2',
      'src/x.ts:3: docs/NOPE.md does not exist',
      'src/x.ts:4: write docs/ARCHITECTURE.md, not ARCHITECTURE.md',
    ]);
  });

  it('checks quoted headings, and in docs/ a bare § means the file itself', () => {
    const r = scan('see docs/ARCHITECTURE.md "Folders" and docs/ARCHITECTURE.md "Threads"');
    expect(r.citations.map((c: Citation) => unresolved(c, docs))).toEqual([
      null,
      'src/x.ts:1: docs/ARCHITECTURE.md has no heading "Threads"',
    ]);
    const d = scan('RFC 1071 §2 here\n§2.4 there', 'docs/SPEC.md');
    expect(d.citations.map((c) => [c.doc, c.section])).toEqual([['docs/SPEC.md', '2.4']]);
  });
});

describe('citations in the tree', () => {
  const docFiles = listFiles('docs', ['.md']);
  const docs = new Map(docFiles.map((f) => [f, headings(readRel(f))]));
  const names = new Set(docFiles.map((f) => f.slice('docs/'.length)));
  const files = [...listFiles('src', ['.ts', '.mjs']), 'eslint.config.js', 'CONTRIBUTING.md', ...docFiles];

  it('resolve to headings of docs/', () => {
    const problems: string[] = [];
    let count = 0;
    for (const f of files) {
      const r = scanCitations(f, readRel(f), names);
      problems.push(...r.problems);
      for (const c of r.citations) {
        count++;
        const u = unresolved(c, docs);
        if (u !== null) problems.push(u);
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
    expect(count).toBeGreaterThan(0);
  });
});
