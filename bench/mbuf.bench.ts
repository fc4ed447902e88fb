// mbuf pool: alloc/free cycles per second and heap growth over many cycles (issue 2: "no allocation
// per packet in steady state"). Heap is sampled after a full GC when one can be triggered.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { rate, type BenchRow, type BenchSuite } from './harness.ts';
import { Mempool, copyBytes, registerCopyViews, type Mbuf } from '../src/mbuf/index.ts';

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
    rows.push(...copyRows(quick));
    return rows;
  },
};

/**
 * The copy between shared packet memory and a socket's receive chunk (ArrayBuffer), 1970 B from a
 * payload 78 bytes into a 2 KiB buffer, over 16 MiB of each so caches do not hold it: node's fill
 * from a view kept per buffer (what Mbuf.copyTo and SendBuffer.appendTo use), the word loop
 * (copyBytes with registered views), and `set(subarray)` with the two ends aligned alike modulo 8
 * and not (V8 moves words only in the first case). Three runs each, interleaved; GB/s, median.
 */
function copyRows(quick: boolean): BenchRow[] {
  const SIZE = 16 << 20;
  const BUF = 2048;
  const LEN = 1970;
  const mem = new Uint8Array(new SharedArrayBuffer(SIZE));
  const chunk = Buffer.allocUnsafeSlow(SIZE);
  registerCopyViews(mem);
  registerCopyViews(chunk);
  const n = SIZE / BUF;
  const kept: Uint8Array[] = [];
  for (let i = 0; i < n; i++) kept.push(mem.subarray(i * BUF + 78));
  let i = 0;
  const next = (): number => (i = (i + 1) % (n - 1));
  const ways: [string, () => void][] = [
    ['fill from a kept view', () => void chunk.fill(kept[next()]!, i * BUF, i * BUF + LEN)],
    ['word loop (copyBytes)', () => copyBytes(chunk, i * BUF + 5, mem, next() * BUF + 78, LEN)],
    [
      'set(subarray), ends aligned alike',
      () => chunk.set(mem.subarray(next() * BUF + 78, i * BUF + 78 + LEN), i * BUF + 6),
    ],
    [
      'set(subarray), ends aligned apart',
      () => chunk.set(mem.subarray(next() * BUF + 78, i * BUF + 78 + LEN), i * BUF + 1),
    ],
  ];
  const runs = ways.map(() => [] as number[]);
  for (let r = 0; r < 3; r++)
    ways.forEach(([, fn], k) => runs[k]!.push((rate(fn, quick ? 50 : 400) * LEN) / 1e9));
  const median = (v: number[]): number => v.slice().sort((a, b) => a - b)[1]!;
  const words = median(runs[1]!);
  return ways.map(([what], k) => {
    const v = runs[k]!.slice().sort((a, b) => a - b);
    return {
      name: `copy ${LEN} B packet memory (shared) → receive chunk: ${what}`,
      value: median(v),
      unit: 'GB/s',
      reference: { name: 'word loop, same run', value: words, measured: true },
      note: `min ${v[0]!.toFixed(2)} / median ${v[1]!.toFixed(2)} / max ${v[2]!.toFixed(2)} GB/s, 16 MiB each side`,
    };
  });
}
