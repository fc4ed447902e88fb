// Buffer ownership when the interface swaps buffers with the rings (the port lends extra buffers):
// against a host the test plays itself, random interleavings of host RX deliveries, polls, frees of
// held mbufs, transmits and host TX consumption. After every step each buffer of the port (its ring
// buffers and its extra buffers) must be in exactly one place: a ring slot (the pool says lent), the
// pool's free stack, or one live mbuf; the driver owns as many as it was lent; and every held mbuf
// still has the bytes it arrived with, although the host keeps writing into the slots it came from.
// Two more tests corrupt the state by hand (a swap skipped, a swap doubled) to show the audit fails.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COPY_SITE, copyBytes, resetCopyCounts } from '../../src/copycount/index.ts';
import { Machine, hostKloop } from '../../src/device/index.ts';
import { PtnetAdapter, PtnetNetIf } from '../../src/driver/index.ts';
import { createPipe, type NetmapPort } from '../../src/host/index.ts';
import { Mempool, SEG_FREE, SEG_LENT, SEG_LIVE, type Mbuf } from '../../src/mbuf/index.ts';
import { NS_BUF_CHANGED, NS_MOREFRAG, nmRingNext, nmRingSpace } from '../../src/netmap/index.ts';
import { FakeKloop, FakePort } from '../device/fake-backend.ts';
import { META_F_NEEDS_CSUM, META_GSO_TCPV4 } from '../../src/mbuf/index.ts';
import { buildFrame } from '../vnethdr/frames.ts';

const SLOTS = 16;
const HDR = 12;
const EXTRA = 96;

/** Byte k of packet `id` (frame bytes, after the header). */
const fill = (id: number, k: number): number => (id * 31 + k * 7 + 1) & 0xff;

function frame(id: number, len: number): Uint8Array {
  const f = new Uint8Array(len);
  for (let k = 0; k < len; k++) f[k] = fill(id, k);
  // Not a valid IP packet: the driver does not parse RX frames, and TX frames go out without meta.
  f[12] = 0x88;
  f[13] = 0xb5;
  return f;
}

function bytesOf(m: Mbuf): Uint8Array {
  const b = new Uint8Array(m.length);
  m.copyTo(b);
  return b;
}

function rig(extra = EXTRA, vnetHdr = true) {
  const machine = new Machine({ size: 16 * 4096 });
  const loops: FakeKloop[] = [];
  machine.addPtnet(new FakePort('z', 1, 1, SLOTS, SLOTS, [0, 10, 12], undefined, extra), (p, c, i) => {
    const l = new FakeKloop(p, c, i);
    loops.push(l);
    return l;
  });
  const rxPool = new Mempool({ segments: 8 });
  const nif = new PtnetNetIf(PtnetAdapter.attach(machine, { vnetHdr }), { rxPool });
  const tx = nif.adapter.krings[0]!;
  const rx = nif.adapter.krings[1]!;
  const pool = nif.pool;
  // The port's buffers: its ring slots' and its extra ones (free in the pool at attach).
  const universe = new Set<number>();
  for (const kr of [tx, rx]) for (let i = 0; i < SLOTS; i++) universe.add(kr.ring.slotBufIdx(i));
  if (pool !== null)
    for (let s = 0; s < pool.segmentCount; s++) if (pool.segState[s] === SEG_FREE) universe.add(s);
  return { nif, tx, rx, pool, rxPool, universe };
}

type Rig = ReturnType<typeof rig>;

