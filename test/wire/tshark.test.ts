// The dissector, views and emitters against tshark: a few hundred frames built from random reprs
// (VLAN stacks, IPv4 options, IPv6 extension headers, TCP options, ICMP errors with quotes, NDP)
// are written to a pcap; every length, offset, option value and checksum verdict tshark reports
// must be what our parsers read from the same bytes. Needs tshark: skips with a reason, except
// under CI=true.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ArpRepr,
  EthernetRepr,
  EthernetView,
  FrameInfo,
  Icmpv4Repr,
  Icmpv4View,
  Ipv4View,
  Ipv6View,
  Icmpv6Repr,
  Icmpv6View,
  Ipv4Repr,
  Ipv6Repr,
  TcpOptions,
  TcpRepr,
  TcpView,
  UdpRepr,
  UdpView,
  dissectFrame,
  ipv4ToString,
  ipv6ToString,
  type Icmpv6Repr as I6,
  type Ipv6ExtHeader,
  type NdpOption,
  type TcpOption,
} from '../../src/wire/index.ts';

function tsharkMissing(): boolean {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    if (process.env.CI === 'true')
      throw new Error('wire tshark comparison: tshark is required under CI=true');
    console.warn('skipping wire tshark comparison: tshark not installed');
    return true;
  }
}

/** A minimal pcap (LINKTYPE_ETHERNET, µs, little-endian): enough for tshark. */
function pcap(frames: Uint8Array[]): Uint8Array {
  const size = 24 + frames.reduce((n, f) => n + 16 + f.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, 65535, true);
  v.setUint32(20, 1, true);
  let o = 24;
  frames.forEach((f, i) => {
    v.setUint32(o, i, true);
    v.setUint32(o + 8, f.length, true);
    v.setUint32(o + 12, f.length, true);
    out.set(f, o + 16);
    o += 16 + f.length;
  });
  return out;
}

const u32 = fc.nat(0xffffffff);
const a16 = fc.uint8Array({ minLength: 16, maxLength: 16 });
const port = fc.integer({ min: 49152, max: 65535 });
const payload = fc.uint8Array({ maxLength: 64 });

const tcpOpt: fc.Arbitrary<TcpOption> = fc.oneof(
  fc.constant({ type: 'nop' as const }),
  fc.nat(0xffff).map((mss) => ({ type: 'mss' as const, mss })),
  fc.nat(14).map((shift) => ({ type: 'wscale' as const, shift })),
  fc.constant({ type: 'sackPermitted' as const }),
  fc
    .array(fc.tuple(u32, u32), { minLength: 1, maxLength: 3 })
    .map((blocks) => ({ type: 'sack' as const, blocks })),
  fc.record({ type: fc.constant('timestamp' as const), tsVal: u32, tsEcr: u32 }),
);
// at most one of each kind, as real stacks send (tshark reports repeated kinds differently)
const tcpOpts = fc
  .array(tcpOpt, { maxLength: 5 })
  .map((os) => os.filter((o, i) => o.type === 'nop' || os.findIndex((p) => p.type === o.type) === i))
  .filter((os) => TcpRepr.bufferLen({ options: os } as never) <= 60);

type L4 =
  | {
      p: 'tcp';
      srcPort: number;
      dstPort: number;
      seq: number;
      ack: number;
      flags: number;
      window: number;
      options: TcpOption[];
      data: Uint8Array;
    }
  | { p: 'udp'; srcPort: number; dstPort: number; data: Uint8Array }
  | { p: 'icmp'; msg: Icmpv4Repr }
  | { p: 'icmpv6'; msg: I6 };

