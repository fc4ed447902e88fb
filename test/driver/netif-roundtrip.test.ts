// The network-interface mode end to end: two guests, each with its own machine and ptnet, joined
// by a host pipe or a VALE switch, the host sync loop inline or in a worker. Real IPv4/IPv6
// TCP/UDP frames of 60..65 536 bytes with random offload metadata go through transmit → slots
// (virtio-net header in front, NS_MOREFRAG chains) → host → slots → poll, and the other guest's
// PacketMeta is checked against what the sender asked for.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/device/index.ts';
import { PtnetAdapter, PtnetNetIf, PtnetNetmapPort } from '../../src/driver/index.ts';
import { SyncKloop, ValeSwitch, createPipe } from '../../src/host/index.ts';
import type { KloopMode, NetmapPort, ValePort } from '../../src/host/index.ts';
import {
  META_F_DATA_VALID,
  META_F_NEEDS_CSUM,
  META_GSO_ECN,
  META_GSO_NONE,
  META_GSO_TCPV4,
  META_GSO_TCPV6,
  Mempool,
} from '../../src/mbuf/index.ts';
import type { Mbuf } from '../../src/mbuf/index.ts';
import { NS_MOREFRAG, nmRingNext, nmRingSpace } from '../../src/netmap/index.ts';
import type { NetIf } from '../../src/netif/index.ts';
import { FakeKloop, FakePort } from '../device/fake-backend.ts';

interface Guest {
  nif: PtnetNetIf;
  loops: SyncKloop[];
}

async function guest(port: NetmapPort, mode: KloopMode, rxPool: Mempool, vnetHdr = true): Promise<Guest> {
  const m = new Machine({ size: 16 * 4096 });
  const loops: SyncKloop[] = [];
  m.addPtnet(port, (p, csb, irq) => {
    const l = new SyncKloop(p, csb, irq, mode);
    loops.push(l);
    return l;
  });
  const nif = new PtnetNetIf(PtnetAdapter.attach(m, { vnetHdr }), { rxPool });
  await Promise.all(loops.map((l) => l.ready()));
  return { nif, loops };
}

/** One test frame: bytes, the offload meta the sender sets, and what the receiver must see. */
interface Spec {
  v6: boolean;
  udp: boolean;
  /** Frame length, 60..65 536. */
  len: number;
  kind: 'plain' | 'csum' | 'tso' | 'valid';
  mss: number;
  cwr: boolean;
  flow: number;
}

const IPV4_MAX_FRAME = 14 + 65535;

/** Ethernet + IPv4/IPv6 + TCP/UDP with consistent length fields; payload bytes from `seed`. */
function frameOf(s: Spec, seed: number): Uint8Array {
  const l3 = 14;
  const iph = s.v6 ? 40 : 20;
  const l4h = s.udp ? 8 : 20;
  const len = Math.max(s.len, l3 + iph + l4h);
  const f = new Uint8Array(len);
  f.set([0x02, 0, 0, 0, 0, 0xbb, 0x02, 0, 0, 0, 0, 0xaa]);
  const proto = s.udp ? 17 : 6;
  const ipLen = len - l3;
  if (s.v6) {
    f.set([0x86, 0xdd], 12);
    f[l3] = 0x60;
    f[l3 + 4] = (ipLen - 40) >>> 8;
    f[l3 + 5] = (ipLen - 40) & 0xff;
    f[l3 + 6] = proto;
    f[l3 + 7] = 64;
    f[l3 + 23] = 1;
    f[l3 + 39] = 2;
  } else {
    f.set([0x08, 0x00], 12);
    f[l3] = 0x45;
    f[l3 + 2] = ipLen >>> 8;
    f[l3 + 3] = ipLen & 0xff;
    f[l3 + 8] = 64;
    f[l3 + 9] = proto;
    f.set([10, 0, 0, 1, 10, 0, 0, 2], l3 + 12);
  }
  const l4 = l3 + iph;
  f[l4] = 0x30;
  f[l4 + 1] = s.flow & 0xff;
  f[l4 + 3] = 80;
  if (s.udp) {
    f[l4 + 4] = (len - l4) >>> 8;
    f[l4 + 5] = (len - l4) & 0xff;
  } else {
    f[l4 + 12] = 0x50;
    f[l4 + 13] = 0x10 | (s.cwr ? 0x80 : 0);
  }
  for (let k = l4 + l4h; k < len; k++) f[k] = (k * 31 + seed) & 0xff;
  return f;
}

