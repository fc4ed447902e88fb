// Shared shape of every benchmark: a suite returns rows; the runner prints one table and writes JSON.

export interface BenchRow {
  /** What is measured, e.g. "csum 1500 B (wasm simd)". */
  name: string;
  value: number;
  unit: string;
  /** A figure measured in the same run (C baseline, Linux over veth) or a seed figure, for the ratio. */
  reference?: { name: string; value: number; measured: boolean };
  /** The figure the project aims at (issue 11's targets): printed beside the value with met/short. */
  target?: Target;
  note?: string;
}

export interface Target {
  value: number;
  /** Throughput-like figures must reach the target; latency and cost figures must stay under it. */
  higherIsBetter: boolean;
}

/** 'met', or how far short, e.g. 'short ×4.2' (the factor between target and value). */
export function targetStatus(value: number, t: Target): string {
  const met = t.higherIsBetter ? value >= t.value : value <= t.value;
  if (met) return 'met';
  if (value <= 0 || t.value <= 0) return 'short';
  const f = t.higherIsBetter ? t.value / value : value / t.value;
  return `short ×${f.toFixed(1)}`;
}

export interface BenchOptions {
  quick: boolean;
  /** Which run of the bench this is (0, 1, …): the Linux reference is measured once per round. */
  round: number;
}

export interface BenchSuite {
  name: string;
  /**
   * Counts that do not depend on the machine's speed (copies, heap bytes per packet): run once.
   * Every other suite runs once per round (`npm run bench -- --runs N`, bench/runs.ts).
   */
  counted?: boolean;
  run(opts: BenchOptions): Promise<BenchRow[]>;
}

/**
 * Min, median and max of some samples (in `unit`, default ms), and the "min A / median B / max C
 * UNIT" a note prints.
 */
export function spread(v: readonly number[], unit = 'ms', digits = 1): { median: number; text: string } {
  const s = v.slice().sort((x, y) => x - y);
  const median = s[Math.floor(s.length / 2)]!;
  const f = (x: number): string => x.toFixed(digits);
  return {
    median,
    text: `min ${f(s[0]!)} / median ${f(median)} / max ${f(s[s.length - 1]!)} ${unit}`,
  };
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
