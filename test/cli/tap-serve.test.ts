// `ptnet-ts tap-serve` failure paths (the serving path is exercised by test/interop as root).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const bin = new URL('../../bin/ptnet-ts.js', import.meta.url).pathname;
const serve = (...args: string[]) =>
  spawnSync(process.execPath, [bin, 'tap-serve', ...args], { encoding: 'utf8', timeout: 30_000 });

describe('ptnet-ts tap-serve', () => {
  it.each([
    [[], /--tap and --ipv4 are required/],
    [['--tap', 't0'], /--tap and --ipv4 are required/],
    [['--tap', 't0', '--ipv4', '10.0.0.1/24', '--mode', 'fast'], /--mode is inline or worker/],
    [['--tap', 't0', '--ipv4', '10.0.0.1/24', '--fetch', 'ftp://x'], /--fetch takes/],
    [['--tap', 't0', '--ipv4'], /--ipv4 needs a value/],
    [['--bogus'], /unknown argument --bogus/],
  ])('%j: usage error, exit 2', (args, msg) => {
    const r = serve(...args);
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(msg);
    expect(r.stdout).not.toContain('ready');
  });

  it('a TAP that does not exist: one line, exit 2, never ready', () => {
    const r = serve('--tap', 'ptnet-none0', '--ipv4', '10.0.0.2/24');
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    // As root: no such interface; otherwise /dev/net/tun or TUNSETIFF is refused first.
    expect(r.stderr).toMatch(
      /^ptnet-ts tap-serve: tap: (interface ptnet-none0 does not exist|cannot open \/dev\/net\/tun|TUNSETIFF)/,
    );
    expect(r.stdout).not.toContain('ready');
  });
});
