// Host-only packet rate (issue 3): 60-byte frames from one port to another through a netmap pipe
// and through VALE, batches of 1/32/256 per txsync, with the sync kloop inline (kicks run the host
// in this thread) and in worker threads (one per port). Both applications run in this thread as a
// ptnet guest would, synchronising only through the CSB and busy-polling (no interrupts awaited).
import { availableParallelism } from 'node:os';
import type { BenchRow, BenchSuite } from './harness.ts';
import {
  DROP,
  type KloopMode,
  type NetmapPort,
  SyncKloop,
  ValeSwitch,
  createPipe,
} from '../src/host/index.ts';
import { GuestRing, frame, makeCsb, ringsFromIf } from '../test/host/guest.ts';

const SEED = { pipe: 46, vale: 20 } as const;

interface Side {
  kloop: SyncKloop;
  ring: GuestRing;
}

async function side(port: NetmapPort, mode: KloopMode, tx: boolean, queue: (() => void)[]): Promise<Side> {
  const csb = makeCsb();
  const kloop = new SyncKloop(port, csb, () => {}, mode, { schedule: (f) => queue.push(f) });
  const rings = ringsFromIf(port.region, port.nifpOffset);
  const ring = tx
    ? new GuestRing(port.region, rings.tx[0]!, csb, 0, true, (r) => kloop.kick(r))
    : new GuestRing(port.region, rings.rx[0]!, csb, port.numTxRings, false, (r) => kloop.kick(r));
  kloop.start();
  await kloop.ready();
  ring.syncFromCsb();
  return { kloop, ring };
}

/** Packets per second received by b while a sends `batch` frames per txsync, for `ms`. */
async function measure(kind: 'pipe' | 'vale', mode: KloopMode, batch: number, ms: number): Promise<number> {
  let pa: NetmapPort;
  let pb: NetmapPort;
  if (kind === 'pipe') [pa, pb] = createPipe('bench', { slots: 1024 });
  else {
    const vale = new ValeSwitch('vbench', { maxPorts: 2 });
    pa = vale.attach('a');
    pb = vale.attach('b');
  }
  const queue: (() => void)[] = [];
  const a = await side(pa, mode, true, queue);
  const b = await side(pb, mode, false, queue);
  const tx = a.ring;
  const rx = b.ring;
  const f = frame(pb.mac, pa.mac, 0, 60);
  let received = 0;
  let sent = 0;
  const round = (): void => {
    tx.txsync();
    // VALE drops what does not fit the receiver: keep at most a ring's worth in flight.
    let n = Math.min(batch, tx.space());
    if (kind === 'vale') n = Math.min(n, rx.n - 1 - (sent - received - pb.datapath.dropped(DROP.NO_SPACE)));
    for (let i = 0; i < n; i++) tx.put(f);
    sent += n > 0 ? n : 0;
    tx.txsync();
    for (let k = queue.shift(); k !== undefined; k = queue.shift()) k();
    rx.rxsync();
    const got = rx.tail - rx.head;
    received += got < 0 ? got + rx.n : got;
    rx.head = rx.cur = rx.tail;
    rx.rxsync();
  };
  const warm = performance.now() + Math.min(200, ms / 4);
  while (performance.now() < warm) round();
  const r0 = received;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 16; i++) round();
    t = performance.now();
  }
  const rate = ((received - r0) * 1000) / (t - t0);
  a.kloop.stop();
  b.kloop.stop();
  return rate;
}

export const hostSuite: BenchSuite = {
  name: 'host',
  async run({ quick }): Promise<BenchRow[]> {
    const ms = quick ? 150 : 3000;
    const rows: BenchRow[] = [];
    for (const kind of ['pipe', 'vale'] as const) {
      for (const mode of ['inline', 'worker'] as const) {
        for (const batch of [1, 32, 256]) {
          const pps = await measure(kind, mode, batch, ms);
          rows.push({
            name: `${kind} 60 B, ${mode}, batch ${batch}`,
            value: pps / 1e6,
            unit: 'Mpps',
            note:
              mode === 'worker'
                ? `3 threads (guest + 2 kloops) on ${availableParallelism()} CPUs`
                : 'one thread',
            reference: {
              name: `netmap ${kind === 'pipe' ? 'pipe' : 'VALE'} (kernel C)`,
              value: SEED[kind],
              measured: false,
            },
          });
        }
      }
    }
    return rows;
  },
};