/** Where every buffer of the port is; returns what is wrong (empty when all is well). */
function audit(r: Rig, held: readonly Mbuf[]): string[] {
  const pool = r.pool!;
  const bad: string[] = [];
  const where = new Map<number, string>();
  const put = (s: number, place: string, state: number): void => {
    const was = where.get(s);
    if (was !== undefined) bad.push(`buffer ${s} in ${was} and ${place}`);
    where.set(s, place);
    if (pool.segState[s] !== state) bad.push(`buffer ${s} in ${place} has state ${pool.segState[s]}`);
  };
  for (const kr of [r.tx, r.rx])
    for (let i = 0; i < SLOTS; i++) put(kr.ring.slotBufIdx(i), `ring ${kr.id} slot ${i}`, SEG_LENT);
  let live = 0;
  for (const m of held) {
    if (m.pool !== pool) continue;
    for (let s = m.firstSeg; s >= 0; s = pool.segNext[s]!, live++) put(s, `mbuf ${m.index}`, SEG_LIVE);
  }
  let free = 0;
  for (let s = 0; s < pool.segmentCount; s++) {
    if (pool.segState[s] === SEG_FREE) {
      put(s, 'free', SEG_FREE);
      free++;
    } else if (pool.segState[s] === SEG_LIVE && !where.has(s)) bad.push(`buffer ${s} live in no mbuf`);
  }
  if (free !== pool.segmentsFree) bad.push(`${free} free buffers, the stack holds ${pool.segmentsFree}`);
  if (free + live !== EXTRA) bad.push(`the driver owns ${free + live} buffers, was lent ${EXTRA}`);
  for (const s of r.universe) if (!where.has(s)) bad.push(`buffer ${s} is nowhere`);
  if (where.size !== r.universe.size)
    bad.push(`${where.size} buffers placed, the port has ${r.universe.size}`);
  return bad;
}

/** The host side of RX: writes a packet of `lens` slots at hwtail if there is room. */
function hostRx(r: Rig, id: number, lens: number[]): Uint8Array | null {
  const ring = r.rx.ring;
  let hwtail = r.rx.ktoa.hwtail;
  const room = nmRingSpace(hwtail, (r.rx.atok.head + SLOTS - 1) % SLOTS, SLOTS);
  if (lens.length > room) return null;
  const total = lens.reduce((a, b) => a + b, 0);
  const f = frame(id, total);
  let o = 0;
  lens.forEach((len, k) => {
    const off = ring.slotBufOffset(hwtail);
    const from = k === 0 ? HDR : 0;
    ring.bytes.fill(0, off, off + from);
    ring.bytes.set(f.subarray(o, o + len), off + from);
    o += len;
    ring.setSlotLen(hwtail, from + len);
    ring.setSlotFlags(hwtail, k + 1 < lens.length ? NS_MOREFRAG : 0);
    hwtail = nmRingNext(hwtail, SLOTS);
  });
  r.rx.ktoa.hwcur = r.rx.atok.head;
  r.rx.ktoa.hwtail = hwtail;
  return f;
}

/** The host side of TX: takes every published slot (VALE: the buffers stay in the slots). */
function hostTx(r: Rig, cur: number, seen: Uint8Array[]): number {
  const ring = r.tx.ring;
  const head = r.tx.atok.head;
  let parts: Uint8Array[] = [];
  while (cur !== head) {
    const off = ring.slotBufOffset(cur);
    parts.push(ring.bytes.slice(off, off + ring.slotLen(cur)));
    const more = (ring.slotFlags(cur) & NS_MOREFRAG) !== 0;
    cur = nmRingNext(cur, SLOTS);
    if (!more) {
      seen.push(Buffer.concat(parts).subarray(HDR));
      parts = [];
    }
  }
  r.tx.ktoa.hwcur = head;
  r.tx.ktoa.hwtail = (head + SLOTS - 1) % SLOTS;
  return cur;
}

