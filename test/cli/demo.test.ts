// `ptnet-ts demo` as users run it: a child process, JSON out, exit status.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const bin = new URL('../../bin/ptnet-ts.js', import.meta.url).pathname;
const demo = (...args: string[]) =>
  spawnSync(process.execPath, [bin, 'demo', ...args], { encoding: 'utf8', timeout: 60_000 });

interface DemoJson {
  ok: boolean;
  mode: string;
  offloads: boolean;
  tests: {
    test: string;
    ok: boolean;
    detail: string;
    bytes?: number;
    packets: number;
    drops: number;
    gbps?: number;
    latencyUs?: { avg: number };
  }[];
  guests: { txPackets: number; drops: number }[];
}

describe('ptnet-ts demo', () => {
  it.each([{ flags: ['--mode', 'worker'] }, { flags: ['--mode', 'inline', '--no-offloads'] }])(
    '$flags: ping, HTTP and bulk all pass with no drops',
    ({ flags }) => {
      const r = demo('--seconds', '0.5', '--json', ...flags);
      expect(r.status, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as DemoJson;
      expect(j.ok).toBe(true);
      expect(j.offloads).toBe(!flags.includes('--no-offloads'));
      expect(j.tests.map((t) => t.test)).toEqual(['ping', 'http', 'tcp bulk']);
      for (const t of j.tests) {
        expect(t.ok).toBe(true);
        expect(t.packets).toBeGreaterThan(0);
        expect(t.drops).toBe(0);
      }
      expect(j.tests[0]!.latencyUs!.avg).toBeGreaterThan(0);
      expect(j.tests[2]!.gbps).toBeGreaterThan(0);
      expect(j.guests).toHaveLength(2);
    },
    60_000,
  );

  it('--migrate: the download survives moves of its unikernel between workers and ports', () => {
    const r = demo('--seconds', '0.3', '--json', '--migrate');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as DemoJson;
    const m = j.tests.find((t) => t.test === 'http, migrating')!;
    expect(m.ok).toBe(true);
    expect(m.bytes).toBe(256 * 1048576);
    expect(m.detail).toMatch(/across [1-8] moves \(outage ms: [\d., ]+\), sha256 ok/);
  }, 90_000);

  it('prints the summary table without --json', () => {
    const r = demo('--seconds', '0.3', '--mode', 'inline');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^test +latency µs +Gbps +packets +drops +result$/m);
    expect(r.stdout).toMatch(/^tcp bulk .* ok: .*sha256 ok$/m);
    // Progress went to stderr, not into the table.
    expect(r.stderr).toContain('booting');
  }, 60_000);

  it('exits 2 with one line on a bad argument or a TAP that cannot be opened', () => {
    const bad = demo('--seconds', 'x');
    expect(bad.status).toBe(2);
    expect(bad.stderr.split('\n')[0]).toMatch(/^ptnet-ts demo: --seconds/);
    const tap = demo('--tap', 'no-such-tap0');
    expect(tap.status).toBe(2);
    expect(tap.stderr).toMatch(
      /^ptnet-ts demo: tap: (interface no-such-tap0 does not exist|cannot open \/dev\/net\/tun|TUNSETIFF)/m,
    );
  }, 60_000);
});