function setMeta(m: Mbuf, s: Spec): void {
  const l4 = 14 + (s.v6 ? 40 : 20);
  m.meta.flowHash = s.flow;
  if (s.kind === 'valid') m.meta.flags = META_F_DATA_VALID;
  if (s.kind === 'csum' || s.kind === 'tso') {
    m.meta.flags = META_F_NEEDS_CSUM;
    m.meta.csumStart = l4;
    m.meta.csumOffset = s.udp ? 6 : 16;
  }
  if (s.kind === 'tso') {
    m.meta.gsoType = (s.v6 ? META_GSO_TCPV6 : META_GSO_TCPV4) | (s.cwr ? META_GSO_ECN : 0);
    m.meta.gsoSize = s.mss;
  }
}

/** The meta the receiving guest must report for s (virtio_net_hdr_to_skb of the header sent). */
function expectedMeta(s: Spec, frameLen: number): number[] {
  const l4 = 14 + (s.v6 ? 40 : 20);
  if (s.kind === 'plain' || s.kind === 'valid') return [0, 0, 0, META_GSO_NONE, 0, 0];
  const co = s.udp ? 6 : 16;
  const payload = frameLen - l4 - 20;
  if (s.kind === 'csum' || payload <= s.mss) return [META_F_NEEDS_CSUM, l4, co, META_GSO_NONE, 0, 0];
  const gso = (s.v6 ? META_GSO_TCPV6 : META_GSO_TCPV4) | (s.cwr ? META_GSO_ECN : 0);
  return [META_F_NEEDS_CSUM, l4, co, gso, s.mss, l4 + 20];
}

const specArb: fc.Arbitrary<Spec> = fc
  .record({
    v6: fc.boolean(),
    udp: fc.boolean(),
    len: fc.oneof(fc.integer({ min: 60, max: 1514 }), fc.integer({ min: 1515, max: 65536 })),
    kind: fc.constantFrom<Spec['kind']>('plain', 'csum', 'tso', 'valid'),
    mss: fc.integer({ min: 536, max: 9000 }),
    cwr: fc.boolean(),
    flow: fc.nat(255),
  })
  .map((s) => ({
    ...s,
    // IPv4 tot_len caps its frames; TSO only for TCP; ECN only with TSO.
    len: s.v6 ? s.len : Math.min(s.len, IPV4_MAX_FRAME),
    kind: s.udp && s.kind === 'tso' ? 'csum' : s.kind,
    cwr: s.cwr && !s.udp && s.kind === 'tso',
  }));

interface Got {
  bytes: Uint8Array;
  meta: number[];
  q: number;
}

/** Event-driven receiver, like a stack: rxReady → poll(64) until it returns less than 64. */
function receiver(nif: NetIf, got: Got[]): void {
  const deliver = (m: Mbuf): void => {
    const b = new Uint8Array(m.length);
    m.copyTo(b);
    const x = m.meta;
    got.push({
      bytes: b,
      meta: [x.flags, x.csumStart, x.csumOffset, x.gsoType, x.gsoSize, x.hdrLen],
      q: x.rxQueue,
    });
    m.pool.free(m);
  };
  const run = (): void => {
    if (nif.poll(64, deliver) === 64) setImmediate(run);
  };
  nif.setEvents({ rxReady: run, txRestart: () => {} });
  run();
}

/**
 * Sends every frame, `burst` at a time (more = true inside a burst), waiting for txRestart on
 * 'busy' (the caller keeps the mbuf: it is retried as is) and yielding between bursts.
 */
