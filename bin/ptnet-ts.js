#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx, so `npx ptnet-ts` needs no build step after `npm ci`.
import { register } from 'tsx/esm/api';

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

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