const l4Common = fc.oneof(
  fc.record({
    p: fc.constant('tcp' as const),
    srcPort: port,
    dstPort: port,
    seq: u32,
    ack: u32,
    flags: fc.constantFrom(0x02, 0x12, 0x10, 0x18, 0x11),
    window: fc.nat(0xffff),
    options: tcpOpts,
    data: payload,
  }),
  fc.record({ p: fc.constant('udp' as const), srcPort: port, dstPort: port, data: payload }),
);
const ndpOpts = fc.array(
  fc.oneof(
    fc.record({ type: fc.constant('sourceLinkAddr' as const), addr: fc.nat(0xffffffffffff) }),
    fc.record({ type: fc.constant('mtu' as const), mtu: fc.integer({ min: 1280, max: 9000 }) }),
  ),
  { maxLength: 2 },
);
const icmp6: fc.Arbitrary<L4> = fc
  .oneof(
    fc.record({
      kind: fc.constant('echoRequest' as const),
      ident: fc.nat(0xffff),
      seq: fc.nat(0xffff),
      data: payload,
    }),
    fc.record({ kind: fc.constant('neighborSolicit' as const), target: a16, options: ndpOpts }),
    fc.record({ kind: fc.constant('routerSolicit' as const), options: ndpOpts }),
    fc.record({
      kind: fc.constant('neighborAdvert' as const),
      flags: fc.constantFrom(0x40000000, 0x60000000, 0xe0000000),
      target: a16,
      options: ndpOpts,
    }),
    fc.record({
      kind: fc.constant('routerAdvert' as const),
      curHopLimit: fc.nat(255),
      flags: fc.constantFrom(0, 0x80, 0xc0),
      routerLifetime: fc.nat(0xffff),
      reachableTime: u32,
      retransTimer: u32,
      options: fc.tuple(ndpOpts, fc.nat(128), a16).map(([os, prefixLen, prefix]) => [
        ...os,
        {
          type: 'prefixInfo' as const,
          prefixLen,
          flags: 0xc0,
          validLifetime: 86400,
          preferredLifetime: 14400,
          prefix,
        },
      ]),
    }),
    fc
      .tuple(fc.integer({ min: 1280, max: 65535 }), a16, a16)
      .map(([mtu, qs, qd]) => ({ kind: 'packetTooBig' as const, mtu, data: quote6(qs, qd) })),
  )
  .map((msg) => ({ p: 'icmpv6' as const, msg }));

/** An IPv4 header (experimental protocol 253, so tshark stops there) and 8 bytes, as ICMP quotes. */
function quote4(src: number, dst: number): Uint8Array {
  const q = new Uint8Array(28).fill(0xaa);
  Ipv4Repr.emit(
    {
      src,
      dst,
      protocol: 253,
      ttl: 1,
      dscp: 0,
      ecn: 0,
      ident: 7,
      dontFrag: true,
      moreFrags: false,
      fragOffset: 0,
      payloadLen: 1400,
      options: new Uint8Array(0),
    },
    q,
    0,
  );
  return q;
}
function quote6(src: Uint8Array, dst: Uint8Array): Uint8Array {
  const q = new Uint8Array(48).fill(0xaa);
  Ipv6Repr.emit(
    {
      src,
      dst,
      nextHeader: 253,
      hopLimit: 1,
      trafficClass: 0,
      flowLabel: 0,
      extHeaders: [],
      payloadLen: 1400,
    },
    q,
    0,
  );
  return q;
}
const icmp4 = fc
  .oneof(
    fc.record({
      kind: fc.constant('echoRequest' as const),
      ident: fc.nat(0xffff),
      seq: fc.nat(0xffff),
      data: payload,
    }),
    fc.tuple(fc.integer({ min: 68, max: 65535 }), u32, u32).map(([nextHopMtu, qs, qd]) => ({
      kind: 'destUnreachable' as const,
      code: 4,
      nextHopMtu,
      data: quote4(qs, qd),
    })),
  )
  .map((msg) => ({ p: 'icmp' as const, msg }));

const padN = (k: number): Uint8Array => {
  const o = new Uint8Array(8 * k + 6);
  o[0] = 1;
  o[1] = o.length - 2;
  return o;
};
const ext: fc.Arbitrary<Ipv6ExtHeader[]> = fc
  .tuple(fc.option(fc.nat(1)), fc.option(fc.nat(1)))
  .map(([h, d]) => [
    ...(h === null ? [] : [{ type: 0 as const, options: padN(h) }]),
    ...(d === null ? [] : [{ type: 60 as const, options: padN(d) }]),
  ]);

