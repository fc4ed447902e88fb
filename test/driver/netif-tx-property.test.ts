// The transmit path against a host the test plays itself: random frames built as multi-segment
// mbuf chains, random `more` hints, a host that frees slots only now and then. The host parses the
// published slots back (header in front of the first, NS_MOREFRAG on all but the last, full
// buffers but the last) and must find every frame, in order, intact, with its header; 'busy' comes
// only below min_tx_slots free, and a frame refused is retried as is.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/device/index.ts';
import { PtnetAdapter, PtnetNetIf } from '../../src/driver/index.ts';
import { META_F_NEEDS_CSUM, Mempool } from '../../src/mbuf/index.ts';
import { NAF_FORCE_RECLAIM, NS_MOREFRAG, nmRingNext, nmRingSpace } from '../../src/netmap/index.ts';
import { FakeKloop, FakePort } from '../device/fake-backend.ts';

const SLOTS = 128;
const HDR = 12;

interface Pkt {
  len: number;
  csum: boolean;
  more: boolean;
  seed: number;
}

const pktArb: fc.Arbitrary<Pkt> = fc.record({
  len: fc.oneof(
    { weight: 5, arbitrary: fc.integer({ min: 60, max: 4200 }) },
    { weight: 1, arbitrary: fc.integer({ min: 4201, max: 65535 + 14 }) },
  ),
  csum: fc.boolean(),
  more: fc.boolean(),
  seed: fc.nat(255),
});

/** Ethernet + IPv4 + UDP with consistent lengths, payload from the seed. */
function frameOf(p: Pkt): Uint8Array {
  const f = new Uint8Array(p.len);
  for (let k = 0; k < f.length; k++) f[k] = (k * 11 + p.seed) & 0xff;
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0]);
  f[16] = (p.len - 14) >>> 8;
  f[17] = (p.len - 14) & 0xff;
  f[20] = 0;
  f[21] = 0;
  f[23] = 17;
  f[38] = (p.len - 34) >>> 8;
  f[39] = (p.len - 34) & 0xff;
  return f;
}

describe('transmit: random bursts against a hand-driven host', () => {
  it('every frame reaches the slots whole, in order, with its header; busy only below min_tx_slots', () => {
    fc.assert(
      fc.property(
        fc.array(pktArb, { minLength: 1, maxLength: 60 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 20 }),
        (pkts, hostRuns) => {
          const machine = new Machine({ size: 16 * 4096 });
          const loops: FakeKloop[] = [];
          machine.addPtnet(new FakePort('t', 1, 1, SLOTS, SLOTS), (p, c, i) => {
            const l = new FakeKloop(p, c, i);
            loops.push(l);
            return l;
          });
          const nif = new PtnetNetIf(PtnetAdapter.attach(machine), { rxPool: new Mempool({ segments: 8 }) });
          const tx = nif.adapter.krings[0]!;
          const ring = tx.ring;
          const bs = ring.bufSize;
          const minTx = nif.adapter.minTxSlots;
          // Small segments: every frame is a chain the driver must walk.
          const pool = new Mempool({ segments: 2048, segmentSize: 256, headroom: 32 });
          const frames = pkts.map(frameOf);
          const seen: Uint8Array[] = [];
          let hostCur = 0;
          /** The host takes every published slot, parses packets, frees them all. */
          const host = (): void => {
            const head = tx.atok.head;
            let cur: Uint8Array[] = [];
            while (hostCur !== head) {
              const off = ring.slotBufOffset(hostCur);
              const len = ring.slotLen(hostCur);
              const more = (ring.slotFlags(hostCur) & NS_MOREFRAG) !== 0;
              expect(ring.slotFlags(hostCur) & ~NS_MOREFRAG).toBe(0);
              if (more) expect(len).toBe(bs);
              cur.push(ring.bytes.slice(off, off + len));
              hostCur = nmRingNext(hostCur, SLOTS);
              if (!more) {
                const total = cur.reduce((a, b) => a + b.length, 0);
                const pkt = new Uint8Array(total);
                let o = 0;
                for (const b of cur) {
                  pkt.set(b, o);
                  o += b.length;
                }
                seen.push(pkt);
                cur = [];
              }
            }
            // A chain is published whole: nothing is left open at head.
            expect(cur).toHaveLength(0);
            tx.ktoa.hwcur = head;
            tx.ktoa.hwtail = (head + SLOTS - 1) % SLOTS;
            // The host goes to sleep (wants kicks) or stays awake (polling), at random.
            tx.ktoa.kernNeedKick = hostRuns[hostCur % hostRuns.length] ? 1 : 0;
          };
          let run = 0;
          for (let k = 0; k < pkts.length; k++) {
            const p = pkts[k]!;
            const m = pool.alloc()!;
            expect(m.append(frames[k]!)).toBe(true);
            if (p.csum) {
              m.meta.flags = META_F_NEEDS_CSUM;
              m.meta.csumStart = 34;
              m.meta.csumOffset = 6;
            }
            for (;;) {
              const kicks = loops[0]!.kicks.length;
              const asleep = tx.ktoa.kernNeedKick;
              const r = nif.transmit(m, p.more && k + 1 < pkts.length);
              // Kicks only when the host asked for one, carrying NAF_FORCE_RECLAIM.
              if (asleep === 0) expect(loops[0]!.kicks.length).toBe(kicks);
              if (loops[0]!.kicks.length > kicks) expect(tx.atok.syncFlags).toBe(NAF_FORCE_RECLAIM);
              // The end of a burst published something: a sleeping host is kicked.
              if (asleep === 1 && r === 'ok' && !(p.more && k + 1 < pkts.length))
                expect(loops[0]!.kicks.length).toBeGreaterThan(kicks);
              if (r === 'ok') break;
              // Refused only short of min_tx_slots, with everything pending published, interrupt armed.
              expect(nmRingSpace(tx.rhead, tx.hwtail, SLOTS)).toBeLessThan(minTx);
              expect(tx.atok.head).toBe(tx.rhead);
              expect(tx.atok.applNeedKick).toBe(1);
              expect(m.inUse).toBe(true);
              host();
            }
            if (!(p.more && k + 1 < pkts.length)) expect(tx.atok.head).toBe(tx.rhead);
            if (hostRuns[run++ % hostRuns.length]) host();
          }
          host();
          expect(seen).toHaveLength(frames.length);
          seen.forEach((s, k) => {
            const want = new Uint8Array(HDR + frames[k]!.length);
            want.set(frames[k]!, HDR);
            if (pkts[k]!.csum) want.set([1, 0, 0, 0, 0, 0, 34, 0, 6, 0], 0);
            expect(Buffer.from(s).equals(Buffer.from(want))).toBe(true);
          });
          expect(nif.counters.txPackets).toBe(frames.length);
          expect(pool.mbufsFree).toBe(pool.mbufCount);
        },
      ),
      { numRuns: 60 },
    );
  });
});
