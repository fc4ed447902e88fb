import { describe, expect, it } from 'vitest';
import { ipv6ToString, parseIpv6 } from '../../src/wire/index.ts';
import { runUntil, type Pair } from './harness.ts';

import { A6, B6, concat, frame6, inject, pair6, udp } from './ip-frames.ts';

describe('IPv6 between two stacks', () => {
  it('ping6 to the global and the link-local address', async () => {
    const p = await pair6();
    let rtt = -1;
    p.a.ping(B6).then((r) => (rtt = r));
    await runUntil(p, () => rtt >= 0);
    expect(rtt).toBe(0);
    rtt = -1;
    p.b.ping(ipv6ToString(p.a.ip6!.addresses[0]!.addr), { size: 1000 }).then((r) => (rtt = r));
    await runUntil(p, () => rtt >= 0);
    expect(p.a.ip6!.counters.icmpInEchos).toBe(1);
    expect(p.b.ip6!.counters.icmpInEchos).toBe(1);
    // Echo to all-nodes is answered too (icmpv6 echo_ignore_multicast = 0).
    rtt = -1;
    p.a.ping('ff02::1').then((r) => (rtt = r));
    await runUntil(p, () => rtt >= 0);
    expect(p.b.ip6!.counters.icmpInEchos).toBe(2);
  });

  it('ping6 larger than the MTU: request and reply both fragmented and reassembled', async () => {
    const p = await pair6();
    let rtt = -1;
    p.a.ping(B6, { size: 5000 }).then((r) => (rtt = r));
    await runUntil(p, () => rtt >= 0);
    expect(p.a.ip6!.counters.fragCreates).toBe(4);
    expect(p.b.ip6!.counters.fragCreates).toBe(4);
    expect(p.b.ip6!.frag.reasm.counters.oks).toBe(1);
    expect(p.a.ip6!.frag.reasm.counters.oks).toBe(1);
    await expect(p.a.ping(B6, { size: 70000 })).rejects.toMatchObject({ code: 'STACK_ARG' });
  });

  it('UDP over IPv6 both ways, with IPv6 rinfo', async () => {
    const p = await pair6();
    const sb = p.b.net.createSocket().bind(5353);
    const sa = p.a.net.createSocket().bind(4000);
    const atB: { msg: string; address: string; family: string; port: number }[] = [];
    const atA: string[] = [];
    sb.on('message', (msg: Buffer, r: { address: string; family: string; port: number }) => {
      atB.push({ msg: msg.toString(), address: r.address, family: r.family, port: r.port });
      sb.send(Buffer.from(`re:${msg.toString()}`), r.port, r.address);
    });
    sa.on('message', (msg: Buffer) => atA.push(msg.toString()));
    sa.send('hello', 5353, B6);
    await runUntil(p, () => atA.length === 1);
    expect(atB).toEqual([{ msg: 'hello', address: A6, family: 'IPv6', port: 4000 }]);
    expect(atA).toEqual(['re:hello']);
  });

  it('UDP to a closed port gets ICMPv6 port unreachable; a zero UDP checksum is dropped', async () => {
    const p = await pair6();
    const s = p.a.net.createSocket();
    s.send('x', 9999, B6);
    await runUntil(p, () => p.a.ip6!.counters.icmpInDestUnreachs === 1);
    expect(p.b.counters.udpNoPorts).toBe(1);
    const before = p.b.counters.udpInCsumErrors;
    inject(p.b, frame6(p.b, p.a, A6, B6, 17, udp(1, 9999, new Uint8Array(4))));
    expect(p.b.counters.udpInCsumErrors).toBe(before + 1);
  });

  it('rate-limits ICMPv6 errors', async () => {
    const p = await pair6();
    for (let i = 0; i < 200; i++)
      inject(
        p.b,
        frame6(p.b, p.a, A6, B6, 17, udp(1, 9999, new Uint8Array(4)), 64, { at: 6, l4: 0, proto: 17 }),
      );
    expect(p.b.ip6!.counters.icmpOutErrors).toBe(50);
    expect(p.b.ip6!.counters.icmpRateLimited).toBe(150);
    p.clock.advance(1000);
    inject(
      p.b,
      frame6(p.b, p.a, A6, B6, 17, udp(1, 9999, new Uint8Array(4)), 64, { at: 6, l4: 0, proto: 17 }),
    );
    expect(p.b.ip6!.counters.icmpOutErrors).toBe(51);
  });
});