const frameArb = fc.record({
  vlans: fc.array(fc.integer({ min: 1, max: 4094 }), { maxLength: 2 }),
  l3: fc.oneof(
    fc.record({
      v: fc.constant(4 as const),
      src: u32,
      dst: u32,
      ttl: fc.integer({ min: 1, max: 255 }),
      ident: fc.nat(0xffff),
      nops: fc.nat(2),
      l4: fc.oneof(l4Common, icmp4),
    }),
    fc.record({
      v: fc.constant(6 as const),
      src: a16.map((a) => ((a[0] = 0x20), a)),
      dst: a16.map((a) => ((a[0] = 0x20), a)),
      ext,
      l4: fc.oneof(l4Common, icmp6),
    }),
    fc.record({
      v: fc.constant('arp' as const),
      op: fc.constantFrom(1, 2),
      spa: u32,
      tpa: u32,
      sha: fc.nat(0xffffffffffff),
    }),
  ),
});

type Spec = typeof frameArb extends fc.Arbitrary<infer T> ? T : never;

function build(s: Spec): Uint8Array {
  const f = new Uint8Array(400);
  const etherType = s.l3.v === 4 ? 0x0800 : s.l3.v === 6 ? 0x86dd : 0x0806;
  let o = EthernetRepr.emit(
    {
      dst: 0x020000000002,
      src: 0x020000000001,
      vlans: s.vlans.map((v) => ({ tpid: 0x8100, tci: v })),
      etherType,
    },
    f,
    0,
  );
  const l3 = s.l3;
  if (l3.v === 'arp') {
    o += ArpRepr.emit({ op: l3.op, senderHw: l3.sha, senderIp: l3.spa, targetHw: 0, targetIp: l3.tpa }, f, o);
    return f.slice(0, Math.max(o, 60));
  }
  const l4 = l3.l4 as L4;
  let l4len: number;
  const tcpRepr = (t: Extract<L4, { p: 'tcp' }>) => ({ ...t, urgent: 0, payloadLen: t.data.length });
  switch (l4.p) {
    case 'tcp':
      l4len = TcpRepr.bufferLen(tcpRepr(l4)) + l4.data.length;
      break;
    case 'udp':
      l4len = 8 + l4.data.length;
      break;
    case 'icmp':
      l4len = Icmpv4Repr.bufferLen(l4.msg);
      break;
    case 'icmpv6':
      l4len = Icmpv6Repr.bufferLen(l4.msg);
  }
  const proto = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 }[l4.p];
  let src: number | Uint8Array;
  let dst: number | Uint8Array;
  if (l3.v === 4) {
    src = l3.src;
    dst = l3.dst;
    const options = new Uint8Array(4 * l3.nops).fill(1);
    o += Ipv4Repr.emit(
      {
        src,
        dst,
        protocol: proto,
        ttl: l3.ttl,
        dscp: 0,
        ecn: 0,
        ident: l3.ident,
        dontFrag: true,
        moreFrags: false,
        fragOffset: 0,
        payloadLen: l4len,
        options,
      },
      f,
      o,
    );
  } else {
    src = l3.src;
    dst = l3.dst;
    o += Ipv6Repr.emit(
      {
        src,
        dst,
        nextHeader: proto,
        hopLimit: 64,
        trafficClass: 0,
        flowLabel: 0,
        extHeaders: l3.ext,
        payloadLen: l4len,
      },
      f,
      o,
    );
  }
  switch (l4.p) {
    case 'tcp': {
      const r = tcpRepr(l4);
      f.set(l4.data, o + TcpRepr.bufferLen(r));
      TcpRepr.emit(r, f, o, src, dst);
      break;
    }
    case 'udp':
      f.set(l4.data, o + 8);
      UdpRepr.emit({ srcPort: l4.srcPort, dstPort: l4.dstPort, payloadLen: l4.data.length }, f, o, src, dst);
      break;
    case 'icmp':
      Icmpv4Repr.emit(l4.msg, f, o);
      break;
    case 'icmpv6':
      Icmpv6Repr.emit(l4.msg, f, o, src as Uint8Array, dst as Uint8Array);
  }
  return f.slice(0, Math.max(o + l4len, 60));
}

