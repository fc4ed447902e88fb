import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Machine, hostKloop } from '../../src/device/index.ts';
import type { KloopMode } from '../../src/host/index.ts';
import { PtnetAdapter, PtnetNetIf } from '../../src/driver/index.ts';
import { ValeSwitch, createPipe } from '../../src/host/index.ts';
import type { NetmapPort } from '../../src/host/index.ts';
import { META_F_NEEDS_CSUM, META_GSO_TCPV4, Mempool } from '../../src/mbuf/index.ts';
import type { Mbuf } from '../../src/mbuf/index.ts';
import { NS_MOREFRAG } from '../../src/netmap/index.ts';
import { FakeKloop, FakePort } from '../device/fake-backend.ts';

const MSS = 1448;

function netif(port: NetmapPort, pool: Mempool, vnetHdr = true, mode: KloopMode = 'inline'): PtnetNetIf {
  const m = new Machine({ size: 16 * 4096 });
  m.addPtnet(port, hostKloop(mode));
  return new PtnetNetIf(PtnetAdapter.attach(m, { vnetHdr }), { rxPool: pool });
}

/** Ethernet + IPv4 + TCP (20 bytes each) + payload of `n` bytes filled from `seed`. */
function tcpFrame(n: number, seed: number): Uint8Array {
  const f = new Uint8Array(54 + n);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
  f[14] = 0x45;
  const tot = Math.min(20 + 20 + n, 0xffff);
  f[16] = tot >>> 8;
  f[17] = tot & 0xff;
  f[22] = 64;
  f[23] = 6;
  f[46] = 0x50; // TCP data offset 5
  for (let k = 54; k < f.length; k++) f[k] = (k * 13 + seed) & 0xff;
  return f;
}

type Kind = 'plain' | 'csum' | 'tso';

function mbufOf(pool: Mempool, bytes: Uint8Array, kind: Kind): Mbuf {
  const m = pool.alloc()!;
  expect(m.append(bytes)).toBe(true);
  if (kind !== 'plain') {
    m.meta.flags = META_F_NEEDS_CSUM;
    m.meta.csumStart = 34;
    m.meta.csumOffset = 16;
  }
  if (kind === 'tso') {
    m.meta.gsoType = META_GSO_TCPV4;
    m.meta.gsoSize = MSS;
  }
  return m;
}

function copyOut(m: Mbuf): Uint8Array {
  const b = new Uint8Array(m.length);
  m.copyTo(b);
  return b;
}

