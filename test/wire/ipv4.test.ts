import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Ipv4Repr, Ipv4View, WireError, type WireErrorCode } from '../../src/wire/index.ts';
import { embed, hex, refCsum } from './util.ts';

// A classic hand-checked header: 192.168.0.1 → 192.168.0.199, UDP, checksum 0xb861.
const HDR = hex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');
const PKT = new Uint8Array(0x73);
PKT.set(HDR);

const CODES: WireErrorCode[] = ['TRUNCATED', 'BAD_VERSION', 'BAD_IHL', 'BAD_TOTAL_LENGTH', 'BAD_OPTION'];

const arbRepr = fc.record({
  src: fc.nat(0xffffffff),
  dst: fc.nat(0xffffffff),
  protocol: fc.nat(255),
  ttl: fc.nat(255),
  dscp: fc.nat(63),
  ecn: fc.nat(3),
  ident: fc.nat(0xffff),
  dontFrag: fc.boolean(),
  moreFrags: fc.boolean(),
  fragOffset: fc.nat(0x1fff).map((x) => x * 8),
  payloadLen: fc.nat(200),
  // well-formed TLVs and NOPs, zero-padded (EOL) to a multiple of 4, at most 40 bytes
  options: fc
    .array(
      fc.oneof(
        fc.constant([1]),
        fc
          .tuple(fc.integer({ min: 2, max: 255 }), fc.uint8Array({ maxLength: 6 }))
          .map(([t, d]) => [t, d.length + 2, ...d]),
      ),
    )
    .map((items) => {
      const bytes: number[] = [];
      for (const enc of items) if (bytes.length + enc.length <= 40) bytes.push(...enc);
      const o = new Uint8Array((bytes.length + 3) & ~3);
      o.set(bytes);
      return o;
    }),
});

