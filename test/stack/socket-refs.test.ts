// Process refs as in node:net: an open server, a pending or connected socket, a bound UDP socket
// and a ping in flight keep the process alive; unref() lets it exit; ref() restores it. Each case
// is a child process (test/net-diff/fixtures/refs-child.ts) that never closes its unikernel and
// never calls process.exit, in inline and worker mode; the same script on node:net / node:dgram
// gives the same output and exit status (pings: ours only).
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const CHILD = new URL('../net-diff/fixtures/refs-child.ts', import.meta.url).pathname;

function run(
  mode: string,
  scenario: string,
): Promise<{ out: string; err: string; code: number | null; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['--import', 'tsx', CHILD, mode, scenario], { timeout: 20_000 });
    let out = '';
    let err = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr.on('data', (b: Buffer) => (err += b.toString()));
    c.on('close', (code) => resolve({ out, err, code, ms: Date.now() - t0 }));
  });
}

const CASES: [string, string, string][] = [
  ['inline', 'server', 'listening\nalive\n'],
  ['inline', 'server-unref', 'listening\n'],
  ['inline', 'connect', 'alive\n'],
  ['inline', 'connect-unref', ''],
  ['inline', 'udp', 'listening\nalive\n'],
  ['inline', 'udp-unref', 'listening\n'],
  ['inline', 'unref-ref', 'alive\n'],
  ['inline', 'ping', 'pong\n'],
  ['inline', 'ping-pending', 'alive\ntimeout\n'],
  ['worker', 'server', 'listening\nalive\n'],
  ['worker', 'server-unref', 'listening\n'],
  // node itself, for comparison: the same outputs.
  ['node', 'server', 'listening\nalive\n'],
  ['node', 'server-unref', 'listening\n'],
  ['node', 'udp', 'listening\nalive\n'],
  ['node', 'udp-unref', 'listening\n'],
  ['node', 'unref-ref', 'alive\n'],
];

describe('process refs', () => {
  it('a ref’d handle keeps the process alive, an unref’d one lets it exit (inline and worker)', async () => {
    // Four at a time: each child spends most of its time starting tsx, and fourteen at once on a
    // loaded 2-core machine ran into the 20 s limit (a killed child reads as "did not exit").
    const results: Awaited<ReturnType<typeof run>>[] = [];
    for (let i = 0; i < CASES.length; i += 4) {
      const batch = CASES.slice(i, i + 4).map(([m, s]) => run(m, s));
      results.push(...(await Promise.all(batch)));
    }
    const got = results.map(
      (r, i) => `${CASES[i]![0]} ${CASES[i]![1]}: ${JSON.stringify(r.out)} ${r.code} ${r.err}`,
    );
    const want = CASES.map(([m, s, o]) => `${m} ${s}: ${JSON.stringify(o)} 0 `);
    expect(got).toEqual(want);
  }, 60_000);
});
