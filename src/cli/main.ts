// The `ptnet-ts` command: one lazily loaded module per sub-command, so one command's
// dependencies never slow another's start.
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
  return `usage: ptnet-ts <command> [args]\ncommands: ${Object.keys(commands).sort().join(', ')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const load = name === undefined ? undefined : commands[name];
  if (load === undefined) {
    process.stderr.write(usage());
    return name === undefined || name === '--help' || name === '-h' ? 0 : 2;
  }
  const run = await load();
  try {
    return await run(rest);
  } catch (e) {
    // Commands turn every input and usage fault into a typed one-line error themselves; this is
    // the last line of defence, so that a fault we missed still ends in one line and exit 2
    // rather than a stack trace. DEBUG (the `debug` convention) shows the stack.
    process.stderr.write(`ptnet-ts ${name}: internal error: ${oneLine(e)}\n`);
    if (process.env.DEBUG !== undefined && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return 2;
  }
}

/** `Name: message` of a thrown value, on one line. */
export function oneLine(e: unknown): string {
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return text.replace(/\s*\n\s*/g, ' ');
}