const FIELDS = [
  'vlan.id',
  'ip.hdr_len',
  'ip.len',
  'ip.checksum.status',
  'ip.src',
  'ipv6.plen',
  'ipv6.src',
  'tcp.hdr_len',
  'tcp.len',
  'tcp.checksum.status',
  'tcp.options.mss_val',
  'tcp.options.wscale.shift',
  'tcp.options.sack_perm',
  'tcp.options.timestamp.tsval',
  'tcp.options.timestamp.tsecr',
  'tcp.options.sack_le',
  'tcp.options.sack_re',
  'udp.length',
  'udp.checksum.status',
  'icmp.checksum.status',
  'icmpv6.checksum.status',
  'icmpv6.nd.ns.target_address',
  'icmpv6.opt.mtu',
  'icmp.mtu',
  'icmpv6.mtu',
  'icmpv6.nd.na.target_address',
  'icmpv6.nd.na.flag.s',
  'icmpv6.nd.ra.router_lifetime',
  'icmpv6.opt.prefix',
  'icmpv6.opt.prefix.length',
  'arp.opcode',
  'arp.src.proto_ipv4',
] as const;
type Row = Record<(typeof FIELDS)[number], string>;

function tshark(path: string): Row[] {
  const args = ['-r', path, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  for (const o of [
    'ip.check_checksum:TRUE',
    'tcp.check_checksum:TRUE',
    'udp.check_checksum:TRUE',
    'tcp.relative_sequence_numbers:FALSE',
    'tcp.analyze_sequence_numbers:FALSE',
  ])
    args.push('-o', o);
  for (const f of FIELDS) args.push('-e', f);
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const cols = l.split('\t');
      return Object.fromEntries(FIELDS.map((f, i) => [f, cols[i] ?? ''])) as Row;
    });
}

