// The two TAP write behaviours of src/vnethdr/kernel-behaviour.ts, case by case: for each GSO
// write without NEEDS_CSUM, what the upstream source does and what a probing kernel does. The
// verdicts of both columns were measured on kernels of each kind (test/vnethdr/tap-oracle.test.ts
// checks whichever one runs the suite); headers with NEEDS_CSUM must not depend on the behaviour.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gsoSegment, SegmentList, TsoError } from '../../src/tso/index.ts';
import {
  FlowKeysBasic,
  PROBING_TAP_KERNEL,
  TapWriteInfo,
  UPSTREAM_TAP_KERNEL,
  VIRTIO_NET_HDR_F_NEEDS_CSUM as NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_TCPV4 as TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6 as TCPV6,
  VIRTIO_NET_HDR_GSO_UDP as UFO,
  VIRTIO_NET_HDR_GSO_UDP_L4 as USO,
  describeTapKernel,
  flowDissectBasic,
  tapVerdict,
  validateTapWrite,
  type TapKernelBehaviour,
  type VnetHdrErrorCode,
} from '../../src/vnethdr/index.ts';
import { buildFrame, tapWrite, type FrameSpec, type HdrSpec } from './frames.ts';

const info = new TapWriteInfo();

function verdict(k: TapKernelBehaviour, h: HdrSpec, frame: Uint8Array): VnetHdrErrorCode | null {
  const w = tapWrite(h, frame);
  return validateTapWrite(w, 0, w.length, 12, info, k);
}

function frame(spec: FrameSpec, patch?: (b: Uint8Array) => void): Uint8Array {
  const b = buildFrame(spec).bytes;
  patch?.(b);
  return b;
}

const tcp4: HdrSpec = { gsoType: TCPV4, gsoSize: 100 };
const tcp6: HdrSpec = { gsoType: TCPV6, gsoSize: 100 };
const ufo: HdrSpec = { gsoType: UFO, gsoSize: 1000 };

interface Row {
  name: string;
  h: HdrSpec;
  f: Uint8Array;
  upstream: VnetHdrErrorCode | null;
  probing: VnetHdrErrorCode | null;
}

