import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as mbuf from '../../src/mbuf/index.ts';
import {
  VIRTIO_NET_HDR_F_DATA_VALID,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_ECN,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
  VIRTIO_NET_HDR_GSO_UDP,
  VIRTIO_NET_HDR_GSO_UDP_L4,
  VNET_HDR_LEN,
  VNET_HDR_MRG_LEN,
  VNET_OFF_CSUM_OFFSET,
  VNET_OFF_CSUM_START,
  VNET_OFF_GSO_SIZE,
  VNET_OFF_HDR_LEN,
  VNET_OFF_NUM_BUFFERS,
  VnetHdr,
  VnetHdrError,
  decodeVnetHdr,
  encodeVnetHdr,
  metaToVnetHdr,
  vnetHdrToMeta,
} from '../../src/vnethdr/index.ts';

const hdrArb = fc.record({
  flags: fc.nat(0xff),
  gsoType: fc.nat(0xff),
  hdrLen: fc.nat(0xffff),
  gsoSize: fc.nat(0xffff),
  csumStart: fc.nat(0xffff),
  csumOffset: fc.nat(0xffff),
  numBuffers: fc.nat(0xffff),
});

function make(v: Partial<VnetHdr>): VnetHdr {
  return Object.assign(new VnetHdr(), v);
}

describe('virtio_net_hdr codec', () => {
  it('pins the constants to the C values and to PacketMeta', () => {
    expect([VNET_HDR_LEN, VNET_HDR_MRG_LEN]).toEqual([10, 12]);
    expect([VNET_OFF_HDR_LEN, VNET_OFF_GSO_SIZE, VNET_OFF_CSUM_START, VNET_OFF_CSUM_OFFSET]).toEqual([
      2, 4, 6, 8,
    ]);
    expect(VNET_OFF_NUM_BUFFERS).toBe(10);
    expect(VIRTIO_NET_HDR_F_NEEDS_CSUM).toBe(mbuf.META_F_NEEDS_CSUM);
    expect(VIRTIO_NET_HDR_F_DATA_VALID).toBe(mbuf.META_F_DATA_VALID);
    expect([
      VIRTIO_NET_HDR_GSO_NONE,
      VIRTIO_NET_HDR_GSO_TCPV4,
      VIRTIO_NET_HDR_GSO_UDP,
      VIRTIO_NET_HDR_GSO_TCPV6,
      VIRTIO_NET_HDR_GSO_UDP_L4,
      VIRTIO_NET_HDR_GSO_ECN,
    ]).toEqual([0, 1, 3, 4, 5, 0x80]);
    expect([
      mbuf.META_GSO_NONE,
      mbuf.META_GSO_TCPV4,
      mbuf.META_GSO_UDP,
      mbuf.META_GSO_TCPV6,
      mbuf.META_GSO_UDP_L4,
      mbuf.META_GSO_ECN,
    ]).toEqual([0, 1, 3, 4, 5, 0x80]);
  });

  it('lays fields out little-endian at the C offsets', () => {
    const h = make({
      flags: 1,
      gsoType: 0x81,
      hdrLen: 66,
      gsoSize: 1448,
      csumStart: 34,
      csumOffset: 16,
      numBuffers: 0x0201,
    });
    const b = new Uint8Array(14).fill(0xee);
    encodeVnetHdr(h, b, 1, 12);
    expect([...b]).toEqual([0xee, 0x01, 0x81, 66, 0, 0xa8, 0x05, 34, 0, 16, 0, 0x01, 0x02, 0xee]);
    const ten = new Uint8Array(12).fill(0xee);
    encodeVnetHdr(h, ten, 0, 10);
    expect([...ten.subarray(10)]).toEqual([0xee, 0xee]); // the 10-byte form stops at csum_offset
  });

  it('round-trips every field for both sizes at any offset', () => {
    fc.assert(
      fc.property(hdrArb, fc.constantFrom(10, 12), fc.nat(8), (v, size, off) => {
        const b = new Uint8Array(off + size + 3);
        encodeVnetHdr(make(v), b, off, size);
        const out = new VnetHdr();
        out.numBuffers = 77;
        expect(decodeVnetHdr(b, off, size, out)).toBeNull();
        expect(out).toEqual(make({ ...v, numBuffers: size === 12 ? v.numBuffers : 0 }));
        // and back to the same bytes
        const again = new Uint8Array(b.length);
        encodeVnetHdr(out, again, off, size);
        expect([...again.subarray(off, off + size)]).toEqual([...b.subarray(off, off + size)]);
      }),
    );
  });

  it('decode reports short buffers and bad sizes instead of reading out of bounds', () => {
    const out = new VnetHdr();
    expect(decodeVnetHdr(new Uint8Array(11), 0, 12, out)).toBe('TRUNCATED');
    expect(decodeVnetHdr(new Uint8Array(12), 3, 10, out)).toBe('TRUNCATED');
    expect(decodeVnetHdr(new Uint8Array(12), -1, 10, out)).toBe('TRUNCATED');
    expect(decodeVnetHdr(new Uint8Array(20), 0, 20, out)).toBe('BAD_HDR_SIZE');
    expect(decodeVnetHdr(new Uint8Array(10), 0, 10, out)).toBeNull();
  });

  it('encode throws typed errors for values that do not fit', () => {
    const err = (f: () => void): [string, number] => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(VnetHdrError);
        return [(e as VnetHdrError).code, (e as VnetHdrError).offset];
      }
      return ['none', -1];
    };
    const b = new Uint8Array(12);
    expect(err(() => encodeVnetHdr(make({ gsoSize: 0x10000 }), b, 0, 12))).toEqual(['FIELD_RANGE', 4]);
    expect(err(() => encodeVnetHdr(make({ flags: 256 }), b, 0, 12))).toEqual(['FIELD_RANGE', 0]);
    expect(err(() => encodeVnetHdr(make({ csumOffset: -1 }), b, 0, 12))).toEqual(['FIELD_RANGE', 8]);
    expect(err(() => encodeVnetHdr(make({ numBuffers: 1.5 }), b, 0, 12))).toEqual(['FIELD_RANGE', 10]);
    expect(err(() => encodeVnetHdr(make({}), b, 1, 12))[0]).toBe('TRUNCATED');
    expect(err(() => encodeVnetHdr(make({}), b, 0, 11))[0]).toBe('BAD_HDR_SIZE');
  });
});

describe('raw PacketMeta mapping', () => {
  it('copies every offload field both ways and leaves flowHash/rxQueue alone', () => {
    fc.assert(
      fc.property(hdrArb, (v) => {
        const m = new mbuf.PacketMeta();
        m.flowHash = 9;
        m.rxQueue = 2;
        vnetHdrToMeta(make(v), m);
        expect([
          m.flags,
          m.gsoType,
          m.hdrLen,
          m.gsoSize,
          m.csumStart,
          m.csumOffset,
          m.flowHash,
          m.rxQueue,
        ]).toEqual([v.flags, v.gsoType, v.hdrLen, v.gsoSize, v.csumStart, v.csumOffset, 9, 2]);
        const back = new VnetHdr();
        back.numBuffers = 5;
        metaToVnetHdr(m, back);
        expect(back).toEqual(make({ ...v, numBuffers: 0 }));
      }),
    );
  });
});