describe('ptnet network-interface mode over a host pipe (inline)', () => {
  it('property: frames of any size and offload mix arrive intact, in order, with their metadata', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ n: fc.integer({ min: 6, max: 1500 }), kind: fc.constantFrom<Kind>('plain', 'csum') }),
            fc.record({ n: fc.integer({ min: MSS + 1, max: 65000 }), kind: fc.constant<Kind>('tso') }),
          ),
          { minLength: 1, maxLength: 40 },
        ),
        fc.constantFrom(64, 256),
        async (specs, slots) => {
          const txPool = new Mempool({ segments: 2048 });
          const rxPool = new Mempool({ segments: 4096 });
          const [e0, e1] = createPipe('ni', { slots });
          const a = netif(e0, txPool);
          const b = netif(e1, rxPool);
          expect(a.offloads).toMatchObject({ txCsum: true, tso4: true, tso6: true, rxGso: true, uso: false });
          const got: {
            bytes: Uint8Array;
            flags: number;
            cs: number;
            co: number;
            gso: number;
            gs: number;
            q: number;
          }[] = [];
          const deliver = (m: Mbuf): void => {
            got.push({
              bytes: copyOut(m),
              flags: m.meta.flags,
              cs: m.meta.csumStart,
              co: m.meta.csumOffset,
              gso: m.meta.gsoType,
              gs: m.meta.gsoSize,
              q: m.meta.rxQueue,
            });
            m.pool.free(m);
          };
          // The receiver is event-driven, like a stack: rxReady → poll until below the budget.
          b.setEvents({
            rxReady: () =>
              void (async () => {
                while (b.poll(16, deliver) === 16) await null;
              })(),
            txRestart: () => {},
          });
          let restart: (() => void) | null = null;
          a.setEvents({ rxReady: () => {}, txRestart: () => restart?.() });
          const frames = specs.map((s, k) => tcpFrame(s.n, k));
          for (let k = 0; k < frames.length; k++) {
            const more = k + 1 < frames.length && k % 5 !== 4;
            for (;;) {
              const m = mbufOf(txPool, frames[k]!, specs[k]!.kind);
              if (a.transmit(m, more) === 'ok') break;
              txPool.free(m);
              await new Promise<void>((r) => (restart = r));
              restart = null;
            }
          }
          for (let t = 0; t < 100 && got.length < frames.length; t++)
            await new Promise((r) => setImmediate(r));
          expect(got.length).toBe(frames.length);
          // Buffer#equals: a deep toEqual over 64 KiB arrays would dominate the run time.
          got.forEach((g, k) => expect(Buffer.from(g.bytes).equals(frames[k]!)).toBe(true));
          specs.forEach((s, k) => {
            const g = got[k]!;
            expect(g.q).toBe(0);
            if (s.kind === 'plain') expect([g.flags, g.gso]).toEqual([0, 0]);
            else expect([g.flags, g.cs, g.co]).toEqual([META_F_NEEDS_CSUM, 34, 16]);
            if (s.kind === 'tso') expect([g.gso, g.gs]).toEqual([META_GSO_TCPV4, MSS]);
          });
          expect(a.counters.txPackets).toBe(frames.length);
          expect(b.counters.rxPackets).toBe(frames.length);
          // rxIncomplete may count: the pipe can move part of a multi-slot packet in one pass.
          expect(
            a.counters.txDropHdr + a.counters.txDropSize + b.counters.rxDropHdr + b.counters.rxDropRunt,
          ).toBe(0);
          expect(txPool.mbufsFree).toBe(txPool.mbufCount);
          expect(rxPool.mbufsFree).toBe(rxPool.mbufCount);
          a.adapter.detach();
          b.adapter.detach();
        },
      ),
      { numRuns: 20 },
    );
  });

  it('NAPI: budgeted polls, one rxReady per arming', async () => {
    const pool = new Mempool({ segments: 512 });
    const [e0, e1] = createPipe('nb', { slots: 64 });
    const a = netif(e0, pool);
    const b = netif(e1, pool);
    let ready = 0;
    b.setEvents({ rxReady: () => ready++, txRestart: () => {} });
    for (let k = 0; k < 5; k++) expect(a.transmit(mbufOf(pool, tcpFrame(100, k), 'plain'), k < 4)).toBe('ok');
    await new Promise((r) => setImmediate(r));
    expect(ready).toBe(1);
    const free = (m: Mbuf): void => m.pool.free(m);
    expect(b.poll(2, free)).toBe(2);
    expect(b.poll(2, free)).toBe(2);
    a.transmit(mbufOf(pool, tcpFrame(100, 9), 'plain'));
    await new Promise((r) => setImmediate(r));
    expect(ready).toBe(1); // still polling: no new notification
    expect(b.poll(4, free)).toBe(2);
    a.transmit(mbufOf(pool, tcpFrame(100, 10), 'plain'));
    await new Promise((r) => setImmediate(r));
    expect(ready).toBe(2);
    expect(b.poll(4, free)).toBe(1);
  });

  it('without the virtio-net header: no offloads, plain frames', async () => {
    const pool = new Mempool({ segments: 512 });
    const [e0, e1] = createPipe('nh', { slots: 64 });
    const a = netif(e0, pool, false);
    const b = netif(e1, pool, false);
    expect(a.offloads.txCsum).toBe(false);
    const f = tcpFrame(3000, 1);
    a.transmit(mbufOf(pool, f, 'plain'));
    await new Promise((r) => setImmediate(r));
    const got: Uint8Array[] = [];
    b.poll(8, (m) => {
      got.push(copyOut(m));
      m.pool.free(m);
    });
    expect(got).toEqual([f]);
  });

  it('transmit drops what cannot be sent and still publishes the burst', async () => {
    const pool = new Mempool({ segments: 512 });
    const [e0, e1] = createPipe('nd', { slots: 64 });
    const a = netif(e0, pool);
    const b = netif(e1, pool);
    a.transmit(mbufOf(pool, tcpFrame(100, 1), 'plain'), true);
    // NEEDS_CSUM on a frame that is not IP: no header can be built.
    const arp = mbufOf(pool, tcpFrame(100, 2), 'csum');
    arp.setU8(12, 0x08);
    arp.setU8(13, 0x06);
    expect(a.transmit(arp, true)).toBe('ok');
    const runt = pool.alloc()!;
    runt.append(new Uint8Array(10));
    expect(a.transmit(runt, false)).toBe('ok');
    expect([a.counters.txDropHdr, a.counters.txDropSize, a.counters.txPackets]).toEqual([1, 1, 1]);
    await new Promise((r) => setImmediate(r));
    let n = 0;
    b.poll(8, (m) => {
      n++;
      m.pool.free(m);
    });
    expect(n).toBe(1);
    expect(pool.mbufsFree).toBe(pool.mbufCount);
  });
});