const opArb = fc.oneof(
  fc.record({
    op: fc.constant('rx' as const),
    // Frames of at least 14 bytes (shorter ones are dropped as runts, netif-rx-property.test.ts).
    lens: fc.tuple(
      fc.integer({ min: 14, max: 2048 - HDR }),
      fc.array(fc.integer({ min: 1, max: 2048 }), { maxLength: 2 }),
    ),
  }),
  fc.record({ op: fc.constant('poll' as const), budget: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant('free' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('tx' as const), len: fc.integer({ min: 60, max: 6000 }) }),
  fc.record({ op: fc.constant('hostTx' as const) }),
);

describe('zero-copy datapath: buffer ownership', () => {
  it('property: every buffer in exactly one place, held mbufs never overwritten, all delivered', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 80 }), (ops) => {
        const r = rig();
        expect(r.pool).not.toBeNull();
        const pool = r.pool!;
        const held: { m: Mbuf; bytes: Uint8Array }[] = [];
        const sent: Uint8Array[] = [];
        const pending: Uint8Array[] = []; // published by the host, not yet polled
        const seenTx: Uint8Array[] = [];
        let hostCur = 0;
        let id = 0;
        const deliver = (m: Mbuf): void => {
          const want = pending.shift()!;
          expect(Buffer.from(bytesOf(m)).equals(Buffer.from(want))).toBe(true);
          held.push({ m, bytes: want });
        };
        for (const o of ops) {
          if (o.op === 'rx') {
            const f = hostRx(r, id++, [o.lens[0], ...o.lens[1]]);
            if (f !== null) pending.push(f);
          } else if (o.op === 'poll') {
            r.nif.poll(o.budget, deliver);
          } else if (o.op === 'free' && held.length > 0) {
            const [h] = held.splice(o.pick % held.length, 1);
            h!.m.free();
          } else if (o.op === 'tx') {
            const m = pool.alloc();
            if (m === null) continue;
            const f = frame(id++, o.len);
            if (!m.append(f)) {
              m.free();
              continue;
            }
            if (r.nif.transmit(m, false) === 'ok') sent.push(f);
            else m.free();
          } else if (o.op === 'hostTx') {
            hostCur = hostTx(r, hostCur, seenTx);
          }
          expect(
            audit(
              r,
              held.map((h) => h.m),
            ),
          ).toEqual([]);
          for (const h of held) expect(Buffer.from(bytesOf(h.m)).equals(Buffer.from(h.bytes))).toBe(true);
        }
        // Drain: the host takes the rest of TX; every packet the host published comes up.
        hostCur = hostTx(r, hostCur, seenTx);
        for (let g = 0; g < 100 && pending.length > 0; g++) {
          r.nif.poll(64, deliver);
          for (const h of held.splice(0)) h.m.free();
        }
        expect(pending).toHaveLength(0);
        expect(seenTx.map((b) => Buffer.from(b).toString('hex'))).toEqual(
          sent.map((b) => Buffer.from(b).toString('hex')),
        );
        for (const h of held.splice(0)) h.m.free();
        expect(audit(r, [])).toEqual([]);
        expect(r.rxPool.inUse).toBe(0);
        expect(r.nif.counters.rxDropBadBuf + r.nif.counters.txBadSlotBuf).toBe(0);
      }),
      { numRuns: 60 },
    );
  }, 90_000);

  it('the audit fails when a swap is skipped: the handed-up buffer back in its slot', () => {
    const r = rig();
    const held: Mbuf[] = [];
    const f = hostRx(r, 1, [100])!;
    expect(r.nif.poll(8, (m) => held.push(m))).toBe(1);
    expect(audit(r, held)).toEqual([]);
    const m = held[0]!;
    // What a driver that forgot to swap would leave: the slot still pointing at the mbuf's buffer.
    r.rx.ring.setSlotBufIdx(0, m.firstSeg);
    expect(audit(r, held).length).toBeGreaterThan(0);
    // And the host filling that slot again (once the ring wraps) overwrites the held mbuf.
    const off = r.rx.ring.slotBufOffset(0);
    r.rx.ring.bytes.fill(0xee, off, off + 112);
    expect(Buffer.from(bytesOf(m)).equals(Buffer.from(f))).toBe(false);
  });

  it('the audit fails when a swap is doubled: a second buffer lent into the same slot', () => {
    const r = rig();
    const held: Mbuf[] = [];
    hostRx(r, 1, [100, 200]);
    expect(r.nif.poll(8, (m) => held.push(m))).toBe(1);
    expect(audit(r, held)).toEqual([]);
    r.rx.ring.setSlotBufIdx(1, r.pool!.lendSeg());
    expect(audit(r, held).length).toBeGreaterThan(0);
  });

  it('swapped packets are not copied; slots handed up come back NS_BUF_CHANGED with a fresh buffer', () => {
    const r = rig();
    const pool = r.pool!;
    resetCopyCounts();
    const before = [0, 1, 2].map((i) => r.rx.ring.slotBufIdx(i));
    hostRx(r, 1, [1500]);
    hostRx(r, 2, [2036, 700]);
    const held: Mbuf[] = [];
    expect(r.nif.poll(8, (m) => held.push(m))).toBe(2);
    expect(held.map((m) => m.segCount)).toEqual([1, 2]);
    expect(held[0]!.firstSeg).toBe(before[0]);
    expect(held[1]!.firstSeg).toBe(before[1]);
    for (let i = 0; i < 3; i++) {
      expect(r.rx.ring.slotFlags(i)).toBe(NS_BUF_CHANGED);
      expect(pool.segState[r.rx.ring.slotBufIdx(i)]).toBe(SEG_LENT);
      expect(before).not.toContain(r.rx.ring.slotBufIdx(i));
    }
    const m = pool.alloc()!;
    m.append(frame(3, 3000));
    const seg = [m.firstSeg, pool.segNext[m.firstSeg]!];
    expect(r.nif.transmit(m, false)).toBe('ok');
    expect([r.tx.ring.slotBufIdx(0), r.tx.ring.slotBufIdx(1)]).toEqual(seg);
    expect(r.tx.ring.slotFlags(0)).toBe(NS_BUF_CHANGED | NS_MOREFRAG);
    expect(r.tx.ring.slotFlags(1)).toBe(NS_BUF_CHANGED);
    expect(copyBytes[COPY_SITE.driverRx]).toBe(0);
    expect(copyBytes[COPY_SITE.driverTx]).toBe(0);
    expect(r.nif.counters.rxBorrowed).toBe(2);
    expect(r.nif.counters.txSwapped).toBe(1);
    for (const h of held) h.free();
  });

  it("the header: from the meta into a lent frame's headroom, parsed when the meta says less, copied for a frame not lent", () => {
    const r = rig();
    const pool = r.pool!;
    const hdrAt = (h: number): number[] => {
      const off = r.tx.ring.slotBufOffset(h);
      return [...r.tx.ring.bytes.subarray(off, off + HDR)];
    };
    const le = (v: number): number[] => [v & 0xff, v >> 8];
    // A TSO super-frame the stack built: virtio_net_hdr_from_skb, nothing parsed.
    const tso = buildFrame({ payload: 3000, tcpOpts: 12 });
    const m1 = pool.alloc()!;
    m1.append(tso.bytes);
    Object.assign(m1.meta, {
      flags: META_F_NEEDS_CSUM,
      csumStart: tso.l4,
      csumOffset: 16,
      gsoType: META_GSO_TCPV4,
      gsoSize: 1000,
      hdrLen: tso.hdrEnd,
    });
    const seen: Uint8Array[] = [];
    let cur = 0;
    let h = r.tx.rhead;
    expect(r.nif.transmit(m1, false)).toBe('ok');
    cur = hostTx(r, cur, seen);
    expect(hdrAt(h)).toEqual([1, 1, ...le(tso.hdrEnd), ...le(1000), ...le(tso.l4), 16, 0, 0, 0]);
    // A VLAN-tagged frame: the meta does not name its L4 header, the parser finds it.
    const tagged = buildFrame({ vlans: [5], payload: 300 });
    const m2 = pool.alloc()!;
    m2.append(tagged.bytes);
    Object.assign(m2.meta, { flags: META_F_NEEDS_CSUM, csumStart: tagged.l4, csumOffset: 16 });
    h = r.tx.rhead;
    const lent = m2.firstSeg;
    expect(r.nif.transmit(m2, false)).toBe('ok');
    cur = hostTx(r, cur, seen);
    expect(r.tx.ring.slotBufIdx(h)).toBe(lent);
    expect(hdrAt(h)).toEqual([1, 0, 0, 0, 0, 0, ...le(tagged.l4), 16, 0, 0, 0]);
    // Not from the NIC's pool: copied into the slot's own buffer, the header in front.
    const plain = buildFrame({ payload: 200 });
    const m3 = r.rxPool.alloc()!;
    m3.append(plain.bytes);
    Object.assign(m3.meta, { flags: META_F_NEEDS_CSUM, csumStart: plain.l4, csumOffset: 16 });
    h = r.tx.rhead;
    const own = r.tx.ring.slotBufIdx(h);
    expect(r.nif.transmit(m3, false)).toBe('ok');
    hostTx(r, cur, seen);
    expect(seen.map((f) => Buffer.from(f).toString('hex'))).toEqual(
      [tso, tagged, plain].map((f) => Buffer.from(f.bytes).toString('hex')),
    );
    expect(r.tx.ring.slotBufIdx(h)).toBe(own);
    expect(hdrAt(h)).toEqual([1, 0, 0, 0, 0, 0, ...le(plain.l4), 16, 0, 0, 0]);
    const off = r.tx.ring.slotBufOffset(h) + HDR;
    expect(Buffer.from(r.tx.ring.bytes.subarray(off, off + plain.bytes.length)).equals(plain.bytes)).toBe(
      true,
    );
    expect(r.nif.counters.txSwapped).toBe(2);
    expect(r.nif.counters.txDropHdr).toBe(0);
  });

  it('without extra buffers the driver copies, and counts what it copied', () => {
    const r = rig(0);
    expect(r.pool).toBeNull();
    resetCopyCounts();
    hostRx(r, 1, [1500]);
    hostRx(r, 2, [2036, 700]);
    const lens: number[] = [];
    r.nif.poll(8, (m) => {
      lens.push(m.length);
      m.free();
    });
    expect(lens).toEqual([1500, 2736]);
    expect(copyBytes[COPY_SITE.driverRx]).toBe(1500 + 2736);
    expect(r.nif.counters.rxBorrowed).toBe(0);
  });

  it('an exhausted swap pool falls back to copying into rxPool, then stalls, then recovers', () => {
    const r = rig();
    const held: Mbuf[] = [];
    let published = 0;
    let got = 0;
    const pump = (): void => {
      while (hostRx(r, published, [200]) !== null) published++;
      r.nif.poll(64, (m) => {
        held.push(m);
        got++;
      });
    };
    for (let k = 0; k < 20; k++) pump();
    // EXTRA swap buffers, then the fallback pool's 8 segments: the rest wait in the ring.
    expect(got).toBe(EXTRA + 8);
    expect(r.nif.counters.rxNoMbuf).toBeGreaterThan(0);
    expect(held.filter((m) => m.pool === r.rxPool)).toHaveLength(8);
    for (const m of held.splice(0)) m.free();
    pump();
    expect(got).toBeGreaterThan(EXTRA + 8);
    for (const m of held.splice(0)) m.free();
    expect(audit(r, [])).toEqual([]);
  });

  it('close gives the free extra buffers back through ni_bufs_head', () => {
    const r = rig();
    const nifp = r.nif.adapter.nifp;
    expect(nifp.bufsHead).toBe(0);
    r.nif.close();
    const dv = new DataView(r.nif.adapter.memBar.buffer, r.nif.adapter.bufBase);
    const chain = new Set<number>();
    for (let b = nifp.bufsHead; b !== 0; b = dv.getUint32(b * r.nif.adapter.bufSize, true)) chain.add(b);
    expect(chain.size).toBe(EXTRA);
    expect(r.pool!.segmentsFree).toBe(0);
  });
});

