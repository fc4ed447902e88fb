// A real IPv4/TCP SYN, assembled byte by byte, with checksums worked out by hand; NEEDS_CSUM
// completion and verification on it and on random frames.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ChecksumError,
  completePartial,
  createPacketMemory,
  csumFinish,
  csumPartial,
  csumValid,
  ipv4HeaderValid,
  pseudoV4,
  udpCheckValue,
} from '../../src/checksum/index.ts';

// Ethernet + IPv4 (10.0.0.1 -> 10.0.0.2, DF, TTL 64) + TCP SYN 12345 -> 80, seq 1, window 0xFFFF.
// IP:  0x4500+0x0028+0x0000+0x4000+0x4006+0x0a00+0x0001+0x0a00+0x0002 = 0xd931 -> ~ = 0x26ce
// TCP: pseudo 0x141d + 0x3039+0x0050+0x0001+0x5002+0xffff (folded 0x808c) = 0x94a9 -> ~ = 0x6b56
const SYN = Uint8Array.from([
  0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, // Ethernet
  0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0x26, 0xce, // IPv4 ...
  0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
  0x30, 0x39, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, // TCP ...
  0x50, 0x02, 0xff, 0xff, 0x6b, 0x56, 0x00, 0x00,
]); // prettier-ignore
const IP = 14;
const TCP = 34;

describe('a known IPv4/TCP packet', () => {
  it('verifies: IPv4 header and TCP with its pseudo-header', () => {
    expect(ipv4HeaderValid(SYN, IP)).toBe(true);
    expect(csumValid(SYN, TCP, 20, pseudoV4(0x0a000001, 0x0a000002, 6, 20))).toBe(true);
    // The Wikipedia IPv4 header example (checksum 0xb861).
    const wiki = Uint8Array.from([
      0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0,
      0xa8, 0x00, 0xc7,
    ]);
    expect(ipv4HeaderValid(wiki, 0)).toBe(true);
  });

  it('recomputes both checksums from zeroed fields', () => {
    const f = SYN.slice();
    f[IP + 10] = f[IP + 11] = 0;
    expect(csumFinish(csumPartial(f, IP, 20))).toBe(0x26ce);
    f[TCP + 16] = f[TCP + 17] = 0;
    expect(csumFinish(csumPartial(f, TCP, 20, pseudoV4(0x0a000001, 0x0a000002, 6, 20)))).toBe(0x6b56);
  });

  it('completes from a NEEDS_CSUM field (csum_start 34, csum_offset 16) like a virtio device', () => {
    const f = SYN.slice();
    f[TCP + 16] = 0x14; // the folded pseudo-header sum, as Linux leaves it
    f[TCP + 17] = 0x1d;
    expect(completePartial(f, 34, 16)).toBe(0x6b56);
    expect(f).toEqual(SYN);
  });

  it('detects a flipped bit', () => {
    const f = SYN.slice();
    f[IP + 8] = f[IP + 8]! ^ 0x01; // TTL
    expect(ipv4HeaderValid(f, IP)).toBe(false);
    const g = SYN.slice();
    g[TCP + 5] = g[TCP + 5]! ^ 0x80;
    expect(csumValid(g, TCP, 20, pseudoV4(0x0a000001, 0x0a000002, 6, 20))).toBe(false);
  });
});

