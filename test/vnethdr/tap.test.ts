import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  TapWriteInfo,
  VIRTIO_NET_HDR_F_DATA_VALID as DATA_VALID,
  VIRTIO_NET_HDR_F_NEEDS_CSUM as NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_ECN as ECN,
  VIRTIO_NET_HDR_GSO_TCPV4 as TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6 as TCPV6,
  VIRTIO_NET_HDR_GSO_UDP as UFO,
  VIRTIO_NET_HDR_GSO_UDP_L4 as USO,
  tapVerdict,
  validateTapWrite,
  type VnetHdrErrorCode,
} from '../../src/vnethdr/index.ts';
import { buildFrame, tapWrite, type HdrSpec } from './frames.ts';

const info = new TapWriteInfo();

function check(h: HdrSpec, frame: Uint8Array, hdrSz = 12): VnetHdrErrorCode | null {
  const w = tapWrite(h, frame, hdrSz);
  return validateTapWrite(w, 0, w.length, hdrSz, info);
}

// A TCPv4 super-frame with timestamps-sized options: Ethernet 14 + IPv4 20 + TCP 32 = 66 (the
// hdr_len Linux reports) and 3000 bytes of payload.
const tcp4 = buildFrame({ tcpOpts: 12, payload: 3000 });
const tcp4Gso: HdrSpec = {
  flags: NEEDS_CSUM,
  gsoType: TCPV4,
  hdrLen: 66,
  gsoSize: 1000,
  csumStart: 34,
  csumOffset: 16,
};
const udp4 = buildFrame({ proto: 'udp', payload: 3000 });
const uso4: HdrSpec = {
  flags: NEEDS_CSUM,
  gsoType: USO,
  hdrLen: 42,
  gsoSize: 1000,
  csumStart: 34,
  csumOffset: 6,
};

describe('validateTapWrite: the measured table (12-byte header, docs/SPEC.md §6.3)', () => {
  it('a good TCPv4 GSO write is accepted and stays GSO (case 01)', () => {
    expect(check(tcp4Gso, tcp4.bytes)).toBeNull();
    expect(info.gso).toBe(true);
    expect(info.hdrLen).toBe(66);
  });
  it('case 02: TCPv4 GSO without NEEDS_CSUM is accepted', () => {
    expect(check({ ...tcp4Gso, flags: 0, csumStart: 0, csumOffset: 0 }, tcp4.bytes)).toBeNull();
    expect(info.gso).toBe(true);
  });
  it('case 05: checksum offload only is accepted and not GSO', () => {
    expect(check({ flags: NEEDS_CSUM, csumStart: 34, csumOffset: 16 }, tcp4.bytes)).toBeNull();
    expect(info.gso).toBe(false);
  });
  it('case 20: TCPV4 with gso_size 0 → EINVAL', () => {
    const c = check({ ...tcp4Gso, gsoSize: 0 }, tcp4.bytes);
    expect(c).toBe('GSO_SIZE_ZERO');
    expect(tapVerdict(c)).toBe('einval');
    expect(info.errorOffset).toBe(4);
  });
  it('case 21: gso_type 2 → EINVAL', () => {
    expect(check({ ...tcp4Gso, gsoType: 2 }, tcp4.bytes)).toBe('BAD_GSO_TYPE');
    expect(info.errorOffset).toBe(1);
  });
  it('case 22: TCPV4 + NEEDS_CSUM with csum_offset 6 → EINVAL', () => {
    expect(check({ ...tcp4Gso, csumOffset: 6 }, tcp4.bytes)).toBe('TCP_BAD_CSUM_OFFSET');
  });
  it('case 23: NEEDS_CSUM with csum_start 60000 → EINVAL', () => {
    const c = check({ flags: NEEDS_CSUM, csumStart: 60000, csumOffset: 16 }, tcp4.bytes);
    expect(c).toBe('CSUM_BEYOND_FRAME');
    expect(tapVerdict(c)).toBe('einval');
  });
  it('case 24: hdr_len 60000 > frame → EINVAL', () => {
    expect(check({ ...tcp4Gso, hdrLen: 60000 }, tcp4.bytes)).toBe('HDR_LEN_BEYOND_FRAME');
    expect(info.errorOffset).toBe(2);
  });
  it('case 25: UDP_L4 without NEEDS_CSUM → EINVAL', () => {
    expect(check({ ...uso4, flags: 0 }, udp4.bytes)).toBe('USO_WITHOUT_CSUM');
  });
  it('case 29: UDP_L4 with csum_offset 16 → EINVAL', () => {
    expect(check({ ...uso4, csumOffset: 16 }, udp4.bytes)).toBe('USO_BAD_CSUM_OFFSET');
  });
  it('case 30: only 8 bytes written (< vnet_hdr_sz) → EINVAL', () => {
    const w = tapWrite({}, new Uint8Array(0)).subarray(0, 8);
    const c = validateTapWrite(w, 0, 8, 12, info);
    expect(c).toBe('SHORT_WRITE');
    expect(tapVerdict(c)).toBe('einval');
  });
  it('case 26: TCPV4 with csum_start 20 (inside the IP header) is accepted, then dropped', () => {
    const c = check({ ...tcp4Gso, csumStart: 20 }, tcp4.bytes);
    expect(c).toBe('DROP_CSUM_NOT_TRANSPORT');
    expect(tapVerdict(c)).toBe('dropped');
  });
  it('case 27: TCPV4 GSO on an IPv6 frame is accepted, then dropped', () => {
    const f = buildFrame({ v6: true, tcpOpts: 12, payload: 3000 });
    const c = check({ ...tcp4Gso, csumStart: 54, hdrLen: 86 }, f.bytes);
    expect(c).toBe('DROP_GSO_PROTO_MISMATCH');
    expect(tapVerdict(c)).toBe('dropped');
  });
  it('case 28: TCPV4 GSO with payload 100 <= gso_size 1000 is one ordinary frame', () => {
    const f = buildFrame({ payload: 100 });
    const c = check({ ...tcp4Gso, hdrLen: 54 }, f.bytes);
    expect(c).toBeNull();
    expect(tapVerdict(c)).toBe('accepted');
    expect(info.gso).toBe(false);
  });
});