describe('zero-copy datapath: indices a host should not have written', () => {
  it('a reserved or driver-owned index in an RX slot is copied from, never taken', () => {
    const r = rig();
    const pool = r.pool!;
    hostRx(r, 1, [300]);
    hostRx(r, 2, [300]);
    r.rx.ring.setSlotBufIdx(0, 0);
    const free = pool.lendSeg();
    pool.reclaimSeg(free);
    r.rx.ring.setSlotBufIdx(1, free); // one of the driver's free buffers
    const got: Mbuf[] = [];
    expect(r.nif.poll(8, (m) => got.push(m))).toBe(2);
    expect(got.map((m) => m.pool)).toEqual([r.rxPool, r.rxPool]);
    expect(r.nif.counters.rxBorrowed).toBe(0);
    expect(pool.segState[0]).toBe(SEG_LENT);
    expect(pool.segState[free]).toBe(SEG_FREE);
    for (const m of got) m.free();
  });

  it('the same index twice in one packet: dropped, counted, both slots get fresh buffers', () => {
    const r = rig();
    const pool = r.pool!;
    hostRx(r, 1, [300, 300]);
    const x = r.rx.ring.slotBufIdx(0);
    r.rx.ring.setSlotBufIdx(1, x);
    let n = 0;
    r.nif.poll(8, () => n++);
    expect(n).toBe(0);
    expect(r.nif.counters.rxDropBadBuf).toBe(1);
    expect(pool.segState[x]).toBe(SEG_FREE);
    const s0 = r.rx.ring.slotBufIdx(0);
    const s1 = r.rx.ring.slotBufIdx(1);
    expect(new Set([x, s0, s1]).size).toBe(3);
    expect([pool.segState[s0], pool.segState[s1]]).toEqual([SEG_LENT, SEG_LENT]);
  });

  it('a TX slot holding a reserved index: counted, the buffer forgotten, the packet sent', () => {
    const r = rig();
    const pool = r.pool!;
    r.tx.ring.setSlotBufIdx(0, 1);
    const m = pool.alloc()!;
    m.append(frame(1, 100));
    const s = m.firstSeg;
    expect(r.nif.transmit(m, false)).toBe('ok');
    expect(r.nif.counters.txBadSlotBuf).toBe(1);
    expect(r.tx.ring.slotBufIdx(0)).toBe(s);
    expect(pool.segState[1]).toBe(SEG_LENT);
  });
});

