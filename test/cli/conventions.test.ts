// The conventions every command follows (issue 12 "CLI"): --help on stdout with exit 0,
// --version, exit codes 0/1/2, --json errors as one JSON object on stderr, gso/gro outputs that
// appear whole or not at all, and pkt-gen progress once per second on stderr.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'ptnet-cli-conv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'bin/ptnet-ts.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const COMMANDS = ['pcap', 'gso', 'gro', 'demo', 'tap-serve', 'pkt-gen'];

describe('--help and --version', () => {
  it.each(COMMANDS)('ptnet-ts %s --help: usage on stdout, nothing on stderr, exit 0', (cmd) => {
    for (const flag of ['--help', '-h']) {
      const r = cli(cmd, flag);
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect(r.stdout).toMatch(new RegExp(`^usage: ptnet-ts ${cmd} `));
    }
  });

  it('--help wins over other arguments, even bad ones', () => {
    const r = cli('pkt-gen', '--size', '1', '--help');
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/^usage: ptnet-ts pkt-gen /);
  });

  it('ptnet-ts --help and ptnet-ts help CMD: stdout, exit 0', () => {
    const top = cli('--help');
    expect([top.code, top.stderr]).toEqual([0, '']);
    expect(top.stdout).toMatch(/^usage: ptnet-ts <command>/);
    for (const c of COMMANDS) expect(top.stdout).toContain(c);
    const one = cli('help', 'gso');
    expect([one.code, one.stderr]).toEqual([0, '']);
    expect(one.stdout).toMatch(/^usage: ptnet-ts gso /);
  });

  it('--version prints the package version and exits 0', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = cli(flag);
      expect([r.code, r.stdout, r.stderr]).toEqual([0, `${pkg.version}\n`, '']);
    }
  });

  it('no command or an unknown one: one line on stderr, exit 2', () => {
    for (const args of [[], ['frob']]) {
      const r = cli(...args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(
        /^ptnet-ts: (no command given|unknown command "frob") \(see ptnet-ts --help\)$/m,
      );
    }
  });
});

