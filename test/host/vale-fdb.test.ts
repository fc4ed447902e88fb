// The VALE forwarding table: learning, flooding, bounded by construction.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FDB_BUCKETS, FDB_FLOOD, FDB_TOTAL_WORDS, ForwardingTable, HostError } from '../../src/host/index.ts';

function eth(dst: number[], src: number[]): Uint8Array {
  const f = new Uint8Array(14);
  f.set(dst, 0);
  f.set(src, 6);
  return f;
}

const mac = fc
  .array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 })
  .map((m) => [m[0]! & 0xfe, ...m.slice(1)]);

describe('forwarding table', () => {
  it('bucketOf: the bucket learn uses (a colliding MAC evicts), in range; no MAC at the offset is HOST_ARG', () => {
    const t = new ForwardingTable(new Int32Array(FDB_TOTAL_WORDS), 0);
    // Find two unicast MACs in one bucket: learning the second evicts the first.
    const first = [2, 0, 0, 0, 0, 0];
    const b0 = ForwardingTable.bucketOf(Uint8Array.from(first));
    let other: number[] | null = null;
    for (let k = 1; k < 1 << 16 && other === null; k++) {
      const m = [2, 0, 0, 0, k >> 8, k & 0xff];
      const b = ForwardingTable.bucketOf(Uint8Array.from(m));
      expect(b >= 0 && b < FDB_BUCKETS).toBe(true);
      if (b === b0) other = m;
    }
    expect(other).not.toBeNull();
    t.learn(eth([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], first), 0, 1);
    expect(t.lookup(eth(first, [2, 9, 9, 9, 9, 9]), 0)).toBe(1);
    t.learn(eth([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], other!), 0, 2);
    expect(t.lookup(eth(first, [2, 9, 9, 9, 9, 9]), 0)).toBe(FDB_FLOOD);
    expect(t.lookup(eth(other!, [2, 9, 9, 9, 9, 9]), 0)).toBe(2);
    expect(ForwardingTable.bucketOf(eth(first, other!), 6)).toBe(
      ForwardingTable.bucketOf(Uint8Array.from(other!)),
    );
    for (const [m, off] of [
      [new Uint8Array(5), 0],
      [new Uint8Array(8), 3],
      [new Uint8Array(8), -1],
      [new Uint8Array(8), 0.5],
    ] as const) {
      expect(() => ForwardingTable.bucketOf(m, off)).toThrow(HostError);
    }
  });

  it('learns unicast sources and switches to them; floods group and unknown destinations', () => {
    const t = new ForwardingTable(new Int32Array(FDB_TOTAL_WORDS), 0);
    const a = [2, 0, 0, 0, 0, 1];
    const b = [2, 0, 0, 0, 0, 2];
    expect(t.lookup(eth(a, b), 0)).toBe(FDB_FLOOD);
    t.learn(eth(b, a), 0, 3);
    expect(t.lookup(eth(a, b), 0)).toBe(3);
    t.learn(eth(b, a), 0, 5); // moved to another port
    expect(t.lookup(eth(a, b), 0)).toBe(5);
    expect(t.lookup(eth([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], b), 0)).toBe(FDB_FLOOD);
    expect(t.lookup(eth([0x33, 0x33, 0, 0, 0, 1], b), 0)).toBe(FDB_FLOOD);
    // A group source address is never learnt.
    t.learn(eth(a, [3, 0, 0, 0, 0, 9]), 0, 1);
    expect(t.lookup(eth([3, 0, 0, 0, 0, 9], a), 0)).toBe(FDB_FLOOD);
    t.forgetPort(5);
    expect(t.lookup(eth(a, b), 0)).toBe(FDB_FLOOD);
  });

  it('never answers a port for a MAC it was not learnt with, and stays within its words', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(mac, fc.integer({ min: 0, max: 253 })), { maxLength: 3000 }),
        fc.array(mac, { maxLength: 50 }),
        (learnt, probes) => {
          const words = new Int32Array(FDB_TOTAL_WORDS + 8);
          const t = new ForwardingTable(words, 4);
          const last = new Map<string, number>();
          for (const [m, p] of learnt) {
            t.learn(eth([2, 2, 2, 2, 2, 2], m), 0, p);
            last.set(m.join(':'), p);
          }
          for (const m of [...probes, ...learnt.map(([x]) => x)]) {
            const r = t.lookup(eth(m, [2, 0, 0, 0, 0, 0]), 0);
            // Either flooded (evicted by a collision) or exactly the latest port learnt for it.
            if (r !== FDB_FLOOD) expect(r).toBe(last.get(m.join(':')));
          }
          expect([...words.subarray(0, 4), ...words.subarray(4 + FDB_TOTAL_WORDS)]).toEqual(
            new Array(8).fill(0),
          );
          expect(t.generation() >= (learnt.length > 0 ? 1 : 0)).toBe(true);
        },
      ),
      { numRuns: 30 },
    );
  });
});
