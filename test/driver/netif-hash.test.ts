import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flowHash, txQueueOf } from '../../src/driver/index.ts';
import { Mempool } from '../../src/mbuf/index.ts';
import type { Mbuf } from '../../src/mbuf/index.ts';

const pool = new Mempool({ segments: 256 });
/** 64-byte segments: headers straddle segments and must be pulled up. */
const tiny = new Mempool({ segments: 256, segmentSize: 128, headroom: 0 });

interface Flow {
  v6: boolean;
  proto: number;
  src: number;
  dst: number;
  sport: number;
  dport: number;
}

function frame(
  f: Flow,
  opts: { payload?: number; fragOff?: number; mf?: boolean; vlan?: boolean } = {},
): Uint8Array {
  const vl = opts.vlan ? 4 : 0;
  const iph = f.v6 ? 40 : 20;
  const b = new Uint8Array(14 + vl + iph + 8 + (opts.payload ?? 20));
  b.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
  let t = 12;
  if (opts.vlan) {
    b.set([0x81, 0x00, 0, 7], 12);
    t = 16;
  }
  const l3 = t + 2;
  if (f.v6) {
    b.set([0x86, 0xdd], t);
    b[l3] = 0x60;
    b[l3 + 6] = f.proto;
    new DataView(b.buffer).setUint32(l3 + 20, f.src);
    new DataView(b.buffer).setUint32(l3 + 36, f.dst);
  } else {
    b.set([0x08, 0x00], t);
    b[l3] = 0x45;
    b[l3 + 9] = f.proto;
    const fo = ((opts.mf ? 0x2000 : 0) | (opts.fragOff ?? 0)) & 0xffff;
    b[l3 + 6] = fo >>> 8;
    b[l3 + 7] = fo & 0xff;
    new DataView(b.buffer).setUint32(l3 + 12, f.src);
    new DataView(b.buffer).setUint32(l3 + 16, f.dst);
  }
  const l4 = l3 + iph;
  if (opts.fragOff === undefined || opts.fragOff === 0) {
    b[l4] = f.sport >>> 8;
    b[l4 + 1] = f.sport & 0xff;
    b[l4 + 2] = f.dport >>> 8;
    b[l4 + 3] = f.dport & 0xff;
  }
  for (let k = l4 + 4; k < b.length; k++) b[k] = (k * 7 + (opts.payload ?? 0)) & 0xff;
  return b;
}

function mbuf(bytes: Uint8Array, p: Mempool = pool): Mbuf {
  const m = p.alloc()!;
  expect(m.append(bytes)).toBe(true);
  return m;
}

function hashOf(bytes: Uint8Array, p: Mempool = pool): number {
  const m = mbuf(bytes, p);
  const h = flowHash(m);
  m.free();
  return h;
}

const flowArb: fc.Arbitrary<Flow> = fc.record({
  v6: fc.boolean(),
  proto: fc.constantFrom(6, 17, 132),
  src: fc.nat(),
  dst: fc.nat(),
  sport: fc.nat(0xffff),
  dport: fc.nat(0xffff),
});

describe('flowHash', () => {
  it('is a function of the flow: payload, VLAN tag and segment layout do not matter', () => {
    fc.assert(
      fc.property(flowArb, fc.nat(300), fc.nat(300), (f, p1, p2) => {
        const h = hashOf(frame(f, { payload: p1 }));
        expect(h).not.toBe(0);
        expect(hashOf(frame(f, { payload: p2 }))).toBe(h);
        expect(hashOf(frame(f, { payload: p2, vlan: true }))).toBe(h);
        expect(hashOf(frame(f, { payload: p1 }), tiny)).toBe(h);
      }),
    );
  });

  it('every fragment of an IPv4 datagram hashes alike (ports ignored once fragmented)', () => {
    fc.assert(
      fc.property(flowArb, fc.integer({ min: 1, max: 0x1fff }), (f, off) => {
        const v4 = { ...f, v6: false };
        const first = hashOf(frame(v4, { mf: true }));
        expect(hashOf(frame(v4, { fragOff: off, mf: true }))).toBe(first);
        expect(hashOf(frame(v4, { fragOff: off }))).toBe(first);
        expect(hashOf(frame({ ...v4, sport: v4.sport ^ 1 }, { mf: true }))).toBe(first);
      }),
    );
  });

  it('spreads flows that differ only in a port evenly over 4 queues', () => {
    const counts = [0, 0, 0, 0];
    for (let port = 0; port < 4000; port++) {
      const f: Flow = {
        v6: port % 2 === 0,
        proto: 6,
        src: 0x0a000001,
        dst: 0x0a000002,
        sport: port,
        dport: 80,
      };
      counts[hashOf(frame(f)) % 4]!++;
    }
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });

  it('is 0 for non-IP and for headers cut short; never throws on arbitrary bytes; leaves bytes as they were', () => {
    const arp = frame({ v6: false, proto: 6, src: 1, dst: 2, sport: 3, dport: 4 });
    arp[12] = 0x08;
    arp[13] = 0x06;
    expect(hashOf(arp)).toBe(0);
    const v4 = frame({ v6: false, proto: 6, src: 1, dst: 2, sport: 3, dport: 4 });
    expect(hashOf(v4.subarray(0, 14 + 19))).toBe(0);
    expect(hashOf(v4.subarray(0, 10))).toBe(0);
    const v6 = frame({ v6: true, proto: 17, src: 1, dst: 2, sport: 3, dport: 4 });
    expect(hashOf(v6.subarray(0, 14 + 39))).toBe(0);
    // Ports cut off: the hash falls back to addresses and protocol.
    expect(hashOf(v6.subarray(0, 14 + 40 + 2))).not.toBe(0);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.boolean(), (bytes, useTiny) => {
        const m = mbuf(bytes, useTiny ? tiny : pool);
        const h = flowHash(m);
        expect(h >>> 0).toBe(h);
        const after = new Uint8Array(m.length);
        m.copyTo(after);
        expect(Buffer.from(after).equals(Buffer.from(bytes))).toBe(true);
        m.free();
      }),
    );
  });
});

describe('txQueueOf', () => {
  it('uses PacketMeta.flowHash when the stack set one, the packet otherwise', () => {
    const f: Flow = { v6: false, proto: 17, src: 5, dst: 6, sport: 7, dport: 8 };
    const m = mbuf(frame(f));
    expect(txQueueOf(m, 1)).toBe(0);
    expect(txQueueOf(m, 3)).toBe(flowHash(m) % 3);
    m.meta.flowHash = 0x80000005;
    expect(txQueueOf(m, 3)).toBe(0x80000005 % 3);
    m.free();
  });
});
