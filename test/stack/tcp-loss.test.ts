import { describe, expect, it } from 'vitest';
import type { CongestionAlgorithm, TcbOptions } from '../../src/stack/index.ts';
import { makePair, randomBytesSeeded, runUntil, sha256, type Pair } from './harness.ts';

/** Sends `up` from a to b and `down` from b to a over one connection; resolves when both ended. */
async function transfer(p: Pair, up: Buffer, down: Buffer, opts: TcbOptions = {}): Promise<void> {
  const atServer: Buffer[] = [];
  const atClient: Buffer[] = [];
  let serverDone = false;
  let clientDone = false;
  p.b.net
    .createServer((s) => {
      s.on('data', (d: Buffer) => atServer.push(d));
      s.on('end', () => (serverDone = true));
      s.end(down);
    }, opts)
    .listen(5001);
  const c = p.a.net.connect({ host: '10.0.0.2', port: 5001, ...opts });
  c.on('data', (d: Buffer) => atClient.push(d));
  c.on('end', () => (clientDone = true));
  c.end(up);
  await runUntil(p, () => serverDone && clientDone, 3_600_000);
  expect(sha256(Buffer.concat(atServer))).toBe(sha256(up));
  expect(sha256(Buffer.concat(atClient))).toBe(sha256(down));
}

describe('TCP under loss (drop every Nth frame)', () => {
  const cases: [string, number, TcbOptions][] = [
    ['SACK + CUBIC, every 50th', 50, { congestion: 'cubic' }],
    ['SACK + NewReno, every 20th', 20, { congestion: 'newreno' as CongestionAlgorithm }],
    ['no SACK (RFC 6582 NewReno), every 30th', 30, { sack: false, congestion: 'newreno' }],
    ['no SACK, no timestamps, every 7th', 7, { sack: false, timestamps: false }],
  ];
  for (const [name, n, opts] of cases) {
    it(`${name}: 1 MiB both ways intact, recovered by retransmission`, async () => {
      const p = makePair();
      p.la.every = n;
      p.lb.every = n;
      p.la.skip = 3;
      p.lb.skip = 3;
      await transfer(p, randomBytesSeeded(1 << 20, n), randomBytesSeeded(1 << 20, n + 1), opts);
      const ca = p.a.tcp.counters;
      const cb = p.b.tcp.counters;
      expect(p.la.dropped + p.lb.dropped).toBeGreaterThan(20);
      expect(ca.retransSegs + cb.retransSegs).toBeGreaterThan(0);
      expect(ca.fastRetrans + cb.fastRetrans).toBeGreaterThan(0);
      if (opts.sack !== false) expect(ca.sackRecovery + cb.sackRecovery).toBeGreaterThan(0);
      else expect(ca.renoRecovery + cb.renoRecovery).toBeGreaterThan(0);
    });
  }

  it('random 5 % loss with a seeded generator', async () => {
    const p = makePair();
    let x = 12345;
    const rnd = (): number => {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      return x / 0x80000000;
    };
    p.la.drop = (_m, i) => i > 3 && rnd() < 0.05;
    p.lb.drop = (_m, i) => i > 3 && rnd() < 0.05;
    await transfer(p, randomBytesSeeded(1 << 20, 3), randomBytesSeeded(1 << 19, 4));
    expect(p.a.tcp.counters.sackRecovery + p.b.tcp.counters.sackRecovery).toBeGreaterThan(0);
  });

  for (const [name, seed, loss, dup, reorder, corrupt, size] of [
    ['1 % loss', 1, 0.01, 0, 0, 0, 1 << 20],
    ['20 % loss', 2, 0.2, 0, 0, 0, 1 << 17],
    ['duplication 5 %', 3, 0, 0.05, 0, 0, 1 << 20],
    ['reordering 5 %', 4, 0, 0, 0.05, 0, 1 << 20],
    ['corruption 2 %', 5, 0, 0, 0, 0.02, 1 << 19],
    ['everything at once', 6, 0.03, 0.03, 0.03, 0.01, 1 << 19],
  ] as const) {
    it(`impairment: ${name}`, async () => {
      const p = makePair();
      let x = seed * 7919;
      const rnd = (): number => {
        x = (x * 1103515245 + 12345) & 0x7fffffff;
        return x / 0x80000000;
      };
      for (const l of [p.la, p.lb]) {
        l.rnd = rnd;
        l.drop = (_m, i) => i > 3 && loss > 0 && rnd() < loss;
        l.dupRate = dup;
        l.reorderRate = reorder;
        l.corruptRate = corrupt;
      }
      await transfer(p, randomBytesSeeded(size, seed), randomBytesSeeded(size >> 1, seed + 100));
      if (corrupt > 0) {
        const bad =
          p.a.tcp.counters.csumErrors +
          p.b.tcp.counters.csumErrors +
          p.a.counters.ipInHdrErrors +
          p.b.counters.ipInHdrErrors;
        expect(bad).toBeGreaterThan(0);
      }
      if (dup > 0) expect(p.la.duplicated + p.lb.duplicated).toBeGreaterThan(0);
      if (reorder > 0) expect(p.la.reordered + p.lb.reordered).toBeGreaterThan(0);
    });
  }
});