const rows: Row[] = [
  { name: 'IPv4/TCP', h: tcp4, f: frame({ payload: 3000 }), upstream: null, probing: null },
  {
    name: 'ARP',
    h: tcp4,
    f: frame({ etherType: 0x0806, payload: 3000 }),
    upstream: 'DROP_GSO_PROTO_MISMATCH',
    probing: 'GSO_PROTO_MISMATCH',
  },
  {
    name: 'IPv4/UDP under TCPV4',
    h: tcp4,
    f: frame({ proto: 'udp', payload: 3000 }),
    upstream: 'DROP_GSO_PROTO_MISMATCH',
    probing: 'GSO_L4_MISMATCH',
  },
  {
    name: 'IPv6/TCP under TCPV4',
    h: tcp4,
    f: frame({ v6: true, payload: 3000 }),
    upstream: 'DROP_GSO_PROTO_MISMATCH',
    probing: 'GSO_PROTO_MISMATCH',
  },
  { name: 'VLAN IPv4/TCP', h: tcp4, f: frame({ vlans: [5], payload: 3000 }), upstream: null, probing: null },
  {
    name: 'three VLAN tags, the outer 802.1ad',
    h: tcp4,
    f: frame({ vlans: [5, 6, 7], payload: 3000 }, (b) => b.set([0x88, 0xa8], 12)),
    upstream: null,
    probing: null,
  },
  {
    name: 'VLAN IPv4/TCP under TCPV6 (the inner EtherType is matched)',
    h: tcp6,
    f: frame({ vlans: [5], payload: 3000 }),
    upstream: 'DROP_GSO_PROTO_MISMATCH',
    probing: 'GSO_PROTO_MISMATCH',
  },
  {
    name: 'payload = gso_size: not GSO once the transport header is known',
    h: tcp4,
    f: frame({ payload: 100 }),
    upstream: 'DROP_GSO_TOO_SMALL',
    probing: null,
  },
  {
    name: 'IPv4 options move the transport header: payload < gso_size',
    h: tcp4,
    f: frame({ ipOpts: 40, payload: 90 }),
    upstream: 'DROP_GSO_TOO_SMALL',
    probing: null,
  },
  {
    name: 'TCP options are not in the dissected offset: still GSO, dropped at segmentation',
    h: tcp4,
    f: frame({ tcpOpts: 40, payload: 90 }),
    upstream: 'DROP_GSO_TOO_SMALL',
    probing: 'DROP_GSO_TOO_SMALL',
  },
  {
    name: 'IPv6 destination options walked',
    h: tcp6,
    f: frame({ v6: true, v6Ext: 24, payload: 3000 }),
    upstream: null,
    probing: null,
  },
  {
    name: 'IPv6 destination options, small payload',
    h: tcp6,
    f: frame({ v6: true, v6Ext: 24, payload: 90 }),
    upstream: 'DROP_GSO_TOO_SMALL',
    probing: null,
  },
  {
    name: 'IPv6 Fragment header: the dissector names TCP, segmentation has no handler for 44',
    h: tcp6,
    f: frame({ v6: true, v6Ext: 8, payload: 3000 }, (b) => b.set([44], 20)),
    upstream: 'DROP_GSO_PROTO_MISMATCH',
    probing: 'DROP_GSO_PROTO_MISMATCH',
  },
  {
    name: 'IP-in-IP whose inner header is a TCP header (ihl 0)',
    h: tcp4,
    f: frame({ payload: 3000 }, (b) => b.set([4], 23)),
    upstream: 'DROP_GSO_PROTO_MISMATCH',
    probing: 'GSO_NO_TRANSPORT',
  },
  {
    name: 'IPv4 ihl 4',
    h: tcp4,
    f: frame({ payload: 3000 }, (b) => b.set([0x44], 14)),
    upstream: 'DROP_GSO_BAD_HEADERS',
    probing: 'GSO_NO_TRANSPORT',
  },
  {
    name: 'UFO, IPv4 ihl 4 (retried as IPv6, which names another protocol)',
    h: ufo,
    f: frame({ proto: 'udp', payload: 3000 }, (b) => b.set([0x44], 14)),
    upstream: 'DROP_GSO_BAD_HEADERS',
    probing: 'GSO_L4_MISMATCH',
  },
  {
    name: 'UFO over IPv6',
    h: ufo,
    f: frame({ v6: true, proto: 'udp', payload: 3000 }),
    upstream: null,
    probing: null,
  },
  {
    name: 'UFO on a TCP frame',
    h: ufo,
    f: frame({ payload: 3000 }),
    upstream: 'DROP_GSO_PROTO_MISMATCH',
    probing: 'GSO_L4_MISMATCH',
  },
  {
    name: 'UFO just over gso_size from the frame start, not from the UDP header',
    h: { gsoType: UFO, gsoSize: 1480 },
    f: frame({ proto: 'udp', payload: 1470 }),
    upstream: 'DROP_GSO_TOO_SMALL',
    probing: null,
  },
  {
    name: 'EtherType 0x0801',
    h: tcp4,
    f: frame({ etherType: 0x0801, payload: 3000 }),
    upstream: 'DROP_GSO_PROTO_MISMATCH',
    probing: 'GSO_PROTO_MISMATCH',
  },
  {
    name: 'a truncated VLAN tag',
    h: tcp4,
    f: frame({ vlans: [5], payload: 3000 }).subarray(0, 16),
    upstream: 'GSO_HEADERS_TRUNCATED',
    probing: 'GSO_NO_TRANSPORT',
  },
  {
    // upstream counts IP + TCP minimum (40) from the frame start, so 44 bytes pass, as a plain frame
    name: 'IPv4 header without room for the TCP header',
    h: tcp4,
    f: frame({ payload: 0 }).subarray(0, 14 + 20 + 10),
    upstream: null,
    probing: 'GSO_HEADERS_TRUNCATED',
  },
];