async function sender(
  nif: NetIf,
  pool: Mempool,
  frames: Uint8Array[],
  specs: Spec[],
  burst: number,
): Promise<number> {
  let wake: (() => void) | null = null;
  let busy = 0;
  nif.setEvents({ rxReady: () => {}, txRestart: () => wake?.() });
  for (let k = 0; k < frames.length; k++) {
    const m = pool.alloc()!;
    expect(m.append(frames[k]!)).toBe(true);
    setMeta(m, specs[k]!);
    const more = (k + 1) % burst !== 0 && k + 1 < frames.length;
    while (nif.transmit(m, more) === 'busy') {
      busy++;
      await new Promise<void>((r) => (wake = r));
      wake = null;
    }
    if (!more) await new Promise((r) => setImmediate(r));
  }
  return busy;
}

async function settle(done: () => boolean, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!done() && performance.now() < end) await new Promise((r) => setTimeout(r, 1));
}

function valeDrops(...ports: ValePort[]): number {
  let n = 0;
  for (const p of ports) for (const v of Object.values(p.datapath.drops())) n += v;
  return n;
}

async function roundTrip(
  a: Guest,
  b: Guest,
  txPool: Mempool,
  specs: Spec[],
  burst: number,
  lost: () => number,
): Promise<{ got: Got[]; frames: Uint8Array[]; busy: number }> {
  const frames = specs.map((s, k) => frameOf(s, k));
  const got: Got[] = [];
  receiver(b.nif, got);
  const busy = await sender(a.nif, txPool, frames, specs, burst);
  const ac = a.nif.counters;
  const bc = b.nif.counters;
  const rxDrops = (): number => bc.rxDropRunt + bc.rxDropBadLen + bc.rxDropHdr;
  await settle(() => got.length + rxDrops() + lost() >= ac.txPackets);
  // Counters add up: every frame was sent, and each one was received or dropped for a reason.
  expect(ac.txPackets + ac.txDropHdr + ac.txDropSize).toBe(frames.length);
  expect(ac.txDropHdr + ac.txDropSize).toBe(0);
  expect(bc.rxPackets).toBe(got.length);
  expect(got.length + rxDrops() + lost()).toBe(ac.txPackets);
  expect(rxDrops()).toBe(0);
  expect(txPool.mbufsFree).toBe(txPool.mbufCount);
  return { got, frames, busy };
}

/** Byte equality without vitest's per-element deep compare (slow on 64 KiB arrays). */
function expectBytes(got: Uint8Array, want: Uint8Array | undefined): void {
  expect(want).toBeDefined();
  const a = Buffer.from(got.buffer, got.byteOffset, got.length);
  const b = Buffer.from(want!.buffer, want!.byteOffset, want!.length);
  if (!a.equals(b)) {
    let k = 0;
    while (k < a.length && k < b.length && a[k] === b[k]) k++;
    expect({ length: a.length, firstDiff: k }).toEqual({ length: b.length, firstDiff: -1 });
  }
}

function checkInOrder(r: { got: Got[]; frames: Uint8Array[] }, specs: Spec[]): void {
  expect(r.got.length).toBe(r.frames.length);
  r.got.forEach((g, k) => {
    expectBytes(g.bytes, r.frames[k]);
    expect(g.meta).toEqual(expectedMeta(specs[k]!, r.frames[k]!.length));
  });
}

function detach(...gs: Guest[]): void {
  for (const g of gs) g.nif.adapter.detach();
}