/** The one line of stderr, parsed as the JSON error object. */
function jsonError(stderr: string): Record<string, unknown> {
  const lines = stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

describe('--json errors: one JSON object on stderr, stdout left to results', () => {
  it('pcap dump --json on a missing file: code IO, the file, exit 2', () => {
    const r = cli('pcap', 'dump', '/nonexistent/x.pcap', '--json');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const e = jsonError(r.stderr);
    expect(e).toMatchObject({
      command: 'pcap',
      code: 'IO',
      exitCode: 2,
      file: '/nonexistent/x.pcap',
      offset: 0,
    });
    expect(e.message).toMatch(/ENOENT/);
  });

  it('pcap verify --json on a truncated file: the packets before on stdout, TRUNCATED with its offset on stderr', () => {
    const whole = readFileSync(join(root, 'fixtures/pcap/tool-tcp4-us.pcap'));
    const path = join(dir, 'cut.pcap');
    writeFileSync(path, whole.subarray(0, whole.length - 10));
    const r = cli('pcap', 'verify', path, '--json');
    expect(r.code).toBe(2);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(jsonError(r.stderr)).toMatchObject({
      command: 'pcap',
      code: 'TRUNCATED',
      offset: 225,
      exitCode: 2,
    });
  });

  it('usage errors with --json: code USAGE', () => {
    for (const args of [
      ['pkt-gen', '--json', '--slots', '1'],
      ['pcap', 'dump', '--json'],
      ['demo', '--json', '--mode', 'both'],
    ]) {
      const r = cli(...args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const e = jsonError(r.stderr);
      expect(e).toMatchObject({ command: args[0], code: 'USAGE', exitCode: 2 });
      expect(e.message).toMatch(/\S/);
    }
  });

  it('demo --json with a TAP that cannot be opened: the TapError code', () => {
    const r = cli('demo', '--json', '--tap', 'no-such-tap0');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const e = jsonError(r.stderr);
    expect(e).toMatchObject({ command: 'demo', exitCode: 2 });
    expect(e.code).toMatch(/^[A-Z_]+$/);
    expect(e.message).toMatch(/^tap: /);
  });
});

/** Files in `d` other than the ones named: leftovers such as temporary files. */
const others = (d: string, keep: string[]): string[] => readdirSync(d).filter((f) => !keep.includes(f));

describe('gso and gro: OUT appears whole or not at all', () => {
  it.each(['gso', 'gro'])('%s: a malformed IN leaves no OUT and no temporary file', (cmd) => {
    const d = mkdtempSync(join(dir, `${cmd}-`));
    const whole = readFileSync(join(root, 'fixtures/pcap/tcpv4-tso.kernel.pcap'));
    const input = join(d, 'in.pcap');
    // Cut in the last record: every packet before it is read (and written) before the fault.
    writeFileSync(input, whole.subarray(0, whole.length - 5));
    const r = cli(cmd, input, join(d, 'out.cap'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^ptnet-ts ${cmd}: TRUNCATED at offset \\d+`));
    expect(existsSync(join(d, 'out.cap'))).toBe(false);
    expect(others(d, ['in.pcap'])).toEqual([]);
  });

  it.each(['gso', 'gro'])('%s: a failure leaves an existing OUT as it was', (cmd) => {
    const d = mkdtempSync(join(dir, `${cmd}-keep-`));
    writeFileSync(join(d, 'in.pcap'), 'not a capture');
    writeFileSync(join(d, 'out.cap'), 'previous result');
    const r = cli(cmd, join(d, 'in.pcap'), join(d, 'out.cap'));
    expect(r.code).toBe(2);
    expect(readFileSync(join(d, 'out.cap'), 'utf8')).toBe('previous result');
    expect(others(d, ['in.pcap', 'out.cap'])).toEqual([]);
  });

  it.each(['gso', 'gro'])('%s: success renames the whole file into place, nothing left beside it', (cmd) => {
    const d = mkdtempSync(join(dir, `${cmd}-ok-`));
    writeFileSync(join(d, 'out.cap'), 'previous result');
    const r = cli(cmd, join(root, 'fixtures/pcap/tcpv4-tso.kernel.pcap'), join(d, 'out.cap'));
    expect([r.code, r.stderr]).toEqual([0, '']);
    const out = readFileSync(join(d, 'out.cap'));
    expect(out.length).toBeGreaterThan(1000);
    const dump = cli('pcap', 'dump', join(d, 'out.cap'));
    expect(dump.code).toBe(0);
    expect(others(d, ['out.cap'])).toEqual([]);
  });

  it('an OUT in a directory that does not exist: one line, exit 2', () => {
    const r = cli('gso', join(root, 'fixtures/pcap/tcpv4-tso.pcapng'), '/nonexistent/dir/out.pcap');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ptnet-ts gso: ENOENT/);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('pkt-gen progress', () => {
  const progressLines = (stderr: string): string[] =>
    stderr.split('\n').filter((l) => l.startsWith('pkt-gen: '));

  it('a line per second on stderr with growing counts; the result on stdout', () => {
    const r = cli('pkt-gen', '--seconds', '2.6');
    expect(r.code, r.stderr).toBe(0);
    const lines = progressLines(r.stderr);
    // At 1 s and 2 s (a busy machine may stretch a second, never add one).
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.length).toBeLessThanOrEqual(3);
    const parsed = lines.map((l) => {
      const m =
        /^pkt-gen: (\d+\.\d)\/2\.6 s {2}tx (\d+\.\d\d) Mpkts \([\d.]+ Mpps\) {2}rx (\d+\.\d\d) Mpkts$/.exec(
          l,
        );
      expect(m, l).not.toBeNull();
      return { t: Number(m![1]), tx: Number(m![2]), rx: Number(m![3]) };
    });
    for (let i = 1; i < parsed.length; i++) {
      expect(parsed[i]!.t).toBeGreaterThan(parsed[i - 1]!.t + 0.5);
      expect(parsed[i]!.tx).toBeGreaterThan(parsed[i - 1]!.tx);
    }
    expect(parsed[0]!.t).toBeGreaterThanOrEqual(1);
    expect(r.stdout).toMatch(/^tx +\d+ packets/m);
  }, 60_000);

  it('no progress under a second, nor with --json on a non-terminal', () => {
    const short = cli('pkt-gen', '--seconds', '0.3');
    expect(short.code).toBe(0);
    expect(progressLines(short.stderr)).toEqual([]);
    const json = cli('pkt-gen', '--seconds', '1.5', '--json');
    expect(json.code).toBe(0);
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout)).toHaveProperty('tx');
  }, 60_000);
});
