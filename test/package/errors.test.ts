// Every error class of the library (each `class XxxError extends Error` under src/, the CLI's
// own excepted: it is the command, not the API) is exported from the package root, and is the
// same class its folder's subpath exports.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as root from '../../src/index.ts';

const SRC = new URL('../../src/', import.meta.url).pathname;

function errorClasses(): { name: string; file: string }[] {
  const found: { name: string; file: string }[] = [];
  for (const e of readdirSync(SRC, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !e.name.endsWith('.ts')) continue;
    const file = relative(SRC, join(e.parentPath ?? e.path, e.name));
    if (file.startsWith('cli/')) continue;
    const text = readFileSync(join(SRC, file), 'utf8');
    for (const m of text.matchAll(/^export class (\w+Error) extends Error\b/gm))
      found.push({ name: m[1]!, file });
  }
  return found;
}

describe('error classes', () => {
  const classes = errorClasses();

  it('finds the library error classes', () => {
    expect(classes.length).toBeGreaterThanOrEqual(16);
  });

  it.each(classes.map((c) => [c.name, c.file] as const))(
    '%s (src/%s) is exported from the root',
    async (name, file) => {
      const exported = (root as Record<string, unknown>)[name];
      expect(typeof exported).toBe('function');
      const own = (await import(join(SRC, file))) as Record<string, unknown>;
      expect(exported).toBe(own[name]);
      expect((exported as { prototype: unknown }).prototype).toBeInstanceOf(Error);
    },
  );
});