describe('interface mode over a pipe', () => {
  for (const mode of ['inline', 'worker'] as const) {
    it(`${mode}: random sizes 60..65536 and offload mixes arrive whole, in order, with their headers`, async () => {
      const runs = mode === 'inline' ? 20 : 2;
      await fc.assert(
        fc.asyncProperty(
          fc.array(specArb, { minLength: 1, maxLength: mode === 'inline' ? 24 : 120 }),
          fc.constantFrom(64, 256, 1024),
          fc.integer({ min: 1, max: 16 }),
          async (specs, slots, burst) => {
            const txPool = new Mempool({ segments: 2048 });
            const rxPool = new Mempool({ segments: 8192 });
            const [e0, e1] = createPipe(`rt${mode[0]}`, { slots });
            const a = await guest(e0, mode, new Mempool({ segments: 64 }));
            const b = await guest(e1, mode, rxPool);
            const r = await roundTrip(a, b, txPool, specs, burst, () => 0);
            checkInOrder(r, specs);
            expect(b.nif.counters.rxNoMbuf).toBe(0);
            expect(rxPool.mbufsFree).toBe(rxPool.mbufCount);
            detach(a, b);
          },
        ),
        { numRuns: runs, endOnFailure: true },
      );
    }, 60_000);
  }

  it('ring-full backpressure: busy, then txRestart once the peer drains; nothing lost or reordered', async () => {
    const txPool = new Mempool({ segments: 4096 });
    const rxPool = new Mempool({ segments: 8192 });
    const [e0, e1] = createPipe('bp', { slots: 128 });
    const a = await guest(e0, 'inline', new Mempool({ segments: 64 }));
    const b = await guest(e1, 'inline', rxPool);
    // The receiver sleeps until the sender is first told 'busy'.
    const specs: Spec[] = Array.from({ length: 300 }, (_, k) => ({
      v6: k % 3 === 0,
      udp: false,
      len: k % 7 === 0 ? 60000 : 60 + ((k * 977) % 9000),
      kind: k % 2 === 0 ? 'tso' : 'csum',
      mss: 1448,
      cwr: false,
      flow: 0,
    }));
    const frames = specs.map((s, k) => frameOf(s, k));
    const got: Got[] = [];
    let restarts = 0;
    let wake: (() => void) | null = null;
    a.nif.setEvents({ rxReady: () => {}, txRestart: () => (restarts++, wake?.()) });
    let busy = 0;
    let rxOn = false;
    for (let k = 0; k < frames.length; k++) {
      const m = txPool.alloc()!;
      m.append(frames[k]!);
      setMeta(m, specs[k]!);
      while (a.nif.transmit(m, false) === 'busy') {
        busy++;
        // The caller still owns m: same bytes, same meta, retried after txRestart.
        expect(m.inUse).toBe(true);
        expect(m.length).toBe(frames[k]!.length);
        if (!rxOn) {
          rxOn = true;
          receiver(b.nif, got);
        }
        await new Promise<void>((r) => (wake = r));
      }
    }
    await settle(() => got.length >= frames.length);
    expect(busy).toBeGreaterThanOrEqual(1);
    expect(restarts).toBeGreaterThan(0);
    expect(a.nif.counters.txBusy).toBe(busy);
    checkInOrder({ got, frames }, specs);
    expect(a.nif.adapter.krings[0]!.counters.interrupts).toBeGreaterThan(0);
    detach(a, b);
  });

  it('without the virtio-net header: plain frames of any size, no offloads advertised', async () => {
    const txPool = new Mempool({ segments: 2048 });
    const rxPool = new Mempool({ segments: 4096 });
    const [e0, e1] = createPipe('nh', { slots: 256 });
    const a = await guest(e0, 'inline', new Mempool({ segments: 64 }), false);
    const b = await guest(e1, 'inline', rxPool, false);
    expect(a.nif.offloads).toMatchObject({ txCsum: false, rxCsum: false, tso4: false, tso6: false });
    const specs: Spec[] = [60, 1514, 2048, 4096, 65536].map((len, k) => ({
      v6: true,
      udp: k % 2 === 0,
      len,
      kind: 'plain',
      mss: 0,
      cwr: false,
      flow: 0,
    }));
    checkInOrder(await roundTrip(a, b, txPool, specs, 2, () => 0), specs);
    // Offload metadata the port cannot carry is a caller bug: dropped and counted, never sent wrong.
    for (const kind of ['csum', 'tso'] as const) {
      const s: Spec = { v6: false, udp: false, len: 9000, kind, mss: 1448, cwr: false, flow: 0 };
      const m = txPool.alloc()!;
      m.append(frameOf(s, 1));
      setMeta(m, s);
      expect(a.nif.transmit(m)).toBe('ok');
    }
    expect(a.nif.counters.txDropHdr).toBe(2);
    expect(txPool.mbufsFree).toBe(txPool.mbufCount);
    await new Promise((r) => setImmediate(r));
    expect(b.nif.counters.rxPackets).toBe(specs.length);
    detach(a, b);
  });

  it('multi-queue: the flow hash picks the TX ring, the peer sees the matching RX queue, each flow in order', async () => {
    const txPool = new Mempool({ segments: 2048 });
    const rxPool = new Mempool({ segments: 4096 });
    const [e0, e1] = createPipe('mq', { rings: 2, slots: 256 });
    const a = await guest(e0, 'inline', new Mempool({ segments: 64 }));
    const b = await guest(e1, 'inline', rxPool);
    expect(a.nif.numQueues).toBe(2);
    const specs: Spec[] = Array.from({ length: 80 }, (_, k) => ({
      v6: false,
      udp: true,
      len: 100 + k * 40,
      kind: 'csum',
      mss: 0,
      cwr: false,
      flow: 1 + (k % 4),
    }));
    const r = await roundTrip(a, b, txPool, specs, 8, () => 0);
    expect(r.got.length).toBe(specs.length);
    for (let f = 1; f <= 4; f++) {
      const sent = r.frames.filter((_, k) => specs[k]!.flow === f);
      const arrived = r.got.filter((g) => g.bytes[14 + 20 + 1] === f);
      expect(arrived.length).toBe(sent.length);
      arrived.forEach((g, k) => expectBytes(g.bytes, sent[k]));
      // One flow, one queue.
      expect(new Set(arrived.map((g) => g.q)).size).toBe(1);
    }
    expect(new Set(r.got.map((g) => g.q))).toEqual(new Set([0, 1]));
    detach(a, b);
  });
  it('mempool exhaustion: packets stay in the ring, counted, and arrive once mbufs are free again', async () => {
    const txPool = new Mempool({ segments: 512 });
    const rxPool = new Mempool({ segments: 8 });
    // No extra buffers: every packet is copied into rxPool (netif-zerocopy.test.ts: the swapping pool).
    const [e0, e1] = createPipe('nm', { slots: 256, extraBufs: 0 });
    const a = await guest(e0, 'inline', new Mempool({ segments: 64 }));
    const b = await guest(e1, 'inline', rxPool);
    const specs: Spec[] = Array.from({ length: 40 }, (_, k) => ({
      v6: false,
      udp: true,
      len: 60 + k,
      kind: 'plain',
      mss: 0,
      cwr: false,
      flow: 0,
    }));
    const frames = specs.map((s, k) => frameOf(s, k));
    // An event-driven consumer that holds what it is given until told to let go.
    const held: Mbuf[] = [];
    const got: Uint8Array[] = [];
    let keep = true;
    const deliver = (m: Mbuf): void => {
      const bytes = new Uint8Array(m.length);
      m.copyTo(bytes);
      got.push(bytes);
      if (keep) held.push(m);
      else m.pool.free(m);
    };
    const run = (): void => {
      if (b.nif.poll(64, deliver) === 64) setImmediate(run);
    };
    b.nif.setEvents({ rxReady: run, txRestart: () => {} });
    await sender(a.nif, txPool, frames, specs, 8);
    await settle(() => got.length >= 8, 200);
    expect(got).toHaveLength(8);
    expect(b.nif.counters.rxNoMbuf).toBeGreaterThan(0);
    keep = false;
    rxPool.freeBulk(held, held.length);
    // No poll from the test: the driver must come back by itself (FreeBSD reschedules).
    await settle(() => got.length >= frames.length, 2000);
    expect(got).toHaveLength(frames.length);
    got.forEach((g, k) => expectBytes(g, frames[k]));
    detach(a, b);
  });
});

