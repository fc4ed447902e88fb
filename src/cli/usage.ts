// Usage handling the option-taking sub-commands share: --help/-h prints the usage and exits 0; a
// parse error prints `ptnet-ts CMD: REASON` and the usage on stderr and exits 2.

/** The options `parse` made of `args`, or the exit code the command returns at once. */
export function parseOrExit<T extends object>(
  cmd: string,
  usage: string,
  args: string[],
  parse: (args: string[]) => T | string,
): T | number {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const o = parse(args);
  if (typeof o === 'string') {
    process.stderr.write(`ptnet-ts ${cmd}: ${o}\n${usage}\n`);
    return 2;
  }
  return o;
}