describe('IPv6 extension headers (hostile input)', () => {
  const data = new Uint8Array([1, 2, 3, 4]);
  async function withSocket(): Promise<{ p: Pair; got: string[] }> {
    const p = await pair6();
    const got: string[] = [];
    p.b.net
      .createSocket()
      .bind(7)
      .on('message', (m: Buffer) => got.push(m.toString('hex')));
    return { p, got };
  }
  const u = udp(1, 7, data);

  it('delivers through hop-by-hop (PadN, router alert), destination options and an exhausted routing header', async () => {
    const { p, got } = await withSocket();
    const hbh = new Uint8Array([60, 0, 5, 2, 0, 0, 1, 0]); // router alert + PadN(0)
    const dst = new Uint8Array([43, 0, 1, 4, 0, 0, 0, 0]); // PadN(4)
    const rh = new Uint8Array([17, 0, 0, 0, 0, 0, 0, 0]); // type 0, segments left 0: ignored
    inject(p.b, frame6(p.b, p.a, A6, B6, 0, concat(hbh, dst, rh, u), 64, { at: 24 + 6, l4: 24, proto: 17 }));
    expect(got).toEqual(['01020304']);
  });

  it('refuses routing header type 0 with segments left (RFC 5095) with a parameter problem', async () => {
    const { p, got } = await withSocket();
    const rh = new Uint8Array([17, 2, 0, 1, 0, 0, 0, 0, ...new Uint8Array(16)]);
    inject(p.b, frame6(p.b, p.a, A6, B6, 43, concat(rh, u), 64, { at: 24 + 6, l4: 24, proto: 17 }));
    expect(got).toEqual([]);
    expect(p.b.ip6!.counters.inRoutingRefused).toBe(1);
    await runUntil(p, () => p.a.ip6!.counters.icmpInParmProblems === 1);
  });

  it('follows the action bits of unknown options', async () => {
    const { p, got } = await withSocket();
    const opt = (t: number) => new Uint8Array([17, 0, t, 4, 0, 0, 0, 0]);
    // 00: skip.
    inject(p.b, frame6(p.b, p.a, A6, B6, 60, concat(opt(0x1e), u), 64, { at: 8 + 6, l4: 8, proto: 17 }));
    expect(got.length).toBe(1);
    // 01: discard silently.
    inject(p.b, frame6(p.b, p.a, A6, B6, 60, concat(opt(0x5e), u), 64, { at: 8 + 6, l4: 8, proto: 17 }));
    // 10: discard and send parameter problem code 2.
    inject(p.b, frame6(p.b, p.a, A6, B6, 60, concat(opt(0x9e), u), 64, { at: 8 + 6, l4: 8, proto: 17 }));
    // 11 to a multicast destination: discard without ICMP.
    inject(
      p.b,
      frame6(p.b, p.a, A6, 'ff02::1', 60, concat(opt(0xde), u), 64, { at: 8 + 6, l4: 8, proto: 17 }),
    );
    expect(got.length).toBe(1);
    expect(p.b.ip6!.counters.inUnknownOptions).toBe(3);
    await runUntil(p, () => p.a.ip6!.counters.icmpInParmProblems === 1);
    expect(p.b.ip6!.counters.icmpOutErrors).toBe(1);
  });

  it('drops malformed chains and unknown next headers, counted', async () => {
    const { p, got } = await withSocket();
    const c = p.b.ip6!.counters;
    // Hop-by-hop after another header: not a header error but an unknown next header (parameter
    // problem code 1, see the test below), so it counts in inUnknownProtos, not inHdrErrors.
    inject(
      p.b,
      frame6(
        p.b,
        p.a,
        A6,
        B6,
        60,
        concat(new Uint8Array([0, 0, 1, 4, 0, 0, 0, 0]), new Uint8Array([17, 0, 1, 4, 0, 0, 0, 0]), u),
      ),
    );
    // A header running past the payload.
    inject(p.b, frame6(p.b, p.a, A6, B6, 60, new Uint8Array([17, 5, 1, 4, 0, 0, 0, 0])));
    // A TLV running past its header.
    inject(p.b, frame6(p.b, p.a, A6, B6, 60, concat(new Uint8Array([17, 0, 1, 9, 0, 0, 0, 0]), u)));
    // Payload length past the frame.
    const f = frame6(p.b, p.a, A6, B6, 17, u);
    f[18] = 0x10;
    inject(p.b, f);
    expect(c.inHdrErrors).toBe(3);
    // Multicast source.
    inject(p.b, frame6(p.b, p.a, 'ff02::5', B6, 17, u));
    // Not our address.
    inject(p.b, frame6(p.b, p.a, A6, '2001:db8::77', 17, u));
    expect(c.inAddrErrors).toBe(2);
    // No next header, then an unknown one (parameter problem code 1).
    inject(p.b, frame6(p.b, p.a, A6, B6, 59, new Uint8Array(8)));
    inject(p.b, frame6(p.b, p.a, A6, B6, 253, new Uint8Array(8)));
    expect(c.inNoNextHeader).toBe(1);
    expect(c.inUnknownProtos).toBe(2);
    // A long chain of destination options is walked without trouble.
    const chain: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) chain.push(new Uint8Array([i === 199 ? 17 : 60, 0, 1, 4, 0, 0, 0, 0]));
    inject(p.b, frame6(p.b, p.a, A6, B6, 60, concat(...chain, u), 64, { at: 1600 + 6, l4: 1600, proto: 17 }));
    expect(got.length).toBe(1);
    expect(p.b.counters.rxExceptions).toBe(0);
  });

  it('a hop-by-hop header that is not first gets parameter problem code 1 at the Next Header naming it', async () => {
    const { p, got } = await withSocket();
    const c = p.b.ip6!.counters;
    const sent: Uint8Array[] = [];
    p.lb.drop = (m) => {
      const f = new Uint8Array(m.length);
      m.copyTo(f);
      if (f[12] === 0x86 && f[13] === 0xdd && f[20] === 58 && f[54] === 4) sent.push(f);
      return false;
    };
    // Destination options (its Next Header byte, at offset 40 of the packet, says 0), then HBH.
    const body = concat(
      new Uint8Array([0, 0, 1, 4, 0, 0, 0, 0]),
      new Uint8Array([17, 0, 1, 4, 0, 0, 0, 0]),
      u,
    );
    const pkt = frame6(p.b, p.a, A6, B6, 60, body, 64, { at: 16 + 6, l4: 16, proto: 17 });
    inject(p.b, pkt);
    expect(got).toEqual([]);
    expect(c.inUnknownProtos).toBe(1);
    expect(c.inHdrErrors).toBe(0);
    // (Neighbour discovery for A6 may hold the error back a moment.)
    await runUntil(p, () => p.a.ip6!.counters.icmpInParmProblems === 1);
    expect(sent).toHaveLength(1);
    const r = sent[0]!;
    // From B6 to A6: type 4 (parameter problem), code 1 (unrecognized next header), pointer 40,
    // quoting the packet from its IPv6 header.
    expect(ipv6ToString(r.subarray(22, 38))).toBe(ipv6ToString(parseIpv6(B6)));
    expect(ipv6ToString(r.subarray(38, 54))).toBe(ipv6ToString(parseIpv6(A6)));
    expect([r[54], r[55]]).toEqual([4, 1]);
    expect(((r[58]! << 24) | (r[59]! << 16) | (r[60]! << 8) | r[61]!) >>> 0).toBe(40);
    expect(Buffer.from(r.subarray(62)).equals(Buffer.from(pkt.subarray(14)))).toBe(true);
    // Hop-by-hop first is fine; to a multicast destination a misplaced one gets no ICMP.
    inject(
      p.b,
      frame6(p.b, p.a, A6, B6, 0, concat(new Uint8Array([17, 0, 1, 4, 0, 0, 0, 0]), u), 64, {
        at: 8 + 6,
        l4: 8,
        proto: 17,
      }),
    );
    expect(got).toHaveLength(1);
    inject(p.b, frame6(p.b, p.a, A6, 'ff02::1', 60, body, 64, { at: 16 + 6, l4: 16, proto: 17 }));
    expect(c.inUnknownProtos).toBe(2);
    await runUntil(p, () => true);
    expect(sent).toHaveLength(1);
    expect(p.b.ip6!.counters.icmpOutErrors).toBe(1);
  });

  it('a random-byte fuzz of the IPv6 payload never throws', async () => {
    const { p } = await withSocket();
    let x = 12345;
    const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    const nhs = [0, 43, 44, 60, 17, 58, 6, 59];
    for (let i = 0; i < 500; i++) {
      const body = new Uint8Array(8 + (rnd() % 64));
      for (let j = 0; j < body.length; j++) body[j] = rnd();
      // Keep next-header bytes plausible so the walk goes deep.
      body[0] = nhs[rnd() % nhs.length]!;
      inject(p.b, frame6(p.b, p.a, A6, B6, nhs[rnd() % nhs.length]!, body));
    }
    expect(p.b.counters.rxExceptions).toBe(0);
  });
});