describe('interface mode over VALE (12-byte headers on both ports)', () => {
  for (const mode of ['inline', 'worker'] as const) {
    it(`${mode}: frames and headers cross the switch verbatim; VALE drops, if any, are counted`, async () => {
      const vale = new ValeSwitch(`v${mode[0]}`, { maxPorts: 2 });
      const pa = vale.attach('a');
      const pb = vale.attach('b');
      const txPool = new Mempool({ segments: 2048 });
      const rxPool = new Mempool({ segments: 16384 });
      const a = await guest(pa, mode, new Mempool({ segments: 64 }));
      const b = await guest(pb, mode, rxPool);
      expect(a.nif.adapter.vnetHdrLen).toBe(12);
      const specs = fc.sample(specArb, { numRuns: mode === 'inline' ? 60 : 200, seed: 4 });
      const r = await roundTrip(a, b, txPool, specs, 4, () => valeDrops(pa, pb));
      // Whatever arrived is a subsequence of what was sent, each with the header it was sent with.
      let k = 0;
      for (const g of r.got) {
        while (k < r.frames.length && r.frames[k]!.length !== g.bytes.length) k++;
        expectBytes(g.bytes, r.frames[k]);
        expect(g.meta).toEqual(expectedMeta(specs[k]!, r.frames[k]!.length));
        k++;
      }
      if (mode === 'inline') expect(r.got.length).toBe(specs.length);
      else expect(r.got.length).toBeGreaterThan(0);
      detach(a, b);
    }, 60_000);
  }
});

