import { describe, expect, it } from 'vitest';
import { makePair, pair4, randomBytesSeeded, runUntil, sha256 } from './harness.ts';

const A = 0x0a000001;
const B = 0x0a000002;

describe('path MTU (ICMP fragmentation needed → TCP)', () => {
  it('a 1000-byte path: big frames vanish, the report shrinks the MSS, the stream completes', async () => {
    const p = makePair();
    const got: Buffer[] = [];
    let done = false;
    p.b.net
      .createServer((s) => {
        s.on('data', (d: Buffer) => got.push(d));
        s.on('end', () => (done = true));
      })
      .listen(5001);
    let reports = 0;
    let accepted = 0;
    p.la.drop = (m) => {
      if (m.length <= 14 + 1000) return false;
      // What a router would send back: the quoted header names our ports and sequence number.
      reports++;
      if (p.a.tcp.icmpError(pair4(A, B), m.getU16(34), m.getU16(36), m.getU32(38), 1000)) accepted++;
      return true;
    };
    const data = randomBytesSeeded(300_000, 5);
    const c = p.a.net.connect({ host: '10.0.0.2', port: 5001 });
    c.end(data);
    await runUntil(p, () => done);
    expect(sha256(Buffer.concat(got))).toBe(sha256(data));
    expect(accepted).toBeGreaterThan(0);
    expect(reports).toBeLessThan(20);
    expect(c.tcb === null || c.tcb.sendMss <= 960).toBe(true);
  });

  it('ignores reports quoting a sequence number outside the window (RFC 5927)', async () => {
    const p = makePair();
    p.b.net.createServer(() => {}).listen(80);
    const c = p.a.net.connect({ host: '10.0.0.2', port: 80 });
    await runUntil(p, () => !c.connecting);
    const t = c.tcb!;
    const before = t.sendMss;
    expect(p.a.tcp.icmpError(pair4(A, B), t.lport, 80, (t.snd.una + 100000) >>> 0, 600)).toBe(false);
    expect(p.a.tcp.counters.icmpOutOfWindow).toBe(1);
    expect(t.sendMss).toBe(before);
    expect(p.a.tcp.icmpError(pair4(A, B), t.lport, 81, t.snd.una, 600)).toBe(false);
  });
});
