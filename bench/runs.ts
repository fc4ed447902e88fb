// Several runs of a timed suite merged into one row per figure. On a shared host one run is a
// sample, not a figure: the same code moved 0.4–1.0× between runs minutes apart on the 2-core VMs
// these tables come from, and Linux's own veth reference as much. So `npm run bench` runs every
// timed suite several times, rounds interleaved over the whole bench (suite A, B, …, then A, B, …
// again), and reports each figure's median with its min and max. A figure's ratio to its
// reference is taken within each run, where both were measured minutes apart at most, and the
// median of those ratios is reported: a host that slowed down for one run moves both.
import type { BenchRow } from './harness.ts';

/** The runs behind a merged row, in run order. */
export interface RunSpread {
  values: number[];
  /** The reference of each run (same order), when every run has one. */
  references?: number[];
  /** value / reference of each run, when every run has a non-zero reference. */
  ratios?: number[];
}

/** A row merged over runs: value and reference are medians; `runs` holds each run's. */
export interface MergedRow extends BenchRow {
  runs: RunSpread;
}

/** Ascending, a NaN (a figure that failed to measure) after every number. */
const ascending = (x: number, y: number): number =>
  Number.isNaN(x) ? (Number.isNaN(y) ? 0 : 1) : Number.isNaN(y) ? -1 : x - y;

/** The median of v (the lower middle one for an even count; NaNs count, sorted last), v not empty. */
export function median(v: readonly number[]): number {
  return v.slice().sort(ascending)[(v.length - 1) >> 1]!;
}

/**
 * One row per figure name, in the order names first appear: value the median of the runs that
 * have the figure, the other fields (unit, target, note) from the run whose value is that median,
 * the reference the median of the runs' references. A run missing a figure (a row a failure
 * left out) leaves it with fewer values; `runs.values.length` says how many.
 */
export function mergeRuns(perRun: readonly (readonly BenchRow[])[]): MergedRow[] {
  const byName = new Map<string, BenchRow[]>();
  for (const rows of perRun) {
    for (const r of rows) {
      const list = byName.get(r.name);
      if (list === undefined) byName.set(r.name, [r]);
      else list.push(r);
    }
  }
  const out: MergedRow[] = [];
  for (const rows of byName.values()) {
    const values = rows.map((r) => r.value);
    // The run at the median position (by index: a NaN equals nothing, so not by value).
    const order = rows.map((_, i) => i).sort((i, j) => ascending(values[i]!, values[j]!));
    const base = rows[order[(rows.length - 1) >> 1]!]!;
    const runs: RunSpread = { values };
    const merged: MergedRow = { ...base, runs };
    if (rows.every((r) => r.reference !== undefined)) {
      const references = rows.map((r) => r.reference!.value);
      runs.references = references;
      merged.reference = { ...base.reference!, value: median(references) };
      if (references.every((x) => x !== 0)) runs.ratios = rows.map((r, i) => r.value / references[i]!);
    } else {
      // A reference some runs lacked would print beside a median it was never measured with.
      delete merged.reference;
    }
    out.push(merged);
  }
  return out;
}