describe('receive against a netmap-native sender on the other end of a pipe', () => {
  async function rig() {
    const [e0, e1] = createPipe('nat', { slots: 64 });
    const m = new Machine({ size: 16 * 4096 });
    m.addPtnet(e0, (p, csb, irq) => new SyncKloop(p, csb, irq, 'inline'));
    const nm = new PtnetNetmapPort(PtnetAdapter.attach(m));
    const rxPool = new Mempool({ segments: 256 });
    const b = await guest(e1, 'inline', rxPool);
    const got: Got[] = [];
    receiver(b.nif, got);
    const ring = nm.txRing(0);
    /** Writes one slot (bytes as given, header included) and returns its index. */
    const put = (bytes: Uint8Array, flags: number): void => {
      const h = ring.head;
      ring.bytes.set(bytes, ring.slotBufOffset(h));
      ring.setSlotLen(h, bytes.length);
      ring.setSlotFlags(h, flags);
      ring.head = ring.cur = nmRingNext(h, ring.numSlots);
    };
    const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
    return { nm, b, got, put, tick, rxPool };
  }
  const spec: Spec = { v6: false, udp: false, len: 3000, kind: 'plain', mss: 0, cwr: false, flow: 0 };

  it('a first slot shorter than the header is dropped and counted; the next packet is delivered', async () => {
    const { nm, b, got, put, tick } = await rig();
    const f = frameOf(spec, 1).subarray(0, 200);
    put(new Uint8Array(7), 0);
    // A short first slot whose chain continues: the whole chain goes.
    put(new Uint8Array(3), NS_MOREFRAG);
    put(new Uint8Array(500), 0);
    const withHdr = new Uint8Array(12 + f.length);
    withHdr.set(f, 12);
    put(withHdr, 0);
    nm.txsync(0);
    await tick();
    expect(got.map((g) => g.bytes)).toEqual([f]);
    expect(b.nif.counters.rxDropRunt).toBe(2);
    expect(b.nif.counters.rxPackets).toBe(1);
  });

  it('an incomplete multi-slot packet is left in the ring and delivered whole once its end arrives', async () => {
    const { nm, b, got, put, tick, rxPool } = await rig();
    const f = frameOf(spec, 2);
    const all = new Uint8Array(12 + f.length);
    all.set(f, 12);
    put(all.subarray(0, 2048), NS_MOREFRAG);
    nm.txsync(0);
    await tick();
    // The peer has the first fragment only: nothing delivered, nothing consumed, no mbuf held.
    b.nif.poll(64, () => expect.unreachable());
    expect(got).toHaveLength(0);
    expect(b.nif.counters.rxIncomplete).toBeGreaterThan(0);
    expect(rxPool.mbufsFree).toBe(rxPool.mbufCount);
    expect(b.nif.adapter.krings[1]!.atok.applNeedKick).toBe(1);
    put(all.subarray(2048), 0);
    nm.txsync(0);
    await tick();
    expect(got).toHaveLength(1);
    expectBytes(got[0]!.bytes, f);
  });
});

