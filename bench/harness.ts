// Shared shape of every benchmark: a suite returns rows; the runner prints one table and writes JSON.

export interface BenchRow {
  /** What is measured, e.g. "csum 1500 B (wasm simd)". */
  name: string;
  value: number;
  unit: string;
  /** A figure measured in the same run (C baseline, Linux over veth) or a seed figure, for the ratio. */
  reference?: { name: string; value: number; measured: boolean };
  note?: string;
}

export interface BenchOptions {
  quick: boolean;
}

export interface BenchSuite {
  name: string;
  run(opts: BenchOptions): Promise<BenchRow[]>;
}

/** Runs `fn` repeatedly for about `ms` milliseconds (after a warm-up) and returns calls per second. */
export function rate(fn: () => void, ms: number): number {
  const warmEnd = performance.now() + Math.min(200, ms / 4);
  while (performance.now() < warmEnd) fn();
  let calls = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 64; i++) fn();
    calls += 64;
    now = performance.now();
  }
  return (calls * 1000) / (now - start);
}