describe('validateTapWrite: kernel 6.18 additions (docs/SPEC.md §6.3)', () => {
  it('USO is accepted up to 128 segments, refused beyond', () => {
    const ok = buildFrame({ proto: 'udp', payload: 128 * 100 });
    expect(check({ ...uso4, gsoSize: 100 }, ok.bytes)).toBeNull();
    expect(info.gso).toBe(true);
    const over = buildFrame({ proto: 'udp', payload: 128 * 100 + 1 });
    expect(check({ ...uso4, gsoSize: 100 }, over.bytes)).toBe('USO_TOO_MANY_SEGMENTS');
  });
  it('with a 12-byte header hdr_len may be the frame length + 2; with 10 bytes, the frame length', () => {
    const n = tcp4.bytes.length;
    expect(check({ ...tcp4Gso, hdrLen: n + 2 }, tcp4.bytes, 12)).toBeNull();
    expect(check({ ...tcp4Gso, hdrLen: n + 3 }, tcp4.bytes, 12)).toBe('HDR_LEN_BEYOND_FRAME');
    expect(check({ ...tcp4Gso, hdrLen: n }, tcp4.bytes, 10)).toBeNull();
    expect(check({ ...tcp4Gso, hdrLen: n + 1 }, tcp4.bytes, 10)).toBe('HDR_LEN_BEYOND_FRAME');
  });
  it('TCP GSO with payload <= gso_size < payload + options is accepted, then dropped', () => {
    // payload exactly gso_size with 12 option bytes
    const eq = buildFrame({ tcpOpts: 12, payload: 1000 });
    const c = check(tcp4Gso, eq.bytes);
    expect(c).toBe('DROP_GSO_TOO_SMALL');
    expect(tapVerdict(c)).toBe('dropped');
    const less = buildFrame({ tcpOpts: 12, payload: 995 });
    expect(check(tcp4Gso, less.bytes)).toBe('DROP_GSO_TOO_SMALL');
    // without options the same payload is simply not GSO
    const plain = buildFrame({ payload: 1000 });
    expect(check({ ...tcp4Gso, hdrLen: 54 }, plain.bytes)).toBeNull();
    expect(info.gso).toBe(false);
    // one byte more than gso_size segments fine
    expect(check(tcp4Gso, buildFrame({ tcpOpts: 12, payload: 1001 }).bytes)).toBeNull();
    expect(info.gso).toBe(true);
  });
  it('small UFO frames without NEEDS_CSUM are dropped; with NEEDS_CSUM they are plain frames', () => {
    // L4 length 1478 <= gso_size 1480 < frame - 20
    const f = buildFrame({ proto: 'udp', payload: 1470 });
    const noCsum = check({ gsoType: UFO, gsoSize: 1480 }, f.bytes);
    expect(noCsum).toBe('DROP_GSO_TOO_SMALL');
    expect(tapVerdict(noCsum)).toBe('dropped');
    expect(
      check({ flags: NEEDS_CSUM, gsoType: UFO, gsoSize: 1480, csumStart: 34, csumOffset: 6 }, f.bytes),
    ).toBeNull();
    expect(info.gso).toBe(false);
    // a UFO frame really larger than gso_size segments with or without NEEDS_CSUM
    const big = buildFrame({ proto: 'udp', payload: 3000 });
    expect(check({ gsoType: UFO, gsoSize: 1480 }, big.bytes)).toBeNull();
    expect(info.gso).toBe(true);
  });
});

