// The ptnet network-interface mode between two guests over VALE (12-byte virtio-net headers on
// both ports, so the switch copies packets verbatim): one guest's PtnetNetIf transmits, the other
// polls, as a stack would drive them. 1500-byte frames (checksum offload) and 64 KiB TSO
// super-frames (NEEDS_CSUM + TCPV4, MSS 1448: 33-slot NS_MOREFRAG chains), with the host sync
// loop inline and in worker threads. The sender fills only the 54 header bytes of each mbuf (the
// payload is whatever the pool segment held). Two driver paths, same run: 'copy' (ports without
// extra buffers: mbuf → slots → (VALE) → slots → mbuf, the ptnet drivers' copies) and 'swap'
// (extra buffers: the sender's mbufs come from its NIC pool and go into the slots by index, the
// receiver gets the slot buffers; VALE's copy is the only one). Throughput counts received
// Ethernet frame bytes.
import type { BenchRow, BenchSuite } from './harness.ts';
import { Machine } from '../src/device/index.ts';
import { PtnetAdapter, PtnetNetIf } from '../src/driver/index.ts';
import { DROP, type KloopMode, SyncKloop, ValeSwitch } from '../src/host/index.ts';
import { META_F_NEEDS_CSUM, META_GSO_TCPV4, Mempool, type Mbuf } from '../src/mbuf/index.ts';

/** Seed figure: ptnet guests over VALE, netperf TCP_STREAM (Linux guests, kernel C). */
const SEED_TCP_STREAM_GBPS = 21.7;
const MSS = 1448;
const HDRS = 14 + 20 + 20;

interface Case {
  name: string;
  /** Ethernet frame length. */
  frame: number;
  tso: boolean;
  /** Packets per transmit burst (more = true inside). */
  burst: number;
  /** Packets in flight at most: what the receiver's VALE ring (1023 usable slots) holds. */
  window: number;
}

const CASES: Case[] = [
  { name: '1500 B frames', frame: 1514, tso: false, burst: 256, window: 1023 },
  { name: '64 KiB TSO', frame: 14 + 65535, tso: true, burst: 8, window: 31 },
];

/** Ethernet + IPv4 + TCP headers of a frame of `len` bytes. */
function headers(len: number): Uint8Array {
  const h = new Uint8Array(HDRS);
  h.set([0x02, 0, 0, 0, 0, 0xbb, 0x02, 0, 0, 0, 0, 0xaa, 0x08, 0x00, 0x45]);
  h[16] = (len - 14) >>> 8;
  h[17] = (len - 14) & 0xff;
  h[22] = 64;
  h[23] = 6;
  h.set([10, 0, 0, 1, 10, 0, 0, 2], 26);
  h[46] = 0x50;
  h[47] = 0x10;
  return h;
}

async function guest(port: ReturnType<ValeSwitch['attach']>, mode: KloopMode, rxPool: Mempool) {
  const m = new Machine({ size: 16 * 4096 });
  const loops: SyncKloop[] = [];
  m.addPtnet(port, (p, csb, irq) => {
    const l = new SyncKloop(p, csb, irq, mode);
    loops.push(l);
    return l;
  });
  const nif = new PtnetNetIf(PtnetAdapter.attach(m), { rxPool });
  await Promise.all(loops.map((l) => l.ready()));
  return nif;
}

interface Result {
  gbps: number;
  mpps: number;
  /** Packets VALE dropped for want of room in the receiver's ring (it never back-pressures). */
  valeDrops: number;
}

async function measure(c: Case, mode: KloopMode, ms: number, swap: boolean): Promise<Result> {
  const vale = new ValeSwitch(`vd${mode[0]}${c.tso ? 't' : 'f'}`, { maxPorts: 2, vnetHdrLen: 12 });
  const extra = swap ? {} : { extraBufs: 0 };
  const pa = vale.attach('a', extra);
  const pb = vale.attach('b', extra);
  const rxPool = new Mempool({ segments: 8192, headroom: 0 });
  const a = await guest(pa, mode, new Mempool({ segments: 64 }));
  const b = await guest(pb, mode, rxPool);
  const txPool = swap ? a.pool! : new Mempool({ segments: 4096, headroom: 0 });
  const hdr = headers(c.frame);
  let rxPkts = 0;
  let rxBytes = 0;
  const deliver = (m: Mbuf): void => {
    rxPkts++;
    rxBytes += m.length;
    m.pool.free(m);
  };
  const poll = (): void => {
    while (b.poll(64, deliver) === 64);
  };
  b.setEvents({ rxReady: poll, txRestart: () => {} });
  let wake: (() => void) | null = null;
  a.setEvents({ rxReady: () => {}, txRestart: () => wake?.() });

  const end = performance.now() + ms;
  const warm = performance.now() + Math.min(300, ms / 4);
  let r0 = 0;
  let b0 = 0;
  let t0 = 0;
  // VALE drops what its receiver has no room for: keep at most a ring's worth in flight (half in
  // worker mode, where the switch sees returned slots only once the receiver's kloop ran).
  const window = mode === 'inline' ? c.window : c.window >> 1;
  const inFlight = (): number => a.counters.txPackets - rxPkts - pb.datapath.dropped(DROP.NO_SPACE);
  while (performance.now() < end) {
    while (inFlight() + c.burst > window) {
      await new Promise((r) => setImmediate(r));
      poll();
    }
    if (t0 === 0 && performance.now() >= warm) {
      t0 = performance.now();
      r0 = rxPkts;
      b0 = rxBytes;
    }
    for (let k = 0; k < c.burst; k++) {
      const m = txPool.alloc()!;
      m.extend(c.frame);
      m.write(0, hdr, 0, HDRS);
      if (c.tso) {
        m.meta.flags = META_F_NEEDS_CSUM;
        m.meta.csumStart = 34;
        m.meta.csumOffset = 16;
        m.meta.gsoType = META_GSO_TCPV4;
        m.meta.gsoSize = MSS;
      }
      while (a.transmit(m, k + 1 < c.burst) === 'busy') await new Promise<void>((r) => (wake = r));
    }
    // Let the receiver's interrupt (a microtask inline, a waitAsync wake-up in worker mode) run.
    await new Promise((r) => setImmediate(r));
    poll();
  }
  const secs = (performance.now() - t0) / 1000;
  a.adapter.detach();
  b.adapter.detach();
  let valeDrops = 0;
  for (const v of Object.values(pb.datapath.drops())) valeDrops += v;
  return { gbps: ((rxBytes - b0) * 8) / secs / 1e9, mpps: (rxPkts - r0) / secs / 1e6, valeDrops };
}

export const driverSuite: BenchSuite = {
  name: 'driver',
  async run({ quick }): Promise<BenchRow[]> {
    const ms = quick ? 400 : 4000;
    const rows: BenchRow[] = [];
    for (const c of CASES) {
      for (const [mode, swap] of [
        ['inline', false],
        ['inline', true],
        ['worker', false],
        ['worker', true],
      ] as const) {
        const r = await measure(c, mode, ms, swap);
        const what = `netif VALE ${c.name}, ${mode}, ${swap ? 'swap' : 'copy'}`;
        rows.push({
          name: what,
          value: r.gbps,
          unit: 'Gbps',
          reference: { name: 'seed ptnet VALE TCP_STREAM', value: SEED_TCP_STREAM_GBPS, measured: false },
          note: r.valeDrops === 0 ? undefined : `VALE dropped ${r.valeDrops} (receiver ring full)`,
        });
        rows.push({ name: what, value: r.mpps, unit: 'Mpps' });
      }
    }
    return rows;
  },
};
