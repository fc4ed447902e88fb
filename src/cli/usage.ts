// Usage handling the option-taking sub-commands share: --help/-h prints the usage and exits 0; a
// parse error prints the one line `ptnet-ts CMD: REASON (see ptnet-ts CMD --help)` on stderr and
// exits 2.
import { WireError, parseIpv4, parseIpv6 } from '../wire/index.ts';

/**
 * Why `s` is not an address of `family` (with a /LEN when `cidr`), or null when it is one. The
 * commands check addresses while parsing, so that a typo is a usage error (exit 2) before a TAP
 * is opened or a unikernel booted, not a fault from deep inside the boot.
 */
export function addressError(opt: string, s: string, family: 4 | 6, cidr: boolean): string | null {
  const [addr, len, extra] = s.split('/');
  const max = family === 4 ? 32 : 128;
  const shape = `${family === 4 ? 'A.B.C.D' : 'an IPv6 address'}${cidr ? '/LEN' : ''}`;
  if (addr === undefined || extra !== undefined || (len === undefined) === cidr) {
    return `${opt} takes ${shape}, not ${JSON.stringify(s)}`;
  }
  if (cidr && !(/^\d{1,3}$/.test(len!) && Number(len) <= max)) {
    return `${opt}: prefix length ${JSON.stringify(len)} is not 0..${max}`;
  }
  try {
    if (family === 4) parseIpv4(addr);
    else parseIpv6(addr);
  } catch (e) {
    if (!(e instanceof WireError)) throw e;
    return `${opt} takes ${shape}, not ${JSON.stringify(s)}`;
  }
  return null;
}

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
    // One line, so that a script can show or log it whole; the usage is one --help away.
    process.stderr.write(`ptnet-ts ${cmd}: ${o} (see ptnet-ts ${cmd} --help)\n`);
    return 2;
  }
  return o;
}