describe('validateTapWrite: every check, in Linux order', () => {
  it('hdr_len is checked before the frame length, which is checked before the GSO type', () => {
    expect(check({ gsoType: 2, hdrLen: 60000 }, tcp4.bytes)).toBe('HDR_LEN_BEYOND_FRAME');
    expect(check({ gsoType: 2 }, new Uint8Array(13))).toBe('FRAME_TOO_SHORT');
    expect(check({ gsoType: 2, hdrLen: 13 }, tcp4.bytes)).toBe('HDR_LEN_TOO_SHORT');
    expect(check({ hdrLen: 14 }, tcp4.bytes)).toBeNull();
  });
  it('csum_start + csum_offset + 2 raises hdr_len, with the u16 wrap of tun_vnet_hdr_get', () => {
    // 34 + 16 + 2 = 52 raises hdr_len 0 to 52
    expect(check({ flags: NEEDS_CSUM, csumStart: 34, csumOffset: 16 }, tcp4.bytes)).toBeNull();
    expect(info.hdrLen).toBe(52);
    // 65535 + 65535 + 2 wraps to 0 and slips past tun; virtio_net_hdr_to_skb still refuses it
    expect(check({ flags: NEEDS_CSUM, csumStart: 65535, csumOffset: 65535 }, tcp4.bytes)).toBe(
      'CSUM_BEYOND_FRAME',
    );
    expect(info.hdrLen).toBe(0);
    expect(info.errorOffset).toBe(6);
  });
  it('the transport offset must be >= 20, or 40 for TCPV6, even without GSO', () => {
    expect(check({ flags: NEEDS_CSUM, csumStart: 19, csumOffset: 16 }, tcp4.bytes)).toBe(
      'CSUM_START_TOO_SMALL',
    );
    expect(check({ flags: NEEDS_CSUM, csumStart: 20, csumOffset: 16 }, tcp4.bytes)).toBeNull();
    const f6 = buildFrame({ v6: true, payload: 3000 });
    expect(
      check({ flags: NEEDS_CSUM, gsoType: TCPV6, gsoSize: 1000, csumStart: 39, csumOffset: 16 }, f6.bytes),
    ).toBe('CSUM_START_TOO_SMALL');
    expect(
      check({ flags: NEEDS_CSUM, gsoType: TCPV6, gsoSize: 1000, csumStart: 54, csumOffset: 16 }, f6.bytes),
    ).toBeNull();
  });
  it('the checksum field plus the minimal L4 header must fit the frame', () => {
    const f = buildFrame({ payload: 0 }); // 54 bytes
    expect(check({ flags: NEEDS_CSUM, csumStart: 34, csumOffset: 19 }, f.bytes)).toBe('CSUM_BEYOND_FRAME');
    expect(check({ flags: NEEDS_CSUM, csumStart: 34, csumOffset: 18 }, f.bytes)).toBeNull();
    // with TCP GSO, start + 20 must fit even when start + csum_offset + 2 does
    const g = buildFrame({ payload: 0 }).bytes.subarray(0, 34 + 19);
    expect(check({ flags: NEEDS_CSUM, gsoType: TCPV4, gsoSize: 1, csumStart: 34, csumOffset: 16 }, g)).toBe(
      'CSUM_BEYOND_FRAME',
    );
  });
  it('GSO without NEEDS_CSUM needs IP + L4 minimum bytes past the start (Ethernet not counted)', () => {
    expect(check({ gsoType: TCPV4, gsoSize: 1 }, new Uint8Array(39))).toBe('GSO_HEADERS_TRUNCATED');
    expect(check({ gsoType: TCPV6, gsoSize: 1 }, new Uint8Array(59))).toBe('GSO_HEADERS_TRUNCATED');
  });
  it('tunnel GSO types, ECN on USO and gso_size 0xFFFF are refused', () => {
    expect(check({ ...tcp4Gso, gsoType: 0x21 }, tcp4.bytes)).toBe('BAD_GSO_TYPE');
    expect(check({ ...uso4, gsoType: USO | ECN }, udp4.bytes)).toBe('USO_ECN');
    expect(check({ ...tcp4Gso, gsoSize: 0xffff }, tcp4.bytes)).toBe('GSO_BY_FRAGS');
    expect(check({ ...tcp4Gso, gsoType: TCPV4 | ECN }, tcp4.bytes)).toBeNull();
  });
  it('DATA_VALID and unknown flag bits are ignored on write', () => {
    expect(check({ ...tcp4Gso, flags: NEEDS_CSUM | DATA_VALID | 0x70 }, tcp4.bytes)).toBeNull();
  });
  it('accepted-then-dropped: protocol mismatches and broken headers at segmentation', () => {
    // TCP GSO type on a UDP datagram, USO on a TCP segment, GSO on ARP
    expect(check({ ...tcp4Gso, hdrLen: 0 }, udp4.bytes)).toBe('DROP_GSO_PROTO_MISMATCH');
    expect(check({ ...uso4, hdrLen: 0 }, tcp4.bytes)).toBe('DROP_GSO_PROTO_MISMATCH');
    const arp = buildFrame({ etherType: 0x0806, payload: 3000 });
    expect(check({ gsoType: TCPV4, gsoSize: 100 }, arp.bytes)).toBe('DROP_GSO_PROTO_MISMATCH');
    // TCPV6 on IPv4: tcp4_gso_segment checks the type before tcp_gso_segment checks csum_start
    expect(check({ ...tcp4Gso, gsoType: TCPV6, csumStart: 40 }, tcp4.bytes)).toBe('DROP_GSO_PROTO_MISMATCH');
    expect(check({ ...tcp4Gso, csumStart: 40 }, tcp4.bytes)).toBe('DROP_CSUM_NOT_TRANSPORT');
    expect(check({ gsoType: TCPV6, gsoSize: 100 }, tcp4.bytes)).toBe('DROP_GSO_PROTO_MISMATCH');
    // IHL < 5 and TCP data offset < 5
    const badIhl = buildFrame({ payload: 3000 });
    badIhl.bytes[14] = 0x44;
    expect(check({ gsoType: TCPV4, gsoSize: 100 }, badIhl.bytes)).toBe('DROP_GSO_BAD_HEADERS');
    const badDoff = buildFrame({ payload: 3000 });
    badDoff.bytes[badDoff.l4 + 12] = 0x40;
    expect(check({ gsoType: TCPV4, gsoSize: 100 }, badDoff.bytes)).toBe('DROP_GSO_BAD_HEADERS');
    // USO with csum_start off the UDP header
    expect(check({ ...uso4, csumStart: 36 }, udp4.bytes)).toBe('DROP_CSUM_NOT_TRANSPORT');
  });
  it('VLAN-tagged and IPv6-extension-header super-frames are segmented', () => {
    const v = buildFrame({ vlans: [5, 6], tcpOpts: 12, payload: 3000 });
    expect(check({ ...tcp4Gso, csumStart: v.l4, hdrLen: v.hdrEnd }, v.bytes)).toBeNull();
    expect(info.gso).toBe(true);
    const e = buildFrame({ v6: true, v6Ext: 16, proto: 'udp', payload: 3000 });
    expect(check({ ...uso4, csumStart: e.l4, hdrLen: e.hdrEnd }, e.bytes)).toBeNull();
    expect(info.gso).toBe(true);
  });
  it('rejects a bad vnet_hdr_sz and out-of-range windows without throwing', () => {
    expect(validateTapWrite(new Uint8Array(20), 0, 20, 8)).toBe('BAD_HDR_SIZE');
    expect(validateTapWrite(new Uint8Array(80), 0, 80, 24)).toBe('BAD_HDR_SIZE');
    expect(validateTapWrite(new Uint8Array(80), 0, 80, 23)).toBeNull();
    expect(validateTapWrite(new Uint8Array(20), 5, 20)).toBe('TRUNCATED');
  });
});

