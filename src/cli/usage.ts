// What every sub-command shares: arguments through node's util.parseArgs, --help/-h on stdout
// with exit 0, and the error conventions. Exit codes: 0 ok; 1 a verdict failed (a bad checksum,
// packets Linux would refuse, a demo test failed); 2 a usage error or input/setup fault. A fault
// is one line on stderr, `ptnet-ts CMD: REASON`; with --json it is one JSON object on stderr
// instead, `{"command","code","message","exitCode",...}`, so that stdout carries only results.
import { parseArgs } from 'node:util';
import { WireError, parseIpv4, parseIpv4Prefixed, parseIpv6, parseIpv6Prefixed } from '../wire/index.ts';

/** An option as util.parseArgs declares it (--help/-h is added to every command). */
export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

/** How a command reports: its name and whether --json is in force (errors as JSON). */
export interface Cli {
  cmd: string;
  json: boolean;
}

export interface CommandSpec<T> {
  cmd: string;
  usage: string;
  options: Record<string, OptionSpec>;
  /** Makes the command's options from the parsed values and positionals, or says what is wrong. */
  build(values: OptionValues, positionals: string[]): T | string;
}

const HELP: Record<string, OptionSpec & { short?: string }> = { help: { type: 'boolean', short: 'h' } };

/**
 * Parses `args` for `spec`: the options and the reporting context, or the exit code the command
 * returns at once (0 after --help, 2 after a usage error). util.parseArgs runs non-strict with
 * tokens so that each mistake gets our own one-line reason (its strict errors are long texts
 * whose wording we would have to parse).
 */
export function parseCommand<T>(spec: CommandSpec<T>, args: string[]): { o: T; cli: Cli } | number {
  const options = { ...spec.options, ...HELP };
  const { values, positionals, tokens } = parseArgs({
    args,
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const cli: Cli = { cmd: spec.cmd, json: spec.options.json !== undefined && values.json === true };
  if (values.help === true) {
    process.stdout.write(`${spec.usage}\n`);
    return 0;
  }
  const seen = new Set<string>();
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const o = options[t.name];
    if (o === undefined) return usageError(cli, `unknown argument ${t.rawName}`);
    if (o.type === 'boolean' && t.inlineValue === true) return usageError(cli, `${t.rawName} takes no value`);
    // A string option's value is the next argument; one that looks like an option is taken as
    // a forgotten value (`--seconds --json`), not as the value.
    if (
      o.type === 'string' &&
      (t.value === undefined || (t.inlineValue === false && t.value.startsWith('-')))
    )
      return usageError(cli, `${t.rawName} needs a value`);
    if (o.multiple !== true && seen.has(t.name)) return usageError(cli, `${t.rawName} given twice`);
    seen.add(t.name);
  }
  const o = spec.build(values, positionals);
  if (typeof o === 'string') return usageError(cli, o);
  return { o, cli };
}

/** A usage error: one line (text or JSON) on stderr; returns exit code 2. */
export function usageError(cli: Cli, reason: string): number {
  return fail(cli, 'USAGE', reason, {}, ` (see ptnet-ts ${cli.cmd} --help)`);
}

/**
 * A fault that ends the command: `ptnet-ts CMD: MESSAGE` on stderr, or with --json one object
 * `{"command","code","message","exitCode":2,...extra}` on stderr. Returns exit code 2.
 */
export function fail(
  cli: Cli,
  code: string,
  message: string,
  extra: Record<string, string | number> = {},
  hint = '',
): number {
  const line = message.replace(/\s*\n\s*/g, ' ');
  if (cli.json) {
    process.stderr.write(
      `${JSON.stringify({ command: cli.cmd, code, message: line, exitCode: 2, ...extra })}\n`,
    );
  } else {
    process.stderr.write(`ptnet-ts ${cli.cmd}: ${line}${hint}\n`);
  }
  return 2;
}

/** A number option: finite, within [min, max], whole when `integer`; else a reason. */
export function numberOption(
  opt: string,
  v: string | boolean | string[] | undefined,
  dflt: number,
  min: number,
  max: number,
  integer: boolean,
): number | string {
  if (v === undefined) return dflt;
  const n = typeof v === 'string' && /^([0-9]+\.?[0-9]*|\.[0-9]+)$/.test(v) ? Number(v) : NaN;
  if (!(n >= min && n <= max) || (integer && !Number.isInteger(n))) {
    return `${opt} takes ${integer ? 'a whole number' : 'a number'} in ${min}..${max}, not ${JSON.stringify(v)}`;
  }
  return n;
}

/**
 * Why `s` is not an address of `family` (with a /LEN when `cidr`), or null when it is one. The
 * commands check addresses while parsing, so that a typo is a usage error (exit 2) before a TAP
 * is opened or a unikernel booted, not a fault from deep inside the boot.
 */
export function addressError(opt: string, s: string, family: 4 | 6, cidr: boolean): string | null {
  const shape = `${family === 4 ? 'A.B.C.D' : 'an IPv6 address'}${cidr ? '/LEN' : ''}`;
  // The one address parser (src/wire/address.ts, on ip-num); a prefix only where one is asked for.
  if (s.includes('/') !== cidr) return `${opt} takes ${shape}, not ${JSON.stringify(s)}`;
  try {
    if (family === 4) {
      if (cidr) parseIpv4Prefixed(s);
      else parseIpv4(s);
    } else if (cidr) parseIpv6Prefixed(s);
    else parseIpv6(s);
  } catch (e) {
    if (!(e instanceof WireError)) throw e;
    // The parser's offset points past the '/' when the prefix length is what it refused.
    const slash = s.indexOf('/');
    if (cidr && e.offset > slash) {
      return `${opt}: prefix length ${JSON.stringify(s.slice(slash + 1))} is not 0..${family === 4 ? 32 : 128}`;
    }
    return `${opt} takes ${shape}, not ${JSON.stringify(s)}`;
  }
  return null;
}
