import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function pktGen(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/ptnet-ts.js', 'pkt-gen', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Side {
  packets: number;
  bytes: number;
  mpps: number;
}

describe('ptnet-ts pkt-gen', () => {
  it('moves every packet over a pipe and accounts for every one over VALE', () => {
    for (const backend of ['pipe', 'vale']) {
      const r = pktGen(
        '--backend',
        backend,
        '--mode',
        'inline',
        '--seconds',
        '0.3',
        '--size',
        '128',
        '--json',
      );
      expect(r.status, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as { tx: Side; rx: Side; hostDrops: number; size: number };
      expect(j.size).toBe(128);
      expect(j.tx.packets).toBeGreaterThan(1000);
      expect(j.rx.bytes).toBe(j.rx.packets * 128);
      // A pipe never drops; VALE drops on a full destination ring and counts each drop.
      expect(j.rx.packets + j.hostDrops).toBe(j.tx.packets);
      if (backend === 'pipe') expect(j.hostDrops).toBe(0);
    }
  }, 60_000);

  it('runs the sync loop in worker threads', () => {
    // A generous idle cut-off: a loaded CI machine can stall a worker for longer than 100 ms.
    const r = pktGen('--mode', 'worker', '--seconds', '0.3', '--idle-ms', '3000', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { tx: Side; rx: Side };
    expect(j.rx.packets).toBe(j.tx.packets);
    expect(j.tx.packets).toBeGreaterThan(0);
  }, 60_000);

  it('keeps the warm-up out of the rate (--warmup-ms)', () => {
    const r = pktGen('--seconds', '0.2', '--warmup-ms', '200', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as {
      warmupMs: number;
      tx: Side & { seconds: number; warmupPackets: number };
    };
    expect(j.warmupMs).toBe(200);
    expect(j.tx.warmupPackets).toBeGreaterThan(0);
    // The run lasts the warm-up and the window; the rate is the window's alone.
    expect(j.tx.seconds).toBeGreaterThanOrEqual(0.4);
    const window = (j.tx.packets - j.tx.warmupPackets) / (j.tx.mpps * 1e6);
    expect(window).toBeGreaterThanOrEqual(0.19);
    expect(window).toBeLessThanOrEqual(j.tx.seconds - 0.19);
  }, 60_000);

  it('prints both ends in text form', () => {
    const r = pktGen('--seconds', '0.2');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^tx +\d+ packets in [\d.]+ s +[\d.]+ Mpps/m);
    expect(r.stdout).toMatch(/^rx +\d+ packets in [\d.]+ s +[\d.]+ Mpps/m);
  }, 60_000);

  it('prints its usage on --help', () => {
    const r = pktGen('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: ptnet-ts pkt-gen /);
  }, 60_000);

  it('exits 2 with one line on bad arguments', () => {
    for (const bad of [
      ['--backend', 'tap'],
      ['--size', '59'],
      ['--batch', '0'],
      ['--seconds'],
      ['--frobnicate', '1'],
    ]) {
      const r = pktGen(...bad);
      expect(r.status).toBe(2);
      expect(r.stderr.split('\n')[0]).toMatch(/^ptnet-ts pkt-gen: /);
      expect(r.stdout).toBe('');
    }
  }, 60_000);
});
