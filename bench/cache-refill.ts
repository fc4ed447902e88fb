// How much slower a thread reads memory it last touched before a pause than memory it touched just
// now: the machine's share of a latency row whose requests come far apart ("ping Linux→uk TAP",
// every 2 ms). On the 2-vCPU VM this was written on, reading 256 KiB took ~7 µs back to back, ~24
// after 2 ms asleep and ~17 after 2 ms of spinning in another loop: the core's caches are refilled
// by something else in 2 ms (a sibling hyperthread, another tenant), so a path's cost after a
// pause grows with how much code and data it touches, whether or not its thread slept.
import type { BenchRow } from './harness.ts';

const LINE = 64;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One load per cache line of `a`, summed. */
function touch(a: Int32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i += LINE / 4) s += a[i]!;
  return s;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[s.length >> 1]!;
}

/**
 * Median µs of one read of `kib` KiB, `reads` times back to back and `reads` times each after
 * sleeping `idleMs`.
 */
export async function cacheRefillUs(
  kib: number,
  idleMs: number,
  reads: number,
): Promise<{ warm: number; afterIdle: number }> {
  const a = new Int32Array((kib * 1024) / 4).fill(1);
  let sink = 0;
  const once = (): number => {
    const t0 = performance.now();
    sink += touch(a);
    return (performance.now() - t0) * 1000;
  };
  for (let i = 0; i < 200; i++) once(); // the JIT's tiers, not the figure
  const warm: number[] = [];
  for (let i = 0; i < reads; i++) warm.push(once());
  const cold: number[] = [];
  for (let i = 0; i < reads; i++) {
    await sleep(idleMs);
    cold.push(once());
  }
  // Every read summed one per line: checking the total keeps the loads from being dropped.
  if (sink !== (a.length / (LINE / 4)) * (200 + 2 * reads)) throw new Error('cache-refill: lost reads');
  return { warm: median(warm), afterIdle: median(cold) };
}

/** The two reference rows beside the TAP ping rows. */
export async function cacheRefillRows(quick: boolean): Promise<BenchRow[]> {
  const kib = 256;
  const idleMs = 2;
  const r = await cacheRefillUs(kib, idleMs, quick ? 50 : 500);
  const note =
    'reference (machine): one load per cache line, JavaScript; the gap between the two is what a pause alone costs a path of this footprint (bench/cache-refill.ts)';
  return [
    { name: `read of ${kib} KiB, back to back`, value: r.warm, unit: 'µs', note },
    { name: `read of ${kib} KiB after ${idleMs} ms asleep`, value: r.afterIdle, unit: 'µs', note },
  ];
}
