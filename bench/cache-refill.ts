// How much slower a thread reads memory it last touched before a pause than memory it touched just
// now: the machine's share of a latency row whose requests come far apart ("ping Linux→uk TAP",
// every 2 ms). On the 2-vCPU VM this was written on, reading 256 KiB took ~7 µs back to back, ~24
// after 2 ms asleep and ~17 after 2 ms of spinning in another loop: the core's caches are refilled
// by something else in 2 ms (a sibling hyperthread, another tenant), so a path's cost after a
// pause grows with how much code and data it touches, whether or not its thread slept.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchRow } from './harness.ts';
import { median } from './runs.ts';

const LINE = 64;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One load per cache line of `a`, summed. */
function touch(a: Int32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i += LINE / 4) s += a[i]!;
  return s;
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

/**
 * The two reference rows beside the TAP ping rows, measured in a process of their own: in the
 * bench's process, after the stack had run there, the back-to-back read took ~17 µs instead of
 * ~6 (the same function, the machine idle; the cause was not pinned down), which hid most of the
 * gap this reference is there to show.
 */
export function cacheRefillRows(quick: boolean): BenchRow[] {
  const kib = 256;
  const idleMs = 2;
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--child',
      String(kib),
      String(idleMs),
      quick ? '50' : '500',
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  const r = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { warm: number; afterIdle: number };
  const note =
    'reference (machine): one load per cache line, JavaScript, in a fresh process; the gap between the two is what a pause alone costs a path of this footprint (bench/cache-refill.ts)';
  return [
    { name: `read of ${kib} KiB, back to back`, value: r.warm, unit: 'µs', note },
    { name: `read of ${kib} KiB after ${idleMs} ms asleep`, value: r.afterIdle, unit: 'µs', note },
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--child') {
  const [kib, idleMs, reads] = process.argv.slice(3).map(Number);
  console.log(JSON.stringify(await cacheRefillUs(kib!, idleMs!, reads!)));
}
