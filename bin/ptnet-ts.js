#!/usr/bin/env node
// The `ptnet-ts` command: runs the compiled CLI in dist/ (built by `npm run build`, and by `prepare`
// on `npm ci`). PTNET_TS_SOURCES=1 runs the TypeScript sources through tsx instead (a development
// checkout; vitest.config.ts sets it, so the CLI tests exercise the sources beside them and never a
// stale dist/). A checkout whose dist/ was never built also falls back to the sources.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
let main;
if (process.env.PTNET_TS_SOURCES === '1' || !existsSync(compiled)) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
} else {
  ({ main } = await import(compiled.href));
}
process.exitCode = await main(process.argv.slice(2));
