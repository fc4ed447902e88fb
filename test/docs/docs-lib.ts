// Parsers behind the docs checks: the @mirrors tags in src/, the tables of docs/PORTING.md, the
// headings of docs/*.md and the citations ("docs/X.md §N", "docs/X.md "Heading"", bare "§N") that
// comments make. Pure functions over text, so the tests can feed them fixtures as well as the tree.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Files under `dir` (relative to ROOT) whose names end with one of `exts`, sorted. */
export function listFiles(dir: string, exts: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(join(ROOT, d), { withFileTypes: true })) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (exts.some((x) => e.name.endsWith(x))) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

export function readRel(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

export function rel(abs: string): string {
  return relative(ROOT, abs);
}

// ------------------------------------------------------------------------------- @mirrors tags

/** `@mirrors file.c:function`: the file may carry a tree prefix (`ipv6/udp_offload.c`). */
export const C_REF = /^([A-Za-z0-9_.+-]+(?:\/[A-Za-z0-9_.+-]+)*\.[ch]):([A-Za-z_][A-Za-z0-9_]*)$/;

export interface MirrorTag {
  /** `src/host/kloop-core.ts:KloopCore.txRing`. */
  ts: string;
  /** `netmap_kloop.c:netmap_sync_kloop_tx_ring`. */
  c: string;
  line: number;
}

export interface MirrorScan {
  tags: MirrorTag[];
  /** `file:line: why` for tags that are malformed or not in a declaration's leading comment. */
  problems: string[];
  /** Every function-like declaration in the file, by qualified name (`Class.method`). */
  declared: Set<string>;
}

/**
 * The @mirrors tags of one source file. A tag belongs to the function, method, constructor,
 * accessor, class or arrow-valued const whose leading comment holds it; anywhere else it is a
 * problem, so a tag cannot drift away from the function it describes unnoticed.
 */
export function scanMirrors(file: string, text: string): MirrorScan {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const tags: MirrorTag[] = [];
  const problems: string[] = [];
  const declared = new Set<string>();
  const attached = new Set<number>();
  const lineOf = (pos: number): number => sf.getLineAndCharacterOfPosition(pos).line + 1;

  const take = (node: ts.Node, name: string): void => {
    declared.add(name);
    for (const r of ts.getLeadingCommentRanges(text, node.getFullStart()) ?? []) {
      const body = text.slice(r.pos, r.end);
      for (const m of body.matchAll(/@mirrors\b[ \t]*([^\s*]*)/g)) {
        const at = r.pos + m.index;
        attached.add(at);
        const ref = m[1] ?? '';
        if (!C_REF.test(ref)) {
          problems.push(`${file}:${lineOf(at)}: malformed tag "@mirrors ${ref}" (want file.c:function)`);
          continue;
        }
        tags.push({ ts: `${file}:${name}`, c: ref, line: lineOf(at) });
      }
    }
  };
  const isFn = (e: ts.Node | undefined): boolean =>
    e !== undefined && (ts.isArrowFunction(e) || ts.isFunctionExpression(e));

  const visit = (node: ts.Node, owner: string | null): void => {
    if (ts.isFunctionDeclaration(node) && node.name) {
      take(node, node.name.text);
    } else if (ts.isClassDeclaration(node) && node.name) {
      const cls = node.name.text;
      take(node, cls);
      for (const m of node.members) {
        if (ts.isConstructorDeclaration(m)) take(m, `${cls}.constructor`);
        else if (
          (ts.isMethodDeclaration(m) || ts.isGetAccessor(m) || ts.isSetAccessor(m)) &&
          m.name &&
          (ts.isIdentifier(m.name) || ts.isPrivateIdentifier(m.name))
        )
          take(m, `${cls}.${m.name.text}`);
        else if (ts.isPropertyDeclaration(m) && ts.isIdentifier(m.name) && isFn(m.initializer))
          take(m, `${cls}.${m.name.text}`);
      }
      return;
    } else if (ts.isVariableStatement(node) && owner === null) {
      for (const d of node.declarationList.declarations) {
        if (ts.isIdentifier(d.name) && isFn(d.initializer)) {
          // The comment sits in front of the statement, not the declaration.
          declared.add(d.name.text);
          if (node.declarationList.declarations.length === 1) take(node, d.name.text);
        }
      }
      return;
    }
    ts.forEachChild(node, (c) => visit(c, owner ?? (ts.isFunctionLike(node) ? 'fn' : null)));
  };
  ts.forEachChild(sf, (c) => visit(c, null));

  for (const m of text.matchAll(/@mirrors\b/g)) {
    if (!attached.has(m.index)) {
      problems.push(`${file}:${lineOf(m.index)}: @mirrors tag not in the leading comment of a declaration`);
    }
  }
  return { tags, problems, declared };
}

// ------------------------------------------------------------------------------- PORTING.md

export interface PortingRow {
  ts: string;
  c: string[];
  line: number;
}

export interface PortingDoc {
  rows: PortingRow[];
  /** C files of the Sources table (first cell a backticked `file.c`). */
  sources: Set<string>;
  problems: string[];
}

function cells(line: string): string[] {
  const t = line.trim();
  return t
    .slice(1, t.endsWith('|') ? -1 : undefined)
    .split('|')
    .map((c) => c.trim());
}

/**
 * Table rows whose first cell is a backticked `src/….ts:name` are mappings; their second cell
 * holds one or more backticked `file.c:function`. Rows whose first cell is a backticked C file
 * alone belong to the Sources table.
 */
export function parsePorting(text: string): PortingDoc {
  const rows: PortingRow[] = [];
  const sources = new Set<string>();
  const problems: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trimStart().startsWith('|')) return;
    const [first = '', second = ''] = cells(line);
    const m = /^`(src\/[^`:]+\.(?:ts|mjs)):([A-Za-z_$][\w$.]*)`$/.exec(first);
    if (m) {
      const c = [...second.matchAll(/`([^`]+)`/g)].map((x) => x[1]!);
      const bad = c.filter((r) => !C_REF.test(r));
      if (c.length === 0 || bad.length > 0)
        problems.push(`docs/PORTING.md:${i + 1}: ${first}: C cell must hold \`file.c:function\` refs`);
      rows.push({ ts: `${m[1]}:${m[2]}`, c: c.filter((r) => C_REF.test(r)), line: i + 1 });
      return;
    }
    const s = /^`([A-Za-z0-9_.+/-]+\.[ch])`$/.exec(first);
    if (s) sources.add(s[1]!);
  });
  return { rows, sources, problems };
}