describe('netmap-native mode and interface mode are exclusive', () => {
  it('each refuses the adapter while the other holds it; closing hands the rings over with nothing lost', async () => {
    const [e0, e1] = createPipe('ex', { slots: 64 });
    const rxPool = new Mempool({ segments: 256 });
    const a = await guest(e0, 'inline', new Mempool({ segments: 64 }));
    const mb = new Machine({ size: 16 * 4096 });
    mb.addPtnet(e1, (p, csb, irq) => new SyncKloop(p, csb, irq, 'inline'));
    const adapter = PtnetAdapter.attach(mb);
    const nm = new PtnetNetmapPort(adapter);
    expect(() => new PtnetNetIf(adapter, { rxPool })).toThrow(
      expect.objectContaining({ name: 'DriverError', code: 'MODE_BUSY' }),
    );
    expect(adapter.ringUser).toBe('netmap');
    // Traffic arrives while the netmap application owns the rings and does not read it.
    const specs: Spec[] = [100, 5000, 200].map((len) => ({
      v6: false,
      udp: true,
      len,
      kind: 'csum',
      mss: 0,
      cwr: false,
      flow: 0,
    }));
    const frames = specs.map((s, k) => frameOf(s, k));
    await sender(a.nif, new Mempool({ segments: 64 }), frames, specs, 3);
    await new Promise((r) => setImmediate(r));
    // The host has published the slots; the application never rxsync'ed them.
    expect(adapter.krings[1]!.ktoa.hwtail).not.toBe(adapter.krings[1]!.rhead);
    nm.close();
    expect(adapter.ringUser).toBe(null);
    const nif = new PtnetNetIf(adapter, { rxPool });
    expect(() => new PtnetNetmapPort(adapter)).toThrow(expect.objectContaining({ code: 'MODE_BUSY' }));
    // Installing the handlers announces what was already waiting.
    const got: Got[] = [];
    receiver(nif, got);
    await settle(() => got.length >= frames.length, 500);
    checkInOrder({ got, frames }, specs);
    nif.close();
    const nm2 = new PtnetNetmapPort(adapter);
    expect(adapter.ringUser).toBe('netmap');
    nm2.close();
    detach(a);
    adapter.detach();
  });
});

describe('ring limits', () => {
  it('transmit stops at fewer than min_tx_slots free slots (65536 / 2048 + 2 = 34), whatever the frame size', async () => {
    const [e0, e1] = createPipe('mt', { slots: 128 });
    const a = await guest(e0, 'inline', new Mempool({ segments: 64 }));
    await guest(e1, 'inline', new Mempool({ segments: 64 }));
    const kr = a.nif.adapter.krings[0]!;
    expect(a.nif.adapter.minTxSlots).toBe(34);
    const pool = new Mempool({ segments: 512 });
    const spec: Spec = { v6: false, udp: true, len: 60, kind: 'plain', mss: 0, cwr: false, flow: 0 };
    let sent = 0;
    for (;;) {
      const m = pool.alloc()!;
      m.append(frameOf(spec, sent));
      if (a.nif.transmit(m) === 'busy') {
        m.free();
        break;
      }
      sent++;
    }
    // The peer's RX ring took 127 frames, then ours filled down to 33 free slots.
    expect(sent).toBe(127 + 127 - 33);
    expect(nmRingSpace(kr.rhead, kr.hwtail, kr.numSlots)).toBe(33);
    expect(kr.atok.applNeedKick).toBe(1);
  });

  it('RX rings beyond min(T, R) are polled too', async () => {
    const vale = new ValeSwitch('vx', { maxPorts: 2 });
    const pa = vale.attach('a', { txRings: 2, rxRings: 2, txSlots: 256, rxSlots: 256 });
    const pb = vale.attach('b', { txRings: 1, rxRings: 2, txSlots: 256, rxSlots: 256 });
    const a = await guest(pa, 'inline', new Mempool({ segments: 64 }));
    const b = await guest(pb, 'inline', new Mempool({ segments: 1024 }));
    expect([a.nif.numQueues, b.nif.numQueues]).toEqual([2, 1]);
    const specs: Spec[] = Array.from({ length: 20 }, (_, k) => ({
      v6: true,
      udp: true,
      len: 200 + k,
      kind: 'csum',
      mss: 0,
      cwr: false,
      flow: 1 + (k % 2),
    }));
    const r = await roundTrip(a, b, new Mempool({ segments: 512 }), specs, 4, () => valeDrops(pa, pb));
    expect(r.got).toHaveLength(specs.length);
    expect(new Set(r.got.map((g) => g.q))).toEqual(new Set([0, 1]));
  });

  it('a NS_MOREFRAG chain filling the whole RX ring is dropped, not waited for forever', async () => {
    const [e0, e1] = createPipe('mf', { slots: 8 });
    const m = new Machine({ size: 16 * 4096 });
    m.addPtnet(e0, (p, csb, irq) => new SyncKloop(p, csb, irq, 'inline'));
    const nm = new PtnetNetmapPort(PtnetAdapter.attach(m));
    const b = await guest(e1, 'inline', new Mempool({ segments: 64 }));
    const got: Got[] = [];
    receiver(b.nif, got);
    const ring = nm.txRing(0);
    const put = (bytes: Uint8Array, flags: number): void => {
      const h = ring.head;
      ring.bytes.set(bytes, ring.slotBufOffset(h));
      ring.setSlotLen(h, bytes.length);
      ring.setSlotFlags(h, flags);
      ring.head = ring.cur = nmRingNext(h, ring.numSlots);
    };
    for (let k = 0; k < 7; k++) put(new Uint8Array(100), NS_MOREFRAG);
    nm.txsync(0);
    await new Promise((r) => setImmediate(r));
    expect(b.nif.counters.rxDropFrags).toBe(1);
    expect(got).toHaveLength(0);
    const f = frameOf({ v6: false, udp: true, len: 80, kind: 'plain', mss: 0, cwr: false, flow: 0 }, 9);
    const withHdr = new Uint8Array(12 + f.length);
    withHdr.set(f, 12);
    await nm.pollTx(0);
    put(withHdr, 0);
    nm.txsync(0);
    await settle(() => got.length > 0, 500);
    expect(got).toHaveLength(1);
    expectBytes(got[0]!.bytes, f);
  });
});