describe('TAP write behaviours: GSO without NEEDS_CSUM', () => {
  it.each(rows)('$name', (r) => {
    expect(verdict(UPSTREAM_TAP_KERNEL, r.h, r.f)).toBe(r.upstream);
    expect(verdict(PROBING_TAP_KERNEL, r.h, r.f)).toBe(r.probing);
  });

  it('EINVAL at write() for every probing refusal, a silent drop for the upstream ones', () => {
    for (const r of rows) {
      if (r.probing !== null && !r.probing.startsWith('DROP_')) expect(tapVerdict(r.probing)).toBe('einval');
      if (r.upstream?.startsWith('DROP_')) expect(tapVerdict(r.upstream)).toBe('dropped');
    }
  });

  it('names each behaviour in one line', () => {
    expect(describeTapKernel(UPSTREAM_TAP_KERNEL)).toMatch(/^probeNoCsumGso=false /);
    expect(describeTapKernel(PROBING_TAP_KERNEL)).toMatch(/^probeNoCsumGso=true /);
  });
});

describe('src/tso follows the same behaviour', () => {
  const out = new SegmentList();
  function tso(k: TapKernelBehaviour, r: Row): string | number {
    try {
      const h = r.h;
      const g = {
        flags: h.flags ?? 0,
        gsoType: h.gsoType ?? 0,
        hdrLen: h.hdrLen ?? 0,
        gsoSize: h.gsoSize ?? 0,
        csumStart: h.csumStart ?? 0,
        csumOffset: h.csumOffset ?? 0,
      };
      return gsoSegment(g, r.f, out, { kernel: k });
    } catch (e) {
      if (!(e instanceof TsoError)) throw e;
      return e.verdict;
    }
  }
  it.each(rows)('$name', (r) => {
    for (const [k, want] of [
      [UPSTREAM_TAP_KERNEL, r.upstream],
      [PROBING_TAP_KERNEL, r.probing],
    ] as const) {
      const got = tso(k, r);
      if (want === null) expect(typeof got).toBe('number');
      else expect(got).toBe(want.startsWith('DROP_') ? 'drop' : 'reject');
    }
  });
});

