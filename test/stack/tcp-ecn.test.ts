// RFC 3168 ECN between two stacks: negotiation (tcp_ecn 1 / 2 / 0), ECT(0) on new data only, a
// router's CE marks echoed with ECE and answered with one cwnd reduction per window and CWR.
import { describe, expect, it } from 'vitest';
import type { Mbuf } from '../../src/mbuf/index.ts';
import type { TcbOptions } from '../../src/stack/index.ts';
import { makePair, randomBytesSeeded, runUntil, sha256, type Pair } from './harness.ts';

/** IPv4 ECN field of a frame, or -1 for anything else. */
function ecnOf(m: Mbuf): number {
  return m.getU8(12) === 0x08 && m.getU8(13) === 0 ? m.getU8(15) & 3 : -1;
}

/** Marks an IPv4 frame CE (a congested router, RFC 3168 §5), fixing the header checksum. */
function markCe(m: Mbuf): void {
  m.setU8(15, m.getU8(15) | 3);
  const hl = (m.getU8(14) & 0xf) * 4;
  m.setU8(24, 0);
  m.setU8(25, 0);
  let sum = 0;
  for (let i = 0; i < hl; i += 2) sum += (m.getU8(14 + i) << 8) | m.getU8(15 + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  sum = ~sum & 0xffff;
  m.setU8(24, sum >>> 8);
  m.setU8(25, sum & 0xff);
}

async function upload(p: Pair, a: TcbOptions, b: TcbOptions, n: number): Promise<void> {
  const got: Buffer[] = [];
  let done = false;
  p.b.net
    .createServer((s) => {
      s.on('data', (d: Buffer) => got.push(d));
      s.on('end', () => {
        done = true;
        s.end();
      });
    }, b)
    .listen(5001);
  const data = randomBytesSeeded(n, 7);
  p.a.net.connect({ host: '10.0.0.2', port: 5001, ...a }).end(data);
  await runUntil(p, () => done);
  expect(sha256(Buffer.concat(got))).toBe(sha256(data));
}

describe('TCP ECN (RFC 3168)', () => {
  it('tcp_ecn=1 meets the default 2: ECT(0) on data, CE echoed, cwnd cut once per window, CWR', async () => {
    const p = makePair();
    const seen = [0, 0, 0, 0];
    let data = 0;
    p.la.drop = (m) => {
      const e = ecnOf(m);
      if (e >= 0) seen[e]!++;
      // Every 20th data-bearing ECT frame is marked by the "router".
      if (e === 2 && m.length > 100 && ++data % 20 === 0) markCe(m);
      return false;
    };
    await upload(p, { ecn: 1 }, {}, 1 << 20);
    const ca = p.a.tcp.counters;
    const cb = p.b.tcp.counters;
    expect(seen[2]).toBeGreaterThan(100); // data went ECT(0)
    expect(seen[1]).toBe(0);
    expect(cb.ecnCeRecv).toBe(Math.floor(data / 20));
    expect(ca.ecnCwr).toBeGreaterThan(0);
    expect(ca.ecnCwr).toBeLessThanOrEqual(cb.ecnCeRecv);
    // No loss: the reductions came from ECN alone.
    expect(ca.retransSegs).toBe(0);
    expect(ca.fastRetrans + ca.timeouts).toBe(0);
  });

  it('nobody asks (2 and 2) or the server refuses (1 and 0): no ECT anywhere', async () => {
    for (const [a, b] of [
      [{}, {}],
      [{ ecn: 1 }, { ecn: 0 }],
    ] as [TcbOptions, TcbOptions][]) {
      const p = makePair();
      let ect = 0;
      for (const l of [p.la, p.lb])
        l.drop = (m) => {
          if (ecnOf(m) > 0) ect++;
          return false;
        };
      await upload(p, a, b, 1 << 16);
      expect(ect).toBe(0);
    }
  });
});
