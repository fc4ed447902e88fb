// Malformed arguments to every command (issue 14 "CLI errors"): exit 2 and exactly one line on
// stderr, `ptnet-ts CMD: REASON`, before anything is opened or booted; never a stack trace.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DriverResult } from './cli-driver.ts';

const root = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'ptnet-cli-args-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bad: [string, string[], RegExp][] = [
  ['pkt-gen', ['--slots', '1'], /--slots/],
  ['pkt-gen', ['--slots', '100000000'], /--slots/],
  ['pkt-gen', ['--batch', '1e9'], /--batch/],
  ['pkt-gen', ['--idle-ms', '1e12'], /--idle-ms/],
  ['pkt-gen', ['--warmup-ms', '1e9'], /--warmup-ms/],
  ['pkt-gen', ['--warmup-ms', '2.5'], /--warmup-ms/],
  ['pkt-gen', ['--seconds', 'Infinity'], /--seconds/],
  ['pkt-gen', ['--size', '0x10'], /--size/],
  ['pkt-gen', ['--backend'], /backend/],
  ['tap-serve', ['--tap', 't0', '--ipv4', '300.1.1.1/24'], /--ipv4 takes A\.B\.C\.D\/LEN/],
  ['tap-serve', ['--tap', 't0', '--ipv4', '10.0.0.1'], /--ipv4 takes/],
  ['tap-serve', ['--tap', 't0', '--ipv4', '10.0.0.1/33'], /prefix length "33"/],
  ['tap-serve', ['--tap', 't0', '--ipv4', '10.0.0.1/24', '--ipv6', 'zz/64'], /--ipv6 takes/],
  ['tap-serve', ['--tap', 't0', '--ipv4', '10.0.0.1/24', '--gateway', '10.0.0'], /--gateway takes/],
  ['tap-serve', ['--tap', 't0', '--ipv4', '10.0.0.1/24', '--gateway', 'fe80::1/64'], /--gateway takes/],
  ['demo', ['--tap', 't0', '--ipv4', 'bad'], /--ipv4 takes/],
  ['demo', ['--seconds', '-1'], /--seconds/],
  ['demo', ['--mode', 'both'], /--mode/],
  ['gso', ['only-one'], /./],
  ['gro', ['a.pcap', 'b.pcapng', '--burst', '0'], /--burst/],
  ['gro', ['a.pcap', 'b.pcapng', '--burst'], /--burst/],
  ['pcap', ['dump'], /./],
  ['pcap', ['frob', 'x'], /./],
  ['pcap', ['dump', 'x', '--bogus'], /./],
];

describe('malformed arguments', () => {
  it(`${bad.length} command lines: exit 2, one line naming the command`, () => {
    const jobsFile = join(dir, 'jobs.json');
    const resultsFile = join(dir, 'results.json');
    writeFileSync(jobsFile, JSON.stringify(bad.map(([cmd, args]) => [cmd, ...args])));
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'cli-driver.ts'), jobsFile, resultsFile],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as DriverResult[];
    results.forEach((x, i) => {
      const [cmd, , reason] = bad[i]!;
      const what = `${x.args.join(' ')} → ${x.stderr}`;
      expect(x.threw, what).toBeNull();
      expect(x.code, what).toBe(2);
      const lines = x.stderr.trimEnd().split('\n');
      expect(lines, what).toHaveLength(1);
      expect(lines[0], what).toMatch(new RegExp(`^ptnet-ts ${cmd}: `));
      expect(lines[0], what).toMatch(reason);
    });
  }, 120_000);
});