describe('zero-copy datapath over a real pipe (the host swaps buffers between the ends)', () => {
  it('property: after random exchanges both ways, every buffer of the pipe is in one place', async () => {
    const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ dir: fc.boolean(), len: fc.integer({ min: 60, max: 9000 }) }), {
          minLength: 1,
          maxLength: 40,
        }),
        async (sends) => {
          const [e0, e1] = createPipe('zp', { slots: 64, extraBufs: 128 });
          const nif = (port: NetmapPort): PtnetNetIf => {
            const m = new Machine({ size: 16 * 4096 });
            m.addPtnet(port, hostKloop('inline'));
            return new PtnetNetIf(PtnetAdapter.attach(m), { rxPool: new Mempool({ segments: 64 }) });
          };
          const ends = [nif(e0), nif(e1)] as const;
          const region = e0.region;
          // Every buffer the region handed out: the four rings' and the two ends' extra ones.
          const allocated = new Set<number>();
          for (let b = 2; b < region.bufCount; b++) if (region.isBufAllocated(b)) allocated.add(b);
          const got: Uint8Array[][] = [[], []];
          const want: Uint8Array[][] = [[], []];
          for (const [k, s] of sends.entries()) {
            const from = ends[s.dir ? 0 : 1];
            const to = s.dir ? 1 : 0;
            const m = from.pool!.alloc()!;
            const f = frame(k, s.len);
            m.append(f);
            if (from.transmit(m, false) === 'ok') want[to]!.push(f);
            else m.free();
            // The peer's kloop publishes hwtail in its own turn (inline: a queued wake-up).
            await turn();
            ends[to].poll(64, (x) => {
              got[to]!.push(bytesOf(x));
              x.free();
            });
          }
          await turn();
          for (const t of [0, 1]) {
            ends[t]!.poll(64, (x) => {
              got[t]!.push(bytesOf(x));
              x.free();
            });
            expect(got[t]!.map((b) => Buffer.from(b).toString('hex'))).toEqual(
              want[t]!.map((b) => Buffer.from(b).toString('hex')),
            );
          }
          // Each buffer: in exactly one slot of the pipe's four rings, or free in exactly one pool.
          const seen = new Map<number, string>();
          const place = (b: number, where: string): void => {
            expect(seen.get(b), `buffer ${b} in ${where}`).toBeUndefined();
            seen.set(b, where);
          };
          for (const [e, n] of ends.entries()) {
            for (const kr of n.adapter.krings)
              for (let i = 0; i < kr.numSlots; i++) place(kr.ring.slotBufIdx(i), `end ${e} ring ${kr.id}`);
            const p = n.pool!;
            for (let b = 0; b < p.segmentCount; b++)
              if (p.segState[b] !== SEG_LENT) place(b, `end ${e} pool`);
            expect(p.segmentsFree).toBe(128);
          }
          expect([...seen.keys()].sort((x, y) => x - y)).toEqual([...allocated].sort((x, y) => x - y));
          for (const n of ends) n.adapter.detach();
        },
      ),
      { numRuns: 15 },
    );
  }, 90_000);
});
