// docs/PORTING.md against the code: every function whose leading comment says `@mirrors file.c:fn`
// is listed in PORTING.md with that C function, and every listed function exists in its file and
// carries the tag. The failure names each missing entry.
import { describe, expect, it } from 'vitest';
import { listFiles, parsePorting, readRel, scanMirrors, type MirrorTag } from './docs-lib.ts';

describe('scanMirrors', () => {
  const src = [
    '/** One. @mirrors a.c:one */',
    'export function one(): void {}',
    'export class K {',
    '  /**',
    '   * Two C functions.',
    '   * @mirrors a.c:two',
    '   * @mirrors ipv6/b.c:two_b',
    '   */',
    '  run(): void {}',
    '  // @mirrors a.c:ctor',
    '  constructor() {}',
    '}',
    '/** @mirrors a.c:arrow */',
    'const arrow = (): number => 1;',
    'function inner(): void {',
    '  // @mirrors a.c:lost',
    '  const x = 1;',
    '}',
    '/** @mirrors nofunction */',
    'function bad(): void {}',
  ].join('\n');
  const r = scanMirrors('src/x.ts', src);

  it('attaches tags to functions, methods, constructors and arrow consts', () => {
    expect(r.tags.map((t) => `${t.ts} ${t.c}`)).toEqual([
      'src/x.ts:one a.c:one',
      'src/x.ts:K.run a.c:two',
      'src/x.ts:K.run ipv6/b.c:two_b',
      'src/x.ts:K.constructor a.c:ctor',
      'src/x.ts:arrow a.c:arrow',
    ]);
    expect([...r.declared]).toEqual(
      expect.arrayContaining(['one', 'K', 'K.run', 'K.constructor', 'arrow', 'inner']),
    );
  });

  it('reports tags inside a body and malformed tags, with their lines', () => {
    expect(r.problems).toEqual([
      'src/x.ts:19: malformed tag "@mirrors nofunction" (want file.c:function)',
      'src/x.ts:16: @mirrors tag not in the leading comment of a declaration',
    ]);
  });
});

describe('parsePorting', () => {
  it('reads mapping rows and the sources table, and flags rows without a C reference', () => {
    const doc = parsePorting(
      [
        '| C file | tree |',
        '|---|---|',
        '| `netmap_kloop.c` | netmap |',
        '',
        '| TS | C | differs |',
        '|---|---|---|',
        '| `src/host/kloop-core.ts:KloopCore.txRing` | `netmap_kloop.c:netmap_sync_kloop_tx_ring` | x |',
        '| `src/a.ts:f` | `a.c:f`, `b.h:g` | y |',
        '| `src/a.ts:g` | none | z |',
      ].join('\n'),
    );
    expect(doc.sources).toEqual(new Set(['netmap_kloop.c']));
    expect(doc.rows.map((r) => [r.ts, r.c])).toEqual([
      ['src/host/kloop-core.ts:KloopCore.txRing', ['netmap_kloop.c:netmap_sync_kloop_tx_ring']],
      ['src/a.ts:f', ['a.c:f', 'b.h:g']],
      ['src/a.ts:g', []],
    ]);
    expect(doc.problems).toHaveLength(1);
  });
});

describe('docs/PORTING.md and the @mirrors tags in src/', () => {
  const tags: MirrorTag[] = [];
  const problems: string[] = [];
  const declared = new Map<string, Set<string>>();
  for (const f of listFiles('src', ['.ts'])) {
    const r = scanMirrors(f, readRel(f));
    tags.push(...r.tags);
    problems.push(...r.problems);
    declared.set(f, r.declared);
  }
  const doc = parsePorting(readRel('docs/PORTING.md'));
  const pair = (t: string, c: string): string => `${t} → ${c}`;

  it('every tag is well formed and sits on a declaration', () => {
    expect(problems, problems.join('\n')).toEqual([]);
    expect(doc.problems, doc.problems.join('\n')).toEqual([]);
    expect(tags.length).toBeGreaterThan(0);
  });

  it('lists exactly the tagged functions, each with the C functions its tags name', () => {
    const tagged = new Map(tags.map((t) => [pair(t.ts, t.c), t]));
    const listed = new Map<string, number>();
    for (const r of doc.rows) for (const c of r.c) listed.set(pair(r.ts, c), r.line);
    const missing = [...tagged.values()]
      .filter((t) => !listed.has(pair(t.ts, t.c)))
      .map((t) => `  ${pair(t.ts, t.c)}   (tag at ${t.ts.split(':')[0]}:${t.line})`);
    const extra = [...listed.entries()]
      .filter(([p]) => !tagged.has(p))
      .map(([p, line]) => {
        const [file = '', fn = ''] = p.split(' → ')[0]!.split(':');
        const d = declared.get(file);
        const why =
          d === undefined ? 'no such file' : !d.has(fn) ? 'no such function' : 'function lacks this tag';
        return `  ${p}   (PORTING.md line ${line}: ${why})`;
      });
    const msg = [
      missing.length > 0 ? `tagged in src/ but missing from docs/PORTING.md:\n${missing.join('\n')}` : '',
      extra.length > 0 ? `listed in docs/PORTING.md but not tagged in src/:\n${extra.join('\n')}` : '',
    ]
      .filter((s) => s !== '')
      .join('\n');
    expect(msg, msg).toBe('');
  });

  it('names every C file it cites in its Sources table', () => {
    const files = new Set(tags.map((t) => t.c.split(':')[0]!));
    const unknown = [...files].filter((f) => !doc.sources.has(f)).sort();
    expect(
      unknown,
      `C files missing from the Sources table of docs/PORTING.md: ${unknown.join(', ')}`,
    ).toEqual([]);
  });
});
