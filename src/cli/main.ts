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
  return run(rest);
}