describe('Ipv4View', () => {
  it('reads every field of a known header and verifies its checksum', () => {
    const v = new Ipv4View(hexPkt());
    expect(v.check()).toBeNull();
    expect(v.version).toBe(4);
    expect(v.headerLen).toBe(20);
    expect(v.totalLength).toBe(0x73);
    expect(v.dontFrag).toBe(true);
    expect(v.moreFrags).toBe(false);
    expect(v.isFragment).toBe(false);
    expect(v.ttl).toBe(0x40);
    expect(v.protocol).toBe(17);
    expect(v.checksum).toBe(0xb861);
    expect(v.src).toBe(0xc0a80001);
    expect(v.dst).toBe(0xc0a800c7);
    expect(v.payloadLen).toBe(0x73 - 20);
    expect(v.verifyChecksum()).toBe(true);
    v.ttl = 0x3f;
    expect(v.verifyChecksum()).toBe(false);
    v.fillChecksum();
    const z = v.buf.slice(0, 20);
    z[10] = z[11] = 0;
    expect(v.checksum).toBe(refCsum(z));
    expect(v.checksum).toBe(0xb961); // one less TTL: 0xb861 + 0x0100 (RFC 1624)
    expect(v.verifyChecksum()).toBe(true);
  });

  it('emits the known header byte for byte', () => {
    const r = Ipv4Repr.parse(new Ipv4View(hexPkt()));
    const out = new Uint8Array(20);
    expect(Ipv4Repr.emit(r, out, 0)).toBe(20);
    expect(out).toEqual(HDR);
  });

  it('rejects each malformed field with its code and offset', () => {
    const cases: Array<[(b: Uint8Array) => void, WireErrorCode, number]> = [
      [(b) => (b[0] = 0x65), 'BAD_VERSION', 0],
      [(b) => (b[0] = 0x44), 'BAD_IHL', 0],
      [(b) => (b[3] = 19), 'BAD_TOTAL_LENGTH', 2],
      [(b) => (b[3] = 0x74), 'TRUNCATED', 0x73],
    ];
    for (const [mut, code, at] of cases) {
      const b = hexPkt();
      mut(b);
      const v = new Ipv4View(b);
      expect(v.check()).toBe(code);
      expect(v.errorOffset).toBe(at);
      expect(() => v.checked()).toThrow(WireError);
    }
    // a fragment running past 65535 is reassembly's problem (ip_frag_reasm), not ip_rcv's
    const b = hexPkt();
    b[6] = 0x1f;
    b[7] = 0xff;
    expect(new Ipv4View(b).check()).toBeNull();
  });

  it('walks options: zero-length, length past the header, and EOL', () => {
    const base = (opts: number[]): Uint8Array => {
      const hl = 20 + opts.length;
      const b = new Uint8Array(hl);
      b.set(HDR);
      b[0] = 0x40 | (hl / 4);
      b[2] = 0;
      b[3] = hl;
      b.set(opts, 20);
      return b;
    };
    expect(new Ipv4View(base([0x01, 0x01, 0x01, 0x00])).check()).toBeNull();
    expect(new Ipv4View(base([0x00, 0xff, 0xff, 0xff])).check()).toBeNull(); // EOL then padding
    const zero = new Ipv4View(base([0x01, 0x07, 0x00, 0x00]));
    expect(zero.check()).toBe('BAD_OPTION');
    expect(zero.errorOffset).toBe(21);
    expect(new Ipv4View(base([0x07, 0x05, 0x00, 0x00])).check()).toBe('BAD_OPTION');
    expect(new Ipv4View(base([0x01, 0x01, 0x01, 0x44])).check()).toBe('BAD_OPTION'); // no room for length
    expect(new Ipv4View(base([0x07, 0x04, 0x04, 0x00])).check()).toBeNull(); // record route, len 4
  });

  it('every truncation gives TRUNCATED', () => {
    for (let k = 0; k < PKT.length; k++) {
      const v = new Ipv4View(PKT, 0, k);
      expect(v.check()).toBe('TRUNCATED');
      expect(v.errorOffset).toBeLessThanOrEqual(k);
    }
    // a window that lies outside the buffer is TRUNCATED too, not a throw
    expect(new Ipv4View(PKT, 100, 50).check()).toBe('TRUNCATED');
    expect(new Ipv4View(PKT, -1, 20).check()).toBe('TRUNCATED');
  });

  it('round-trips repr → emit → parse', () => {
    fc.assert(
      fc.property(arbRepr, (r) => {
        const buf = new Uint8Array(Ipv4Repr.bufferLen(r) + r.payloadLen);
        const n = Ipv4Repr.emit(r, buf, 0);
        const v = new Ipv4View(buf);
        expect(v.check()).toBeNull();
        expect(v.verifyChecksum()).toBe(true);
        const z = buf.slice(0, n);
        z[10] = z[11] = 0;
        expect(v.checksum).toBe(refCsum(z));
        expect(Ipv4Repr.parse(v)).toEqual(r);
      }),
    );
  });

  it('garbage gives a typed error or a parse that reads only inside the window', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(8), fc.nat(255), (g, at, fill) => {
        const tight = new Ipv4View(g);
        const code = tight.check();
        const loose = new Ipv4View(embed(g, at, 16, fill), at, g.length);
        expect(loose.check()).toBe(code);
        if (code === null) expect(Ipv4Repr.parse(loose)).toEqual(Ipv4Repr.parse(tight));
        else expect(CODES).toContain(code);
      }),
      { numRuns: 2000 },
    );
  });

  it('emit refuses out-of-range fields with BAD_REPR', () => {
    const r = Ipv4Repr.parse(new Ipv4View(hexPkt()));
    expect(() => Ipv4Repr.emit({ ...r, ttl: 256 }, new Uint8Array(20), 0)).toThrow(WireError);
    expect(() => Ipv4Repr.emit({ ...r, options: new Uint8Array(3) }, new Uint8Array(40), 0)).toThrow(
      WireError,
    );
    expect(() => Ipv4Repr.emit(r, new Uint8Array(19), 0)).toThrow(WireError);
    const badOpt = { ...r, options: new Uint8Array([7, 9, 0, 0]) };
    expect(() => Ipv4Repr.emit(badOpt, new Uint8Array(100), 0)).toThrow(WireError);
  });
});

describe('Ipv4View.decTtl', () => {
  it('patches the checksum like a full recomputation', () => {
    fc.assert(
      fc.property(arbRepr, (r) => {
        const buf = new Uint8Array(Ipv4Repr.bufferLen(r) + r.payloadLen);
        Ipv4Repr.emit(r, buf, 0);
        const v = new Ipv4View(buf).checked();
        expect(v.decTtl()).toBe(Math.max(r.ttl - 1, 0));
        expect(v.ttl).toBe(Math.max(r.ttl - 1, 0));
        expect(v.verifyChecksum()).toBe(true);
      }),
    );
  });
});

function hexPkt(): Uint8Array {
  return PKT.slice();
}
