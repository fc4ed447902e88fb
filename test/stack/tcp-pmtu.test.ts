import { describe, expect, it } from 'vitest';
import { in4, parseIpv6 } from '../../src/wire/index.ts';
import { key6 } from '../../src/stack/index.ts';
import { makePair, pair4, runUntil, type Pair } from './harness.ts';
import { B6, pair6 } from './ip-frames.ts';

/** The MSS option of the first SYN a sends (observed, not dropped); ipHdr is 20 or 40. */
function synMss(p: Pair, ipHdr: number): () => number {
  let mss = -1;
  p.la.drop = (m) => {
    const t = 14 + ipHdr;
    if (m.length < t + 24 || m.getU8(ipHdr === 20 ? 23 : 20) !== 6) return false;
    if (mss < 0 && (m.getU8(t + 13) & 0x02) !== 0 && m.getU8(t + 20) === 2) mss = m.getU16(t + 22);
    return false;
  };
  return () => mss;
}

describe('TCP MSS from the path MTU cache (tcp_connect_init / tcp_sync_mss)', () => {
  it('IPv4: a cached path MTU lowers the SYN MSS option and the send MSS', async () => {
    const p = makePair();
    p.b.net.createServer(() => {}).listen(80);
    p.a.ipv4.pmtu.update(in4(0x0a000002), 1200, p.clock.now());
    const mss = synMss(p, 20);
    const c = p.a.net.connect({ host: '10.0.0.2', port: 80 });
    await runUntil(p, () => !c.connecting);
    expect(mss()).toBe(1200 - 40);
    expect(c.tcb!.sendMss).toBe(1160);
    // Another destination keeps the link's MTU.
    expect(p.a.ipv4.l4PathMtu(pair4(0x0a000001, 0x0a000003))).toBe(1480);
  });

  it('IPv6: a cached path MTU (packet too big) lowers the SYN MSS option and the send MSS', async () => {
    const p = await pair6();
    p.b.net.createServer(() => {}).listen(80);
    p.a.ip6!.pmtu.update(key6(parseIpv6(B6)), 1280, p.clock.now());
    const mss = synMss(p, 40);
    const c = p.a.net.connect({ host: B6, port: 80 });
    await runUntil(p, () => !c.connecting);
    expect(mss()).toBe(1280 - 60);
    expect(c.tcb!.sendMss).toBe(1220);
  });

  it('a passive open answers with the MSS of the path back to the client', async () => {
    const p = makePair();
    let srvMss = -1;
    p.b.net.createServer((s) => (srvMss = s.tcb!.sendMss)).listen(80);
    p.b.ipv4.pmtu.update(in4(0x0a000001), 1000, p.clock.now());
    let synAck = -1;
    p.lb.drop = (m) => {
      if (m.length < 58 || m.getU16(12) !== 0x0800 || m.getU8(23) !== 6) return false;
      if ((m.getU8(47) & 0x12) === 0x12 && m.getU8(54) === 2) synAck = m.getU16(56);
      return false;
    };
    const c = p.a.net.connect({ host: '10.0.0.2', port: 80 });
    await runUntil(p, () => !c.connecting && srvMss > 0);
    expect(synAck).toBe(960);
    expect(srvMss).toBe(960);
    expect(c.tcb!.sendMss).toBe(960);
  });
});
