#!/usr/bin/env node
// The `ptnet-ts` command: runs the compiled CLI in dist/ (built by `npm run build`, and by `prepare`
// on `npm ci`). PTNET_TS_SOURCES=1 runs the TypeScript sources through tsx instead (a development
// checkout; vitest.config.ts sets it, so the CLI tests exercise the sources beside them and never a
// stale dist/). A checkout whose dist/ was never built also falls back to the sources.
import { existsSync } from 'node:fs';

// A fault raised outside a command's own await chain (a timer, an event handler) would otherwise
// print Node's stack trace: end it the way main() ends the others, one line and exit 2.
const fatal = (e) => {
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  process.stderr.write(`ptnet-ts: internal error: ${text.replace(/\s*\n\s*/g, ' ')}\n`);
  if (process.env.DEBUG !== undefined && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exit(2);
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

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