describe('TX interrupt against a hand-driven host', () => {
  it('restarts the queue only once min_tx_slots are free again; the host interrupts again until then', async () => {
    const machine = new Machine({ size: 16 * 4096 });
    const loops: FakeKloop[] = [];
    machine.addPtnet(new FakePort('h', 1, 1, 64, 64), (p, c, i) => {
      const l = new FakeKloop(p, c, i);
      loops.push(l);
      return l;
    });
    const nif = new PtnetNetIf(PtnetAdapter.attach(machine), { rxPool: new Mempool({ segments: 16 }) });
    const tx = nif.adapter.krings[0]!;
    let restarts = 0;
    nif.setEvents({ rxReady: () => {}, txRestart: () => restarts++ });
    const pool = new Mempool({ segments: 64 });
    const spec: Spec = { v6: false, udp: true, len: 60, kind: 'plain', mss: 0, cwr: false, flow: 0 };
    let sent = 0;
    for (;;) {
      const m = pool.alloc()!;
      m.append(frameOf(spec, sent));
      if (nif.transmit(m) === 'busy') {
        m.free();
        break;
      }
      sent++;
    }
    // 63 usable slots, 34 must stay free: 30 frames went.
    expect(sent).toBe(30);
    expect(tx.atok.applNeedKick).toBe(1);
    const irq = async (): Promise<void> => {
      loops[0]!.irq(0);
      await Promise.resolve();
      await Promise.resolve();
    };
    // The host sent 10 frames: 43 slots free.
    tx.ktoa.hwcur = 10;
    tx.ktoa.hwtail = 9;
    await irq();
    expect(restarts).toBe(1);
    expect(tx.atok.applNeedKick).toBe(0);
    // Stop again (10 more frames: 33 free).
    for (;;) {
      const m = pool.alloc()!;
      m.append(frameOf(spec, sent));
      if (nif.transmit(m) === 'busy') {
        m.free();
        break;
      }
      sent++;
    }
    expect(sent).toBe(40);
    // An interrupt while still 33 free (a late or spurious one) leaves the queue stopped and armed.
    await irq();
    expect(restarts).toBe(1);
    expect(tx.atok.applNeedKick).toBe(1);
    tx.ktoa.hwcur = 40;
    tx.ktoa.hwtail = 39;
    await irq();
    expect(restarts).toBe(2);
  });
});
