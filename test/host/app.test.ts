// A netmap application over src/netmap + src/host: packets cross a pipe and a VALE switch with
// the host kloop inline and in a worker thread, synchronised only through the CSB.
import { afterEach, describe, expect, it } from 'vitest';
import {
  DROP,
  HostError,
  type KloopMode,
  type NetmapPort,
  SyncKloop,
  ValeSwitch,
  createPipe,
  smallRegion,
} from '../../src/host/index.ts';
import {
  GuestRing,
  frame,
  guestRxRing,
  guestTxRing,
  inlineGuest,
  makeCsb,
  ringsFromIf,
  seqOf,
} from './guest.ts';

interface Guest {
  kloop: SyncKloop;
  tx: GuestRing;
  rx: GuestRing;
  irqs: number[];
}

const kloops: SyncKloop[] = [];
afterEach(() => {
  for (const k of kloops.splice(0)) k.stop();
});

async function guestOn(port: NetmapPort, mode: KloopMode): Promise<Guest> {
  const csb = makeCsb();
  const irqs: number[] = [];
  const kloop = new SyncKloop(port, csb, (r) => irqs.push(r), mode);
  kloops.push(kloop);
  const kick = (r: number): void => kloop.kick(r);
  const g: Guest = {
    kloop,
    tx: guestTxRing(port, csb, kick),
    rx: guestRxRing(port, csb, kick),
    irqs,
  };
  kloop.start();
  await kloop.ready();
  g.tx.syncFromCsb();
  g.rx.syncFromCsb();
  return g;
}

/**
 * Sends `total` frames from a to b in bursts, polling (yielding to the event loop) as needed.
 * VALE never back-pressures a sender (a full receiver drops), so `lockstep` waits for each burst.
 */
async function transfer(
  a: Guest,
  b: Guest,
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  total: number,
  burst: number,
  lockstep = false,
): Promise<number[]> {
  const got: number[] = [];
  let sent = 0;
  let idle = 0;
  while (got.length < total) {
    let progress = false;
    if (sent < total && (!lockstep || got.length === sent)) {
      a.tx.txsync();
      const n = Math.min(burst, a.tx.space(), total - sent);
      for (let i = 0; i < n; i++) a.tx.put(frame(dstMac, srcMac, sent++));
      if (n > 0) {
        a.tx.txsync();
        progress = true;
      }
    }
    b.rx.rxsync();
    for (let p = b.rx.take(); p !== null; p = b.rx.take()) {
      got.push(seqOf(p.data));
      progress = true;
    }
    b.rx.rxsync();
    if (!progress) {
      if (++idle > 20000) throw new Error(`stalled: sent ${sent}, received ${got.length}`);
      await new Promise((r) => setImmediate(r));
    } else idle = 0;
  }
  return got;
}

const seq = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe.each(['inline', 'worker'] as const)('netmap application, %s kloop', (mode) => {
  it('moves frames in order over a pipe', async () => {
    const [pa, pb] = createPipe('p', { slots: 256 });
    const a = await guestOn(pa, mode);
    const b = await guestOn(pb, mode);
    const got = await transfer(a, b, pb.mac, pa.mac, 3000, 100);
    expect(got).toEqual(seq(3000));
    expect(pb.datapath.packets('rx')).toBe(3000);
  });

  it('moves frames in order over VALE, learning the receiver', async () => {
    const vale = new ValeSwitch('vale0', { maxPorts: 4 });
    const pa = vale.attach('a', { txSlots: 256, rxSlots: 256 });
    const pb = vale.attach('b', { txSlots: 256, rxSlots: 256 });
    const a = await guestOn(pa, mode);
    const b = await guestOn(pb, mode);
    // b announces itself so that a's frames are switched, not flooded.
    b.tx.put(frame(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), pb.mac, 0));
    b.tx.txsync();
    const got = await transfer(a, b, pb.mac, pa.mac, 2000, 64, true);
    expect(got).toEqual(seq(2000));
    expect(vale.sw.fdb.lookup(pb.mac, 0)).toBe(pb.index);
  });
});