/** Sends frames[i] with flow hash hash(i), waiting for txRestart on 'busy'; b drains on rxReady. */
async function roundTrip(
  a: PtnetNetIf,
  b: PtnetNetIf,
  frames: Uint8Array[],
  pool: Mempool,
  kind: Kind,
  hash: (i: number) => number,
) {
  const got: Mbuf[] = [];
  b.setEvents({
    rxReady: () =>
      void (async () => {
        while (b.poll(16, (m) => got.push(m)) === 16) await null;
      })(),
    txRestart: () => {},
  });
  let restart: (() => void) | null = null;
  a.setEvents({ rxReady: () => {}, txRestart: () => restart?.() });
  for (let k = 0; k < frames.length; k++) {
    for (;;) {
      const m = mbufOf(pool, frames[k]!, kind);
      m.meta.flowHash = hash(k);
      if (a.transmit(m, k % 8 !== 7 && k + 1 < frames.length) === 'ok') break;
      pool.free(m);
      await new Promise<void>((r) => (restart = r));
      restart = null;
    }
  }
  return got;
}

async function settle(cond: () => boolean): Promise<void> {
  for (let t = 0; t < 2000 && !cond(); t++) await new Promise((r) => setTimeout(r, t < 100 ? 0 : 2));
}

describe('ptnet network-interface mode: queues, VALE, worker', () => {
  it('multi-queue: the flow hash picks the TX ring; order holds per ring; rxQueue is set', async () => {
    const pool = new Mempool({ segments: 4096 });
    const [e0, e1] = createPipe('mq', { rings: 2, slots: 64 });
    const a = netif(e0, pool);
    const b = netif(e1, pool);
    expect(a.numQueues).toBe(2);
    const frames = Array.from({ length: 200 }, (_, k) => tcpFrame(100 + (k % 7) * 300, k));
    // flowHash 0 means "none" (the packet's own 5-tuple would decide): use 1..3.
    const got = await roundTrip(a, b, frames, pool, 'plain', (k) => 1 + (k % 3));
    await settle(() => got.length === frames.length);
    expect(got.length).toBe(frames.length);
    for (const q of [0, 1]) {
      const want = frames.filter((_, k) => (1 + (k % 3)) % 2 === q);
      const have = got.filter((m) => m.meta.rxQueue === q).map(copyOut);
      expect(have.length).toBe(want.length);
      have.forEach((h, k) => expect(Buffer.from(h).equals(want[k]!)).toBe(true));
    }
    for (const m of got) m.pool.free(m);
    expect(a.adapter.krings[0]!.counters.kicks + a.adapter.krings[1]!.counters.kicks).toBeGreaterThan(0);
  });

  it('VALE from a 12-byte-header port to a header-less one: the host segments TSO frames', async () => {
    const pool = new Mempool({ segments: 4096 });
    const vale = new ValeSwitch('vale9', {});
    const pa = vale.attach('a');
    const pb = vale.attach('b');
    const a = netif(pa, pool);
    const b = netif(pb, pool, false);
    expect([a.adapter.vnetHdrLen, b.adapter.vnetHdrLen]).toEqual([12, 0]);
    const payload = 10 * MSS;
    const got = await roundTrip(a, b, [tcpFrame(payload, 1)], pool, 'tso', () => 0);
    await settle(() => got.length >= 10);
    // Segments of at most MSS payload each, every one a full Ethernet/IPv4/TCP frame.
    expect(got.length).toBeGreaterThanOrEqual(10);
    expect(got.reduce((s, m) => s + m.length - 54, 0)).toBe(payload);
    for (const m of got) {
      expect(m.length - 54).toBeLessThanOrEqual(MSS);
      expect(m.meta.flags).toBe(0);
      m.pool.free(m);
    }
  });

  it('worker-mode host: 2000 frames of mixed sizes, none lost, in order', async () => {
    const pool = new Mempool({ segments: 8192 });
    const [e0, e1] = createPipe('wq', { slots: 256 });
    const a = netif(e0, pool, true, 'worker');
    const b = netif(e1, pool, true, 'worker');
    const frames = Array.from({ length: 2000 }, (_, k) => tcpFrame(k % 10 === 0 ? 9000 : 100, k));
    const got = await roundTrip(a, b, frames, pool, 'csum', () => 0);
    await settle(() => got.length === frames.length);
    expect(got.length).toBe(frames.length);
    got.forEach((m, k) => {
      expect(Buffer.from(copyOut(m)).equals(frames[k]!)).toBe(true);
      m.pool.free(m);
    });
    a.adapter.detach();
    b.adapter.detach();
  }, 20_000);
});

