import { describe, expect, it } from 'vitest';
import { makePair, runUntil, type Pair } from './harness.ts';
import { B6, pair6 } from './ip-frames.ts';
import { in4 } from '../../src/wire/index.ts';

/** Pings `host` from a and waits for the reply; the reply's ICMP checksum is verified on input. */
async function ping(p: Pair, host: string, size: number): Promise<number> {
  let rtt = -1;
  let err: unknown = null;
  p.a.ping(host, { size, timeout: 5000 }).then(
    (r) => (rtt = r),
    (e: unknown) => (err = e),
  );
  await runUntil(p, () => rtt >= 0 || err !== null);
  if (err !== null) throw err;
  return rtt;
}

describe('ICMP echo larger than one packet buffer', () => {
  it('IPv4: ping -s 4000 and -s 30000 go out fragmented and the replies come back whole', async () => {
    const p = makePair();
    await ping(p, '10.0.0.2', 56);
    for (const [size, frags] of [
      [4000, 3],
      [30000, 21],
    ] as const) {
      const a0 = p.a.ipv4.frag.counters.fragCreates;
      const b0 = p.b.ipv4.frag.counters.fragCreates;
      const oks = p.a.ipv4.frag.reasm.counters.oks;
      expect(await ping(p, '10.0.0.2', size)).toBe(0);
      // 8 + size bytes of ICMP in 1480-byte pieces, both ways.
      expect(p.a.ipv4.frag.counters.fragCreates - a0).toBe(frags);
      expect(p.b.ipv4.frag.counters.fragCreates - b0).toBe(frags);
      expect(p.a.ipv4.frag.reasm.counters.oks).toBe(oks + 1);
    }
    expect(p.b.counters.icmpInEchos).toBe(3);
    expect(p.a.counters.icmpInEchoReps).toBe(3);
    expect(p.a.counters.icmpInErrors + p.b.counters.icmpInErrors).toBe(0);
    expect(p.a.counters.rxExceptions + p.b.counters.rxExceptions).toBe(0);
    await expect(p.a.ping('10.0.0.2', { size: 65508 })).rejects.toMatchObject({ code: 'STACK_ARG' });
  });

  it('IPv4: a reply that fits one buffer but not the MTU is fragmented to the path MTU', async () => {
    const p = makePair();
    await ping(p, '10.0.0.2', 56);
    p.b.ipv4.pmtu.update(in4(0x0a000001), 576, p.clock.now());
    const b0 = p.b.ipv4.frag.counters.fragCreates;
    expect(await ping(p, '10.0.0.2', 1400)).toBe(0);
    // 1408 bytes of ICMP in 552-byte pieces (576 - 20, rounded down to 8).
    expect(p.b.ipv4.frag.counters.fragCreates - b0).toBe(3);
  });

  it('IPv6: ping -6 -s 4000 and -s 30000 both ways', async () => {
    const p = await pair6();
    for (const [size, frags] of [
      [4000, 3],
      [30000, 21],
    ] as const) {
      const a0 = p.a.ip6!.counters.fragCreates;
      const b0 = p.b.ip6!.counters.fragCreates;
      expect(await ping(p, B6, size)).toBe(0);
      // 8 + size bytes of ICMPv6 in 1448-byte pieces (1500 - 40 - 8, rounded down to 8).
      expect(p.a.ip6!.counters.fragCreates - a0).toBe(frags);
      expect(p.b.ip6!.counters.fragCreates - b0).toBe(frags);
    }
    expect(p.b.ip6!.counters.icmpInEchos).toBe(2);
    expect(p.a.ip6!.frag.reasm.counters.oks).toBe(2);
  });
});

describe('datagrams larger than one packet buffer on a jumbo MTU', () => {
  it('IPv4 and IPv6: ping and UDP that fit a 9000-byte MTU leave whole, in chained buffers', async () => {
    const p = await pair6({ pair: { mtu: 9000 } });
    await ping(p, '10.0.0.2', 56);
    expect(await ping(p, '10.0.0.2', 4000)).toBe(0);
    expect(await ping(p, B6, 4000)).toBe(0);
    expect(p.a.ipv4.frag.counters.fragCreates + p.b.ipv4.frag.counters.fragCreates).toBe(0);
    expect(p.a.ip6!.counters.fragCreates + p.b.ip6!.counters.fragCreates).toBe(0);
    // Past the MTU: fragments of 8976 (v4) and 8952 (v6) bytes of payload, each chained.
    expect(await ping(p, '10.0.0.2', 30000)).toBe(0);
    expect(p.a.ipv4.frag.counters.fragCreates).toBe(4);
    expect(await ping(p, B6, 30000)).toBe(0);
    expect(p.a.ip6!.counters.fragCreates).toBe(4);
    const got: number[] = [];
    p.b.net
      .createSocket()
      .bind(7)
      .on('message', (m: Buffer) => got.push(m.length));
    const u = p.a.net.createSocket();
    u.send(Buffer.alloc(6000, 1), 7, '10.0.0.2');
    u.send(Buffer.alloc(6000, 2), 7, B6);
    await runUntil(p, () => got.length === 2);
    expect(got).toEqual([6000, 6000]);
    expect(p.a.ipv4.frag.counters.fragCreates).toBe(4);
    expect(p.a.ip6!.counters.fragCreates).toBe(4);
    expect(p.a.counters.txNoBuffers).toBe(0);
  });
});