/** What our parsers read from the frame, in tshark's field vocabulary (checksum status 1 = good). */
function ours(frame: Uint8Array): Row {
  const r = Object.fromEntries(FIELDS.map((f) => [f, ''])) as Row;
  const info = new FrameInfo();
  expect(dissectFrame(frame, 0, frame.length, info)).toBeNull();
  const eth = new EthernetView(frame).checked();
  r['vlan.id'] = Array.from({ length: eth.vlanCount }, (_, i) => String(eth.tci(i) & 0xfff)).join(',');
  if (info.l3Kind === 'arp') {
    const b = frame;
    const o = info.l3Off;
    r['arp.opcode'] = String((b[o + 6]! << 8) | b[o + 7]!);
    r['arp.src.proto_ipv4'] = ipv4ToString(
      ((b[o + 14]! << 24) | (b[o + 15]! << 16) | (b[o + 16]! << 8) | b[o + 17]!) >>> 0,
    );
    return r;
  }
  let pseudo: (proto: number, len: number) => number;
  if (info.l3Kind === 'ipv4') {
    r['ip.hdr_len'] = String(info.l3HdrLen);
    r['ip.len'] = String(info.l3Len);
    r['ip.checksum.status'] = '1';
    const b = frame;
    const o = info.l3Off + 12;
    r['ip.src'] = ipv4ToString(((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0);
    pseudo = (p, l) => {
      let s = p + l;
      for (let i = 0; i < 8; i += 2) s += (b[o + i]! << 8) | b[o + i + 1]!;
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      return s;
    };
  } else {
    r['ipv6.plen'] = String(info.l3Len - 40);
    r['ipv6.src'] = ipv6ToString(frame, info.l3Off + 8);
    const o = info.l3Off + 8;
    pseudo = (p, l) => {
      let s = p + l;
      for (let i = 0; i < 32; i += 2) s += (frame[o + i]! << 8) | frame[o + i + 1]!;
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      return s;
    };
  }
  const l4len = info.l3End - info.l4Off;
  if (info.l4Proto === 6) {
    const t = new TcpView(frame, info.l4Off, l4len).checked();
    r['tcp.hdr_len'] = String(info.l4HdrLen);
    r['tcp.len'] = String(info.payloadLen);
    r['tcp.checksum.status'] = t.verifyChecksum(pseudo(6, l4len)) ? '1' : '0';
    const o = new TcpOptions();
    expect(t.parseOptions(o)).toBeNull();
    if (o.mss >= 0) r['tcp.options.mss_val'] = String(o.mss);
    if (o.wscale >= 0) r['tcp.options.wscale.shift'] = String(o.wscale);
    if (o.sackPermitted) r['tcp.options.sack_perm'] = '4,2';
    if (o.hasTimestamp) {
      r['tcp.options.timestamp.tsval'] = String(o.tsVal);
      r['tcp.options.timestamp.tsecr'] = String(o.tsEcr);
    }
    r['tcp.options.sack_le'] = Array.from(o.sackLeft.subarray(0, o.sackCount)).join(',');
    r['tcp.options.sack_re'] = Array.from(o.sackRight.subarray(0, o.sackCount)).join(',');
  } else if (info.l4Proto === 17) {
    const u = new UdpView(frame, info.l4Off, l4len).checked();
    r['udp.length'] = String(u.length);
    r['udp.checksum.status'] = u.verifyChecksum(pseudo(17, u.length)) ? '1' : '0';
  } else if (info.l4Proto === 1) {
    const v = new Icmpv4View(frame, info.l4Off, l4len).checked();
    r['icmp.checksum.status'] = v.verifyChecksum() ? '1' : '0';
    const m = Icmpv4Repr.parse(v);
    if (m.kind === 'destUnreachable') {
      r['icmp.mtu'] = String(m.nextHopMtu);
      const q = new Ipv4View(frame, v.dataOff, v.dataLen);
      expect(q.checkHeader()).toBeNull();
      r['ip.hdr_len'] += `,${q.headerLen}`;
      r['ip.len'] += `,${q.totalLength}`;
      r['ip.checksum.status'] += q.verifyChecksum() ? ',1' : ',0';
      r['ip.src'] += `,${ipv4ToString(q.src)}`;
    }
  } else if (info.l4Proto === 58) {
    const v = new Icmpv6View(frame, info.l4Off, l4len).checked();
    r['icmpv6.checksum.status'] = v.verifyChecksum(pseudo(58, l4len)) ? '1' : '0';
    const m = Icmpv6Repr.parse(v);
    if (m.kind === 'neighborSolicit') r['icmpv6.nd.ns.target_address'] = ipv6ToString(m.target);
    if (m.kind === 'neighborAdvert') {
      r['icmpv6.nd.na.target_address'] = ipv6ToString(m.target);
      r['icmpv6.nd.na.flag.s'] = m.flags & 0x40000000 ? '1' : '0';
    }
    if (m.kind === 'routerAdvert') r['icmpv6.nd.ra.router_lifetime'] = String(m.routerLifetime);
    if (m.kind === 'packetTooBig') {
      r['icmpv6.mtu'] = String(m.mtu);
      const q = new Ipv6View(frame, v.dataOff, v.dataLen);
      expect(q.checkQuoted()).toBeNull();
      r['ipv6.plen'] += `,${q.payloadLength}`;
      r['ipv6.src'] += `,${ipv6ToString(frame, q.srcOff)}`;
    }
    if ('options' in m) {
      const pick = (f: (o: NdpOption) => string | null): string =>
        m.options
          .flatMap((o) => {
            const x = f(o);
            return x === null ? [] : [x];
          })
          .join(',');
      r['icmpv6.opt.mtu'] = pick((o) => (o.type === 'mtu' ? String(o.mtu) : null));
      r['icmpv6.opt.prefix'] = pick((o) => (o.type === 'prefixInfo' ? ipv6ToString(o.prefix) : null));
      r['icmpv6.opt.prefix.length'] = pick((o) => (o.type === 'prefixInfo' ? String(o.prefixLen) : null));
    }
  }
  return r;
}

const skipped = tsharkMissing();

describe.skipIf(skipped)('wire vs tshark', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ptnet-wire-tshark-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('reads 1000 random frames exactly as tshark does', () => {
    const frames = fc.sample(frameArb, { numRuns: 1000, seed: 0x5eed }).map(build);
    const path = join(tmp, 'random.pcap');
    writeFileSync(path, pcap(frames));
    const want = tshark(path);
    expect(want.length).toBe(frames.length);
    // every field must be exercised, or the comparison proves nothing
    for (const f of FIELDS) expect(want.filter((w) => w[f] !== '').length, f).toBeGreaterThanOrEqual(5);
    frames.forEach((f, i) => {
      // tshark prints the SACK-permitted option's kind,length bytes; only presence matters here
      const w = { ...want[i]! };
      if (w['tcp.options.sack_perm'] !== '') w['tcp.options.sack_perm'] = '4,2';
      expect(ours(f), `frame ${i + 1}`).toEqual(w);
    });
  });
});