describe('ptnet receive against a hand-driven host', () => {
  function rig(poolSegments = 64) {
    const machine = new Machine({ size: 16 * 4096 });
    const loops: FakeKloop[] = [];
    machine.addPtnet(new FakePort('h', 1, 1, 16, 16), (p, c, i) => {
      const l = new FakeKloop(p, c, i);
      loops.push(l);
      return l;
    });
    const a = PtnetAdapter.attach(machine);
    const pool = new Mempool({ segments: poolSegments });
    const nif = new PtnetNetIf(a, { rxPool: pool });
    const rx = a.krings[1]!;
    /** Host side: put a slot at i with `len` bytes (first `hdr` bytes zero header) and flags. */
    const put = (i: number, data: Uint8Array, flags: number): void => {
      rx.ring.bytes.set(data, rx.ring.slotBufOffset(i));
      rx.ring.setSlotLen(i, data.length);
      rx.ring.setSlotFlags(i, flags);
    };
    const got: Uint8Array[] = [];
    const deliver = (m: Mbuf): void => {
      got.push(copyOut(m));
      m.pool.free(m);
    };
    return { a, nif, rx, put, got, deliver, pool, loop: loops[0]! };
  }
  const withHdr = (frame: Uint8Array): Uint8Array => {
    const b = new Uint8Array(12 + frame.length);
    b.set(frame, 12);
    return b;
  };

  it('a packet whose fragments are not all there is left in the ring, then delivered whole', () => {
    const { nif, rx, put, got, deliver } = rig();
    const f = tcpFrame(3000, 3);
    const first = withHdr(f).subarray(0, 2048);
    const rest = withHdr(f).subarray(2048);
    put(0, first, NS_MOREFRAG);
    rx.ktoa.hwtail = 1;
    expect(nif.poll(8, deliver)).toBe(0);
    expect(nif.counters.rxIncomplete).toBe(1);
    expect([rx.rhead, rx.atok.applNeedKick]).toEqual([0, 1]);
    put(1, rest, 0x0200); // VALE puts a fragment count in the high byte: only 0x20 matters
    rx.ktoa.hwtail = 2;
    expect(nif.poll(8, deliver)).toBe(1);
    expect(got).toEqual([f]);
    expect(rx.rhead).toBe(2);
    expect(rx.atok.head).toBe(2);
  });

  it('drops and counts runts, oversized slots and refused headers, then goes on', () => {
    const { nif, rx, put, got, deliver } = rig();
    const good = tcpFrame(50, 4);
    put(0, new Uint8Array(5), NS_MOREFRAG); // shorter than the header: the whole chain goes
    put(1, new Uint8Array(100), 0);
    put(2, withHdr(good), 0);
    put(3, new Uint8Array(20), 0);
    rx.ring.setSlotLen(3, 4000); // longer than a buffer
    const badHdr = withHdr(good);
    badHdr[0] = 1; // NEEDS_CSUM
    badHdr[6] = 0xff; // csum_start far beyond the frame
    put(4, badHdr, 0);
    put(5, withHdr(new Uint8Array(10)), 0); // a frame shorter than Ethernet
    put(6, withHdr(good), 0);
    rx.ktoa.hwtail = 7;
    expect(nif.poll(16, deliver)).toBe(2);
    expect(got).toEqual([good, good]);
    expect(nif.counters).toMatchObject({ rxDropRunt: 2, rxDropBadLen: 1, rxDropHdr: 1, rxPackets: 2 });
    expect(rx.rhead).toBe(7);
  });

  it('no mbuf: the packet stays in the ring until one is free', () => {
    const { nif, rx, put, got, deliver, pool } = rig(2);
    const held = [pool.alloc()!, pool.alloc()!];
    put(0, withHdr(tcpFrame(50, 5)), 0);
    rx.ktoa.hwtail = 1;
    expect(nif.poll(8, deliver)).toBe(0);
    expect(nif.counters.rxNoMbuf).toBe(1);
    expect(rx.rhead).toBe(0);
    pool.freeBulk(held, 2);
    expect(nif.poll(8, deliver)).toBe(1);
    expect(got).toHaveLength(1);
  });

  it('the RX interrupt raises rxReady once, and a TX interrupt restarts a stopped queue', async () => {
    const { nif, loop, a } = rig();
    let ready = 0;
    let restarts = 0;
    nif.setEvents({ rxReady: () => ready++, txRestart: () => restarts++ });
    loop.irq(1);
    loop.irq(1);
    await Promise.resolve();
    await Promise.resolve();
    expect(ready).toBe(1);
    // 15 usable TX slots, fewer than min_tx_slots (34): a frame goes only into an empty ring, so
    // the first one goes and the host, which never frees any, leaves the other 19 refused.
    const pool = new Mempool({ segments: 64 });
    let busy = 0;
    for (let k = 0; k < 20; k++) {
      const m = mbufOf(pool, tcpFrame(60, k), 'plain');
      if (nif.transmit(m) === 'busy') {
        busy++;
        pool.free(m);
      }
    }
    expect(busy).toBe(19);
    expect(a.krings[0]!.atok.applNeedKick).toBe(1);
    // The host frees everything and interrupts.
    a.krings[0]!.ktoa.hwcur = 1;
    a.krings[0]!.ktoa.hwtail = 0;
    loop.irq(0);
    await Promise.resolve();
    await Promise.resolve();
    expect(restarts).toBe(1);
    expect(nif.transmit(mbufOf(pool, tcpFrame(60, 99), 'plain'))).toBe('ok');
  });
});