describe('completePartial', () => {
  const pm = createPacketMemory(1 << 17);
  const shared = new Uint8Array(pm.buffer);

  it('equals full recomputation on random frames (plain and packet-memory buffers)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 2, maxLength: 2000 }),
        fc.nat(2000),
        fc.nat(2000),
        fc.nat(0xffff),
        fc.nat(31),
        (data, a, b, pseudo, at) => {
          const start = Math.min(a, data.length - 2);
          // csum_offset is even in every real protocol (16 TCP, 6 UDP, 2 ICMP): a field at an odd
          // distance from csum_start would hold its seed byte-swapped.
          const off = Math.min(b, data.length - 2 - start) & ~1;
          const field = start + off;
          for (const frame of [data.slice(), shared.subarray(at, at + data.length)]) {
            frame.set(data);
            // Reference: zero the field, sum with the pseudo-header as seed, invert.
            frame[field] = frame[field + 1] = 0;
            const want = csumFinish(csumPartial(frame, start, frame.length - start, pseudo));
            frame[field] = pseudo >>> 8;
            frame[field + 1] = pseudo & 0xff;
            const got = completePartial(frame, start, off);
            // Seeding 0 vs holding 0 in the field differ only in the zero face.
            expect(got === want || (want === 0xffff && got === 0) || (want === 0 && got === 0xffff)).toBe(
              true,
            );
            expect((frame[field]! << 8) | frame[field + 1]!).toBe(got);
            expect(csumValid(frame, start, frame.length - start, pseudo)).toBe(true);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('honours `end` (bytes past it are ignored) and mangles a zero result on request', () => {
    // Data whose sum with the field is 0xFFFF: the checksum comes out 0x0000.
    const f = Uint8Array.from([0x12, 0x34, 0xed, 0xcb, 0x00, 0x00, 0x99, 0x99]);
    expect(completePartial(f, 0, 4, 6)).toBe(0);
    expect([f[4], f[5], f[6], f[7]]).toEqual([0, 0, 0x99, 0x99]);
    expect(completePartial(f, 0, 4, 6, true)).toBe(0xffff);
    expect([f[4], f[5]]).toEqual([0xff, 0xff]);
    expect(udpCheckValue(0)).toBe(0xffff);
    expect(udpCheckValue(0x1234)).toBe(0x1234);
  });

  it('rejects bad ranges with typed errors and writes nothing', () => {
    const f = new Uint8Array(64).fill(0xab);
    const cases: [number, number, number | undefined, string][] = [
      [65, 0, undefined, 'CSUM_RANGE'], // start past the frame
      [0, 0, 65, 'CSUM_RANGE'], // end past the frame
      [40, 0, 30, 'CSUM_RANGE'], // start past end
      [-1, 16, undefined, 'CSUM_RANGE'],
      [34, 16, 51, 'CSUM_OFFSET'], // field ends at 52 > 51
      [63, 0, undefined, 'CSUM_OFFSET'], // field would straddle the end
      [0, 0xffff, undefined, 'CSUM_OFFSET'],
      [0, -2, undefined, 'CSUM_OFFSET'],
    ];
    for (const [start, off, end, code] of cases) {
      try {
        completePartial(f, start, off, end);
        expect.unreachable(`${start}/${off}/${end}`);
      } catch (e) {
        expect(e).toBeInstanceOf(ChecksumError);
        expect([start, off, end, (e as ChecksumError).code]).toEqual([start, off, end, code]);
      }
    }
    expect(f.every((b) => b === 0xab)).toBe(true);
  });
});

describe('verification helpers', () => {
  it('csumValid is true exactly when the complement of the sum is zero', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(0xffff), (data, seed) => {
        expect(csumValid(data, 0, data.length, seed)).toBe(
          csumPartial(data, 0, data.length, seed) === 0xffff,
        );
      }),
    );
  });

  it('ipv4HeaderValid: options, wrong version/IHL, truncation', () => {
    // 24-byte header with one 4-byte option (NOP NOP NOP EOL) and a right checksum.
    const h = new Uint8Array(24);
    h.set([0x46, 0, 0, 24, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 1, 1, 1, 0]);
    const c = csumFinish(csumPartial(h, 0, 24));
    h[10] = c >>> 8;
    h[11] = c & 0xff;
    expect(ipv4HeaderValid(h, 0)).toBe(true);
    expect(ipv4HeaderValid(h.slice(0, 24), 0)).toBe(true);
    const v6 = h.slice();
    v6[0] = 0x66;
    expect(ipv4HeaderValid(v6, 0)).toBe(false);
    const short = h.slice();
    short[0] = 0x44;
    expect(ipv4HeaderValid(short, 0)).toBe(false);
    for (const [buf, off] of [
      [h.subarray(0, 22), 0],
      [h, 5],
      [h, -1],
    ] as const) {
      try {
        ipv4HeaderValid(buf, off);
        expect.unreachable();
      } catch (e) {
        expect((e as ChecksumError).code).toBe('CSUM_RANGE');
      }
    }
  });
});