describe('VALE under concurrent senders', () => {
  it('two senders in two workers fill one receiver through its RX lock, each in order', async () => {
    const vale = new ValeSwitch('vcon', { maxPorts: 3, region: smallRegion(3 * 2 * 2048 + 64, 4) });
    const ports = ['a', 'b', 'c'].map((n) => vale.attach(n, { txSlots: 2048, rxSlots: 2048 }));
    const [ga, gb, gc] = await Promise.all(ports.map((p) => guestOn(p, 'worker')));
    const [pa, pb, pc] = [ports[0]!, ports[1]!, ports[2]!];
    // b makes itself known, so both senders switch to it.
    gb!.tx.put(frame(new Uint8Array(6).fill(0xff), pb.mac, 0));
    gb!.tx.txsync();
    const total = 3000;
    const sent = [0, 0];
    const last = [-1, -1];
    let received = 0;
    let ordered = true;
    const dropped = (): number => pb.datapath.dropped(DROP.NO_SPACE);
    for (let idle = 0; received + dropped() < 2 * total;) {
      let progress = false;
      for (const [k, g, src] of [
        [0, ga!, pa],
        [1, gc!, pc],
      ] as const) {
        g.tx.txsync();
        const n = Math.min(64, g.tx.space(), total - sent[k]!);
        for (let i = 0; i < n; i++) {
          const f = frame(pb.mac, src.mac, sent[k]!++);
          f[18] = k;
          g.tx.put(f);
        }
        if (n > 0) {
          g.tx.txsync();
          progress = true;
        }
      }
      gb!.rx.rxsync();
      for (let p = gb!.rx.take(); p !== null; p = gb!.rx.take()) {
        const k = p.data[18]!;
        const q = seqOf(p.data);
        if (q <= last[k]!) ordered = false;
        last[k] = q;
        received++;
        progress = true;
      }
      gb!.rx.rxsync();
      if (progress) idle = 0;
      else if (++idle > 20000) throw new Error(`stalled at ${received} + ${dropped()}`);
      else await new Promise((r) => setImmediate(r));
    }
    expect(ordered).toBe(true);
    expect(received + dropped()).toBe(2 * total);
    expect(received).toBeGreaterThan(0);
  }, 60_000);
});

describe('mixed modes', () => {
  it('a VALE sender served by a worker wakes an inline receiver across threads', async () => {
    const vale = new ValeSwitch('vmix', { maxPorts: 2 });
    const pa = vale.attach('a', { txSlots: 256, rxSlots: 256 });
    const pb = vale.attach('b', { txSlots: 256, rxSlots: 256 });
    const a = await guestOn(pa, 'worker');
    const b = await guestOn(pb, 'inline');
    const got = await transfer(a, b, pb.mac, pa.mac, 1000, 50, true);
    expect(got).toEqual(seq(1000));
    expect(b.kloop.runs).toBeGreaterThan(0);
  });
});

describe('several rings', () => {
  it('pipe ring i feeds the peer ring i; VALE keeps per-ring order; detach stops delivery', () => {
    const [pa, pb] = createPipe('mr', { rings: 2, slots: 32 });
    const q: (() => void)[] = [];
    const irqs: number[] = [];
    const csbA = makeCsb();
    const csbB = makeCsb();
    const opts = { schedule: (f: () => void) => q.push(f) };
    const ka = new SyncKloop(pa, csbA, () => {}, 'inline', opts);
    const kb = new SyncKloop(pb, csbB, (r) => irqs.push(r), 'inline', opts);
    kloops.push(ka, kb);
    ka.start();
    kb.start();
    const ra = ringsFromIf(pa.region, pa.nifpOffset);
    const rb = ringsFromIf(pb.region, pb.nifpOffset);
    const tx = [0, 1].map((i) => new GuestRing(pa.region, ra.tx[i]!, csbA, i, true, (r) => ka.kick(r)));
    const rx = [0, 1].map((i) => new GuestRing(pb.region, rb.rx[i]!, csbB, 2 + i, false, (r) => kb.kick(r)));
    for (const r of [...tx, ...rx]) r.syncFromCsb();
    tx[0]!.put(frame(pb.mac, pa.mac, 100));
    tx[1]!.put(frame(pb.mac, pa.mac, 200));
    tx[1]!.put(frame(pb.mac, pa.mac, 201));
    tx[0]!.txsync();
    tx[1]!.txsync();
    while (q.length > 0) q.shift()!();
    const take = (g: GuestRing): number[] => {
      g.rxsync();
      const out: number[] = [];
      for (let p = g.take(); p !== null; p = g.take()) out.push(seqOf(p.data));
      return out;
    };
    expect(take(rx[0]!)).toEqual([100]);
    expect(take(rx[1]!)).toEqual([200, 201]);
    expect(irqs.sort()).toEqual([2, 3]);
  });

  it('a detached VALE port receives nothing more and is forgotten', () => {
    const vale = new ValeSwitch('vdet', { maxPorts: 3 });
    const pa = vale.attach('a');
    const pb = vale.attach('b');
    const pc = vale.attach('c');
    const q: (() => void)[] = [];
    const a = inlineGuest(pa, q);
    const b = inlineGuest(pb, q);
    b.send(frame(pa.mac, pb.mac, 1));
    expect(vale.sw.fdb.lookup(pb.mac, 0)).toBe(pb.index);
    expect(() => vale.detach(pb)).toThrow(HostError);
    b.kloop.stop();
    vale.detach(pb);
    expect(vale.sw.fdb.lookup(pb.mac, 0)).toBe(-1);
    a.send(frame(pb.mac, pa.mac, 2));
    expect(pc.datapath.packets('rx')).toBe(2); // the broadcast-less unknown unicast reached c only
    // The slot is free again.
    expect(vale.attach('d').index).toBe(pb.index);
  });
});