describe('the behaviour only matters without NEEDS_CSUM', () => {
  it('property: headers with NEEDS_CSUM or without GSO get the same verdict from both', () => {
    fc.assert(
      fc.property(
        fc.record({
          gsoType: fc.constantFrom(0, TCPV4, TCPV6, UFO, USO, TCPV4 | 0x80),
          gsoSize: fc.integer({ min: 0, max: 3000 }),
          csumStart: fc.integer({ min: 0, max: 120 }),
          csumOffset: fc.constantFrom(6, 16, 0, 2),
          hdrLen: fc.integer({ min: 0, max: 200 }),
          needs: fc.boolean(),
        }),
        fc.record({
          v6: fc.boolean(),
          proto: fc.constantFrom('tcp' as const, 'udp' as const, 'icmp' as const),
          payload: fc.integer({ min: 0, max: 3000 }),
          vlans: fc.constantFrom<number[][]>([], [3]),
        }),
        (hh, spec) => {
          const h: HdrSpec = { ...hh, flags: hh.needs ? NEEDS_CSUM : 0 };
          if (!hh.needs) h.gsoType = 0;
          const f = frame(spec);
          expect(verdict(PROBING_TAP_KERNEL, h, f)).toBe(verdict(UPSTREAM_TAP_KERNEL, h, f));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('flowDissectBasic (skb_flow_dissect_flow_keys_basic, flags 0)', () => {
  const keys = new FlowKeysBasic();
  const dissect = (b: Uint8Array, proto: number, nh = 14): FlowKeysBasic =>
    flowDissectBasic(b, 0, b.length, proto, nh, keys);

  it('finds the transport header behind IPv4 options, VLAN tags and IPv6 extension headers', () => {
    expect(dissect(frame({ ipOpts: 8 }), 0x0800)).toMatchObject({ ok: true, thoff: 42, ipProto: 6 });
    expect(dissect(frame({ vlans: [1, 2] }), 0x8100)).toMatchObject({ ok: true, thoff: 42, ipProto: 6 });
    expect(dissect(frame({ v6: true, v6Ext: 16, proto: 'udp' }), 0x86dd)).toMatchObject({
      ok: true,
      thoff: 14 + 40 + 16,
      ipProto: 17,
      nProto: 0x86dd,
    });
  });

  it('stops at an IPv4 fragment with its protocol, and at an IPv6 Fragment header', () => {
    const frag4 = frame({ payload: 100 }, (b) => b.set([0x20, 0x00], 20)); // MF
    expect(dissect(frag4, 0x0800)).toMatchObject({ ok: true, thoff: 34, ipProto: 6 });
    const frag6 = frame({ v6: true, v6Ext: 8, payload: 100 }, (b) => b.set([44], 20));
    expect(dissect(frag6, 0x86dd)).toMatchObject({ ok: true, thoff: 62, ipProto: 6 });
  });

  it('follows IP-in-IP and GRE (with key, and Ethernet bridging) to the inner transport header', () => {
    const inner = frame({ proto: 'udp', payload: 10 }).subarray(14);
    const ipip = new Uint8Array(14 + 20 + inner.length);
    ipip.set(frame({ payload: 0 }).subarray(0, 34));
    ipip[23] = 4;
    ipip.set(inner, 34);
    expect(dissect(ipip, 0x0800)).toMatchObject({ ok: true, thoff: 34 + 20, ipProto: 17, nProto: 0x0800 });
    const gre = new Uint8Array(14 + 20 + 8 + 14 + inner.length);
    gre.set(frame({ payload: 0 }).subarray(0, 34));
    gre[23] = 47;
    gre.set([0x20, 0x00, 0x65, 0x58, 0, 0, 0, 9], 34); // K bit, ETH_P_TEB, key 9
    gre.set([0x08, 0x00], 34 + 8 + 12);
    gre.set(inner, 34 + 8 + 14);
    expect(dissect(gre, 0x0800)).toMatchObject({ ok: true, thoff: 34 + 8 + 14 + 20, ipProto: 17 });
  });

  it('fails on a short or ihl < 5 IPv4 header and an unknown EtherType; ARP ends without a protocol', () => {
    expect(dissect(frame({}).subarray(0, 30), 0x0800).ok).toBe(false);
    expect(
      dissect(
        frame({}, (b) => b.set([0x44], 14)),
        0x0800,
      ).ok,
    ).toBe(false);
    expect(dissect(frame({}), 0x1234).ok).toBe(false);
    expect(dissect(frame({ etherType: 0x0806 }), 0x0806)).toMatchObject({ ok: true, ipProto: 0, thoff: 14 });
  });

  it('stops after MAX_FLOW_DISSECT_HDRS steps: a chain of 20 hop-by-hop headers', () => {
    const b = new Uint8Array(14 + 40 + 20 * 8);
    b[20] = 0;
    for (let i = 0; i < 20; i++) b[54 + i * 8] = i === 19 ? 6 : 0;
    const k = dissect(b, 0x86dd);
    expect(k.ok).toBe(true);
    // 15 more headers allowed after the first: ip_proto is still a hop-by-hop header
    expect(k.ipProto).toBe(0);
    expect(k.thoff).toBe(54 + 16 * 8);
  });

  it('property: random bytes from any start never throw and thoff stays within the frame', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.constantFrom(0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806, 0),
        fc.integer({ min: 0, max: 40 }),
        (b, proto, nh) => {
          const k = flowDissectBasic(b, 0, b.length, proto, nh, keys);
          expect(k.thoff).toBeLessThanOrEqual(b.length);
          expect(k.thoff).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: 5000 },
    );
  });
});
