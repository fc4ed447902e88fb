import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ArpOp,
  EthernetRepr,
  EtherType,
  IpProto,
  Ipv4Repr,
  TcpFlags,
  TcpRepr,
  UdpRepr,
} from '../../src/wire/index.ts';
import type { MemNetIf } from '../../src/netif/index.ts';
import type { Stack } from '../../src/stack/index.ts';
import { makePair, runUntil } from './harness.ts';

const A = 0x0a000001;
const B = 0x0a000002;

function macNum(s: Stack): number {
  let n = 0;
  for (const b of s.netif.mac) n = n * 256 + b;
  return n;
}

function ipFrame(to: Stack, from: Stack, proto: number, l4: Uint8Array): Uint8Array {
  const f = new Uint8Array(34 + l4.length);
  EthernetRepr.emit({ dst: macNum(to), src: macNum(from), vlans: [], etherType: EtherType.IPV4 }, f, 0);
  Ipv4Repr.emit(
    {
      src: A,
      dst: B,
      protocol: proto,
      ttl: 64,
      dscp: 0,
      ecn: 0,
      ident: 7,
      dontFrag: false,
      moreFrags: false,
      fragOffset: 0,
      payloadLen: l4.length,
      options: new Uint8Array(0),
    },
    f,
    14,
  );
  f.set(l4, 34);
  return f;
}

/** Valid frames a → b of every kind the stack parses. */
function samples(to: Stack, from: Stack): Uint8Array[] {
  const arp = new Uint8Array(42);
  EthernetRepr.emit({ dst: 0xffffffffffff, src: macNum(from), vlans: [], etherType: EtherType.ARP }, arp, 0);
  arp.set([0, 1, 8, 0, 6, 4, 0, ArpOp.REQUEST], 14);
  arp.set(from.netif.mac, 22);
  arp.set([10, 0, 0, 1], 28);
  arp.set([10, 0, 0, 2], 38);
  const icmp = new Uint8Array(16);
  icmp[0] = 8;
  let s = 0;
  for (let i = 0; i < 16; i += 2) s += (icmp[i]! << 8) | icmp[i + 1]!;
  s = ~((s & 0xffff) + (s >>> 16)) & 0xffff;
  icmp[2] = s >> 8;
  icmp[3] = s & 0xff;
  const udp = new Uint8Array(8 + 5);
  udp.set([104, 101, 108, 108, 111], 8);
  UdpRepr.emit({ srcPort: 1000, dstPort: 53, payloadLen: 5 }, udp, 0, A, B);
  const syn = {
    srcPort: 1000,
    dstPort: 80,
    seq: 1,
    ack: 0,
    flags: TcpFlags.SYN,
    window: 1000,
    urgent: 0,
    options: [
      { type: 'mss' as const, mss: 1460 },
      { type: 'sackPermitted' as const },
      { type: 'timestamp' as const, tsVal: 1, tsEcr: 0 },
      { type: 'nop' as const },
      { type: 'wscale' as const, shift: 7 },
    ],
    payloadLen: 0,
  };
  const tcp = new Uint8Array(TcpRepr.bufferLen(syn));
  TcpRepr.emit(syn, tcp, 0, A, B);
  return [
    arp,
    ipFrame(to, from, IpProto.ICMP, icmp),
    ipFrame(to, from, IpProto.UDP, udp),
    ipFrame(to, from, IpProto.TCP, tcp),
  ];
}

function feed(to: Stack, frame: Uint8Array): void {
  const m = to.pool.alloc()!;
  m.append(frame);
  to.input(m);
}

