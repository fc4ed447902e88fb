import { describe, expect, it } from 'vitest';
import { csumFinish, csumPartial } from '../../src/checksum/index.ts';
import { inject } from './ip-frames.ts';
import { makePair, runUntil, type Pair } from './harness.ts';
import { in4 } from '../../src/wire/index.ts';

const A = [10, 0, 0, 1];
const B = [10, 0, 0, 2];

/** An IPv4 frame `from` → `to` (their MACs) carrying proto/payload; the IP checksum is filled. */
function frame4(
  to: Pair['a'],
  from: Pair['a'],
  src: number[],
  dst: number[],
  proto: number,
  payload: Uint8Array,
): Uint8Array {
  const f = new Uint8Array(34 + payload.length);
  f.set(to.netif.mac, 0);
  f.set(from.netif.mac, 6);
  f[12] = 8;
  const t = 20 + payload.length;
  f.set([0x45, 0, t >> 8, t & 255, 0, 0, 0, 0, 64, proto, 0, 0, ...src, ...dst], 14);
  const v = csumFinish(csumPartial(f, 14, 20));
  f[24] = v >> 8;
  f[25] = v & 0xff;
  f.set(payload, 34);
  return f;
}

function icmpChecksum(m: Uint8Array): Uint8Array {
  m[2] = 0;
  m[3] = 0;
  const v = csumFinish(csumPartial(m, 0, m.length));
  m[2] = v >> 8;
  m[3] = v & 0xff;
  return m;
}

describe('ICMPv4 errors', () => {
  it('rate-limits port unreachables (icmp_msgs_per_sec / icmp_msgs_burst)', () => {
    const p = makePair();
    const udp = new Uint8Array([0, 1, 0x27, 0x0f, 0, 8, 0, 0]);
    const before = p.b.counters.icmpOutMsgs;
    for (let i = 0; i < 200; i++) inject(p.b, frame4(p.b, p.a, A, B, 17, udp));
    expect(p.b.counters.udpNoPorts).toBe(200);
    expect(p.b.counters.icmpOutMsgs - before).toBe(50);
    expect(p.b.icmpRate.limited).toBe(150);
    // 10 ms at 1000/s refills 10 tokens.
    p.clock.advance(10);
    for (let i = 0; i < 20; i++) inject(p.b, frame4(p.b, p.a, A, B, 17, udp));
    expect(p.b.counters.icmpOutMsgs - before).toBe(60);
  });

  it('fragmentation needed quoting an in-window TCP segment shrinks the connection MSS', async () => {
    const p = makePair();
    p.b.net.createServer(() => {}).listen(80);
    const c = p.a.net.connect({ host: '10.0.0.2', port: 80 });
    await runUntil(p, () => !c.connecting);
    const t = c.tcb!;
    p.lb.drop = () => true;
    c.write(Buffer.alloc(4000));
    await runUntil(p, () => t.snd.max !== t.snd.una);
    const una = t.snd.una;
    const quoted = new Uint8Array(28);
    quoted.set([0x45, 0, 0x05, 0xdc, 0, 0, 0x40, 0, 64, 6, 0, 0, ...A, ...B]);
    quoted.set(
      [t.lport >> 8, t.lport & 255, 0, 80, una >>> 24, (una >>> 16) & 255, (una >>> 8) & 255, una & 255],
      20,
    );
    const icmp = new Uint8Array(8 + 28);
    icmp.set([3, 4, 0, 0, 0, 0, 1000 >> 8, 1000 & 255]);
    icmp.set(quoted, 8);
    inject(p.a, frame4(p.a, p.b, B, A, 1, icmpChecksum(icmp)));
    expect(p.a.ipv4.icmp.errors.counters.fragNeededApplied).toBe(1);
    expect(p.a.ipv4.pmtu.get(in4(0x0a000002), p.clock.now())).toBe(1000);
    expect(t.sendMss).toBe(960);
    // The same report quoting a sequence number outside the window moves nothing more.
    const bad = icmp.slice();
    bad[8 + 24] = bad[8 + 24]! ^ 0x80;
    bad[6] = 0x02; // 600
    bad[7] = 0x58;
    inject(p.a, frame4(p.a, p.b, B, A, 1, icmpChecksum(bad)));
    expect(t.sendMss).toBe(960);
  });
});
