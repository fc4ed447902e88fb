// `npm run build` (and `prepare`, so a fresh clone's `npm ci` has it): compiles src/ to dist/
// (ESM .js, .d.ts, source maps) with tsconfig.build.json, then
// - rewrites relative `.ts` specifiers in the .d.ts files to `.js` (tsc rewrites them in the .js
//   output only; a `.js` specifier resolves to the `.d.ts` under every moduleResolution);
// - copies the plain-JavaScript worker entry src/host/tap-port-waiter.mjs, which tsc does not emit.
import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

const spec = /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]*?)\.ts(['"])/g;
for (const e of readdirSync(dist, { recursive: true, withFileTypes: true })) {
  if (!e.isFile() || !e.name.endsWith('.d.ts')) continue;
  const f = join(e.parentPath ?? e.path, e.name);
  const s = readFileSync(f, 'utf8');
  const t = s.replace(spec, '$1$2.js$3');
  if (t !== s) writeFileSync(f, t);
}
copyFileSync(join(root, 'src/host/tap-port-waiter.mjs'), join(dist, 'host/tap-port-waiter.mjs'));