describe('IPv6 path MTU (RFC 8201)', () => {
  /** A packet too big from a router (A6's neighbour B here) quoting a packet A sent to `quotedDst`. */
  function ptb(p: Pair, mtu: number, quotedSrc: string, quotedDst: string): Uint8Array {
    const quoted = new Uint8Array(40 + 8);
    quoted[0] = 0x60;
    quoted[5] = 8;
    quoted[6] = 17;
    quoted[7] = 64;
    quoted.set(parseIpv6(quotedSrc), 8);
    quoted.set(parseIpv6(quotedDst), 24);
    const icmp = new Uint8Array(8 + quoted.length);
    icmp[0] = 2;
    icmp[4] = mtu >>> 24;
    icmp[5] = (mtu >>> 16) & 0xff;
    icmp[6] = (mtu >>> 8) & 0xff;
    icmp[7] = mtu & 0xff;
    icmp.set(quoted, 8);
    return frame6(p.a, p.b, B6, A6, 58, icmp, 64, { at: 2, l4: 0, proto: 58 });
  }

  it('a packet too big lowers the path MTU and later datagrams are fragmented; bogus ones are ignored', async () => {
    const p = await pair6();
    const a6 = p.a.ip6!;
    const far = '2001:db8::2';
    inject(p.a, ptb(p, 1000, A6, far)); // below 1280
    inject(p.a, ptb(p, 1300, '2001:db8::55', far)); // quoted packet not ours
    inject(p.a, ptb(p, 9000, A6, far)); // not lower
    expect(a6.pmtu.counters.belowMinimum).toBe(1);
    expect(a6.counters.ptbNotOurs).toBe(1);
    expect(a6.pmtu.counters.notLower).toBe(1);
    expect(a6.pmtu.get(Buffer.from(parseIpv6(far)).toString('hex'), p.clock.now())).toBe(1500);
    inject(p.a, ptb(p, 1300, A6, far));
    expect(a6.counters.ptbApplied).toBe(1);
    const got: Buffer[] = [];
    p.b.net
      .createSocket()
      .bind(7)
      .on('message', (m: Buffer) => got.push(m));
    const data = new Uint8Array(1400).map((_, i) => i * 7);
    p.a.net.createSocket().send(data, 7, far);
    await runUntil(p, () => got.length === 1);
    expect(Buffer.compare(got[0]!, data)).toBe(0);
    expect(a6.counters.fragCreates).toBe(2);
    expect(p.b.ip6!.frag.reasm.counters.oks).toBe(1);
    // The entry expires after 10 minutes.
    p.clock.advance(600_001);
    expect(a6.pmtu.get(Buffer.from(parseIpv6(far)).toString('hex'), p.clock.now())).toBe(1500);
  });
});