// ------------------------------------------------------------------------------- headings

export interface Heading {
  text: string;
  /** "2.4" for "### §2.4 CSB layout", or null when the heading is not numbered. */
  section: string | null;
}

export function headings(md: string): Heading[] {
  const out: Heading[] = [];
  let fence = false;
  for (const line of md.split('\n')) {
    if (/^\s*```/.test(line)) fence = !fence;
    if (fence) continue;
    const h = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const raw = h[1]!;
    const n = /^§?(\d+(?:\.\d+)*)\.?\s+(.*)$/.exec(raw);
    out.push(n ? { section: n[1]!, text: n[2]! } : { section: null, text: raw });
  }
  return out;
}

// ------------------------------------------------------------------------------- citations

export interface Citation {
  file: string;
  line: number;
  /** `docs/SPEC.md`, or the external document the section belongs to. */
  doc: string;
  /** "3.2" or a quoted heading; null for a bare file reference. */
  section: string | null;
  heading: string | null;
}

/**
 * Walks `text` in order. A document name (docs/X.md, RFC n, "core spec", "virtio spec", or a bare
 * "spec") sets the document that later "§N" tokens of the same file belong to; a "§N" with no
 * document before it is reported. For a file in docs/ ("X.md" there means docs/X.md) a bare "§N"
 * belongs to the file itself, and another document named on a line holds to the end of that line.
 */
export function scanCitations(
  file: string,
  text: string,
  docNames: ReadonlySet<string>,
): { citations: Citation[]; problems: string[] } {
  const inDocs = file.startsWith('docs/');
  const citations: Citation[] = [];
  const problems: string[] = [];
  const lineOf = (pos: number): number => text.slice(0, pos).split('\n').length;
  const re =
    /(?<doc>(?:docs\/)?[A-Z][A-Z0-9_-]*\.md)(?:\s+"(?<head>[^"\n]+)")?|(?<ext>\bRFC\s*\d+|\b(?:core|virtio|WebAssembly)\s+spec\b)|(?<spec>\bspec\b)|§\s?(?<sec>\d+(?:\.\d+)*)(?:\s*[–-]\s*§?(?<sec2>\d+(?:\.\d+)*))?/g;
  let current: string | null = inDocs ? file : null;
  let lastLine = 0;
  for (const m of text.matchAll(re)) {
    const g = m.groups!;
    const line = lineOf(m.index);
    if (inDocs && line !== lastLine) current = file;
    lastLine = line;
    if (g.doc !== undefined) {
      const base = g.doc.replace(/^docs\//, '');
      const isDocs = g.doc.startsWith('docs/') || inDocs;
      if (!docNames.has(base)) {
        if (g.doc.startsWith('docs/')) problems.push(`${file}:${line}: ${g.doc} does not exist`);
        current = g.doc; // README.md, CONTRIBUTING.md…: not a docs/ file, sections not checked
        continue;
      }
      if (!isDocs) {
        problems.push(`${file}:${line}: write docs/${base}, not ${g.doc}`);
      }
      current = `docs/${base}`;
      citations.push({ file, line, doc: current, section: null, heading: g.head ?? null });
    } else if (g.ext !== undefined) {
      current = g.ext;
    } else if (g.spec !== undefined) {
      current = 'spec';
    } else {
      const secs = [g.sec!, ...(g.sec2 !== undefined ? [g.sec2] : [])];
      if (current === null) {
        problems.push(`${file}:${line}: §${g.sec} names no document (write docs/SPEC.md §${g.sec})`);
      } else if (current === 'spec') {
        problems.push(
          `${file}:${line}: "spec §${g.sec}" points outside the repository; write docs/SPEC.md §${g.sec}`,
        );
      } else if (current.startsWith('docs/')) {
        for (const s of secs) citations.push({ file, line, doc: current, section: s, heading: null });
      }
    }
  }
  return { citations, problems };
}

/** Why `c` does not resolve against the docs (null when it does). */
export function unresolved(c: Citation, docs: ReadonlyMap<string, Heading[]>): string | null {
  const hs = docs.get(c.doc);
  if (hs === undefined) return `${c.file}:${c.line}: ${c.doc} does not exist`;
  if (c.section !== null && !hs.some((h) => h.section === c.section))
    return `${c.file}:${c.line}: ${c.doc} has no §${c.section}`;
  if (c.heading !== null) {
    const want = c.heading.toLowerCase();
    if (!hs.some((h) => h.text.toLowerCase() === want))
      return `${c.file}:${c.line}: ${c.doc} has no heading "${c.heading}"`;
  }
  return null;
}

// ------------------------------------------------------------------------------- code references

export interface CodeRef {
  doc: string;
  line: number;
  file: string;
  /** `Class.method` or a function name. */
  name: string;
}

/**
 * Backticked `src/….ts:Name` references in a document, and the bare names chained after one on
 * the same line with → (`Class.a` → `b` means Class.b in the same file).
 */
export function codeRefs(doc: string, md: string): CodeRef[] {
  const out: CodeRef[] = [];
  md.split('\n').forEach((text, i) => {
    for (const m of text.matchAll(
      /`(src\/[\w./-]+\.(?:ts|mjs)):([A-Za-z_$][\w$.]*)`((?:\s*→\s*`[A-Za-z_$][\w$]*`)*)/g,
    )) {
      const file = m[1]!;
      const head = m[2]!;
      out.push({ doc, line: i + 1, file, name: head });
      const cls = head.includes('.') ? head.slice(0, head.lastIndexOf('.') + 1) : '';
      for (const c of m[3]!.matchAll(/`([A-Za-z_$][\w$]*)`/g))
        out.push({ doc, line: i + 1, file, name: cls + c[1]! });
    }
  });
  return out;
}