describe('validateTapWrite on hostile input', () => {
  const codes = new Set<string>([
    'SHORT_WRITE',
    'HDR_LEN_BEYOND_FRAME',
    'CSUM_BEYOND_FRAME',
    'FRAME_TOO_SHORT',
    'HDR_LEN_TOO_SHORT',
    'BAD_GSO_TYPE',
    'GSO_SIZE_ZERO',
    'CSUM_START_TOO_SMALL',
    'GSO_HEADERS_TRUNCATED',
    'USO_WITHOUT_CSUM',
    'USO_BAD_CSUM_OFFSET',
    'USO_TOO_MANY_SEGMENTS',
    'USO_ECN',
    'TCP_BAD_CSUM_OFFSET',
    'GSO_BY_FRAGS',
    'DROP_CSUM_NOT_TRANSPORT',
    'DROP_GSO_PROTO_MISMATCH',
    'DROP_GSO_TOO_SMALL',
    'DROP_GSO_BAD_HEADERS',
  ]);
  it('random headers over random and real frames: never throws, always a known verdict', () => {
    const hdr = fc.record({
      flags: fc.nat(0xff),
      gsoType: fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 0x81, 0x84, 0x85, 0x21, 0x44),
      hdrLen: fc.oneof(fc.nat(0xffff), fc.nat(100)),
      gsoSize: fc.oneof(fc.nat(0xffff), fc.nat(2000)),
      csumStart: fc.oneof(fc.nat(0xffff), fc.nat(80)),
      csumOffset: fc.oneof(fc.nat(0xffff), fc.constantFrom(6, 16), fc.nat(40)),
    });
    const frame = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc
        .record({
          v6: fc.boolean(),
          proto: fc.constantFrom('tcp' as const, 'udp' as const, 'icmp' as const),
          payload: fc.nat(3000),
          vlans: fc.array(fc.nat(4095), { maxLength: 2 }),
        })
        .map((s) => buildFrame(s).bytes),
    );
    fc.assert(
      fc.property(hdr, frame, fc.constantFrom(10, 12), fc.nat(12), (h, f, sz, cut) => {
        const w = tapWrite(h, f, sz);
        const len = Math.max(0, w.length - cut);
        const c = validateTapWrite(w, 0, len, sz, info);
        if (c !== null) expect(codes.has(c)).toBe(true);
        if (tapVerdict(c) === 'dropped') expect(info.gso).toBe(true);
        if (c === null && info.gso) expect(h.gsoType).not.toBe(0);
      }),
      { numRuns: 2000 },
    );
  });
});
