// The `ptnet-ts` command: one lazily loaded module per sub-command, so one command's
// dependencies never slow another's start. Exit codes, for every command: 0 ok, 1 a verdict
// failed (bad checksums, packets Linux would refuse, a failed demo test), 2 a usage or input error.
import { readFileSync } from 'node:fs';

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  // each entry: name → () => import('./NAME.ts').then((m) => m.run)
  pcap: () => import('./pcap.ts').then((m) => m.run),
  demo: () => import('./demo.ts').then((m) => m.run),
  'tap-serve': () => import('./tap-serve.ts').then((m) => m.run),
  gso: () => import('./gso.ts').then((m) => m.run),
  gro: () => import('./gro.ts').then((m) => m.run),
  'pkt-gen': () => import('./pkt-gen.ts').then((m) => m.run),
};

function usage(): string {
  return (
    `usage: ptnet-ts <command> [args]   (ptnet-ts <command> --help for one command)\n` +
    `       ptnet-ts --version\n` +
    `commands: ${Object.keys(commands).sort().join(', ')}\n` +
    `exit codes: 0 ok, 1 a verdict failed (bad checksum, refused packets, failed test), 2 usage or input error\n`
  );
}

/** The package's version, from the package.json two folders up (the package's own file). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    // `ptnet-ts help CMD` is `ptnet-ts CMD --help`.
    if (rest[0] !== undefined && commands[rest[0]] !== undefined) return main([rest[0], '--help']);
    process.stdout.write(usage());
    return 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const load = name === undefined ? undefined : commands[name];
  if (load === undefined) {
    // No command at all is a usage error too: a script that forgot it must not see success.
    const why = name === undefined ? 'no command given' : `unknown command ${JSON.stringify(name)}`;
    process.stderr.write(`ptnet-ts: ${why} (see ptnet-ts --help)\n`);
    return 2;
  }
  const run = await load();
  try {
    return await run(rest);
  } catch (e) {
    // Commands turn every input and usage fault into a typed one-line error themselves; this is
    // the last line of defence, so that a fault we missed still ends in one line and exit 2
    // rather than a stack trace. DEBUG (the `debug` convention) shows the stack.
    const message = `internal error: ${oneLine(e)}`;
    if (rest.includes('--json')) {
      process.stderr.write(`${JSON.stringify({ command: name, code: 'INTERNAL', message, exitCode: 2 })}\n`);
    } else {
      process.stderr.write(`ptnet-ts ${name}: ${message}\n`);
    }
    if (process.env.DEBUG !== undefined && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return 2;
  }
}

/** `Name: message` of a thrown value, on one line. */
export function oneLine(e: unknown): string {
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return text.replace(/\s*\n\s*/g, ' ');
}