describe('hostile input', () => {
  it('valid samples are understood', async () => {
    const p = makePair();
    p.b.net.createServer(() => {}).listen(80);
    const u = p.b.net.createSocket();
    let msgs = 0;
    u.on('message', () => msgs++);
    u.bind(53);
    await runUntil(p, () => true);
    for (const f of samples(p.b, p.a)) feed(p.b, f);
    await runUntil(p, () => msgs === 1);
    const c = p.b.counters;
    // The sample ARP request is answered, and so is every request A itself makes to answer
    // B's replies (when that happens depends on how the turns interleave).
    await runUntil(p, () => c.arpRepliesOut === 1 + p.a.counters.arpRequestsOut, 10_000);
    expect(c.icmpInEchos).toBe(1);
    expect(p.b.tcp.counters.passiveOpens).toBe(1);
    expect(c.rxExceptions).toBe(0);
  });

  it('mutated and truncated frames never throw, leak or corrupt state', async () => {
    const p = makePair();
    p.b.net.createServer(() => {}).listen(80);
    const u = p.b.net.createSocket();
    u.on('message', () => {});
    u.bind(53);
    await runUntil(p, () => true);
    const base = samples(p.b, p.a);
    const inUse = p.b.pool.inUse;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: base.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(),
        (k, muts, cut) => {
          const f = base[k]!.slice();
          for (const [at, v] of muts) f[at % f.length] = v;
          const len = cut % 3 === 0 ? cut % (f.length + 1) : f.length;
          feed(p.b, f.subarray(0, Math.max(0, len)));
        },
      ),
      { numRuns: 3000 },
    );
    const idle = (): boolean =>
      p.b.tcp.connectionCount === 0 &&
      (p.la.inner as MemNetIf).rxQueued === 0 &&
      (p.lb.inner as MemNetIf).rxQueued === 0;
    await runUntil(p, idle);
    expect(p.b.counters.rxExceptions).toBe(0);
    // Every received frame was freed; only answers still queued for ARP may hold buffers.
    expect(p.b.pool.inUse - inUse).toBeLessThanOrEqual(p.b.ipv4.arp.cache.entries.size * 3);
    const c = p.b.counters;
    const drops =
      c.rxEthErrors +
      c.arpErrors +
      c.ipInHdrErrors +
      c.ipInAddrErrors +
      c.icmpInErrors +
      c.udpInErrors +
      c.udpInCsumErrors +
      p.b.tcp.counters.inErrs +
      p.b.tcp.counters.csumErrors;
    expect(drops).toBeGreaterThan(100);
  });

  it('frames for other hosts and other EtherTypes are dropped and counted', () => {
    const p = makePair();
    const [, icmp] = samples(p.b, p.a);
    const other = icmp!.slice();
    other[5] = 0x99;
    feed(p.b, other);
    expect(p.b.counters.rxOtherHost).toBe(1);
    const ipx = icmp!.slice();
    ipx[12] = 0x81;
    ipx[13] = 0x37;
    feed(p.b, ipx);
    expect(p.b.counters.rxUnknownProto).toBe(1);
    expect(p.b.counters.rxExceptions).toBe(0);
  });

  it.each([
    ['without SYN cookies: drops are counted', false],
    ['with SYN cookies: the overflow gets stateless cookie SYN-ACKs', true],
  ] as const)('SYN flood: the SYN queue is bounded by the backlog %s', async (_name, cookies) => {
    const p = makePair();
    // Cookies (on by default, Linux tcp_syncookies = 1) answer what overflows the queue without
    // keeping state; off, the overflow is dropped and counted.
    p.b.tcp.synCookies = cookies;
    let accepted = 0;
    p.b.net.createServer(() => accepted++).listen(80, 4);
    await runUntil(p, () => true);
    const syn = samples(p.b, p.a)[3]!;
    for (let port = 2000; port < 2010; port++) {
      const f = syn.slice();
      f[34] = port >> 8;
      f[35] = port & 0xff;
      // Fix the TCP checksum for the new source port (RFC 1624 style, recomputed here).
      f[50] = 0;
      f[51] = 0;
      let s = (A >>> 16) + (A & 0xffff) + (B >>> 16) + (B & 0xffff) + 6 + (f.length - 34);
      for (let i = 34; i < f.length; i += 2) s += (f[i]! << 8) | (f[i + 1] ?? 0);
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      f[50] = (~s >> 8) & 0xff;
      f[51] = ~s & 0xff;
      feed(p.b, f);
    }
    expect(p.b.tcp.counters.passiveOpens).toBe(4);
    expect(p.b.tcp.connectionCount).toBe(4);
    expect(p.b.tcp.counters.listenDrops).toBe(cookies ? 0 : 6);
    expect(p.b.tcp.counters.syncookiesSent).toBe(cookies ? 6 : 0);
    // The half-open connections time out (no final ACK ever comes) and free their slots.
    await runUntil(p, () => p.b.tcp.connectionCount === 0);
    expect(accepted).toBe(0);
  });
});
