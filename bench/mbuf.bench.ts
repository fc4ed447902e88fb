// mbuf pool: alloc/free cycles per second and heap growth over many cycles (issue 2: "no allocation
// per packet in steady state"). Heap is sampled after a full GC when one can be triggered.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { BenchRow, BenchSuite } from './harness.ts';
import { Mempool, type Mbuf } from '../src/mbuf/index.ts';

/** A gc() function: global.gc under --expose-gc, else one obtained by enabling the flag at run time. */
function findGc(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  try {
    setFlagsFromString('--expose-gc');
    const f = runInNewContext('gc') as unknown;
    return typeof f === 'function' ? (f as () => void) : undefined;
  } catch {
    return undefined;
  }
}

function heapAfterGc(gc: (() => void) | undefined): number {
  if (gc) {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed;
}

/** Runs `cycles` iterations of body, returning [cycles per second, heap growth in bytes]. */
function measure(cycles: number, gc: (() => void) | undefined, body: (n: number) => void): [number, number] {
  body(Math.min(cycles, 200_000)); // warm-up: JIT and inline caches settle before the heap baseline
  const before = heapAfterGc(gc);
  const t0 = performance.now();
  body(cycles);
  const t1 = performance.now();
  const after = heapAfterGc(gc);
  return [(cycles * 1000) / (t1 - t0), after - before];
}

export const mbufSuite: BenchSuite = {
  name: 'mbuf',
  async run({ quick }): Promise<BenchRow[]> {
    const cycles = quick ? 1_000_000 : 10_000_000;
    const gc = findGc();
    const gcNote = gc ? 'heap after full GC' : 'gc unavailable: heapUsed without GC, includes garbage';
    const pool = new Mempool({ segments: 4096 });
    const frame = new Uint8Array(1500);
    const batch: Mbuf[] = new Array<Mbuf>(32);
    const rows: BenchRow[] = [];

    const [single, heapSingle] = measure(cycles, gc, (n) => {
      for (let i = 0; i < n; i++) pool.free(pool.alloc()!);
    });
    rows.push({ name: 'alloc+free', value: single / 1e6, unit: 'M cycles/s' });
    rows.push({
      name: `heap growth over ${cycles / 1e6}M alloc+free`,
      value: heapSingle / 1024,
      unit: 'KiB',
      note: `${gcNote}; ${(heapSingle / cycles).toFixed(3)} B/cycle`,
    });

    const [bulk, heapBulk] = measure(cycles / 32, gc, (n) => {
      for (let i = 0; i < n; i++) {
        pool.allocBulk(32, batch);
        pool.freeBulk(batch, 32);
      }
    });
    rows.push({ name: 'allocBulk(32)+freeBulk', value: (bulk * 32) / 1e6, unit: 'M mbufs/s' });
    rows.push({ name: 'heap growth, bulk', value: heapBulk / 1024, unit: 'KiB', note: gcNote });

    const [copy, heapCopy] = measure(cycles / 4, gc, (n) => {
      for (let i = 0; i < n; i++) {
        const m = pool.alloc()!;
        m.append(frame);
        m.prepend(14);
        pool.free(m);
      }
    });
    rows.push({ name: 'alloc+append 1500 B+prepend 14+free', value: copy / 1e6, unit: 'M pkts/s' });
    rows.push({ name: 'heap growth, append', value: heapCopy / 1024, unit: 'KiB', note: gcNote });
    if (pool.inUse !== 0 || pool.failures !== 0) throw new Error('mbuf bench: pool leaked or failed');
    return rows;
  },
};
