import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BenchRow } from '../../bench/harness.ts';
import { median, mergeRuns } from '../../bench/runs.ts';

const row = (name: string, value: number, ref?: number, note = `run value ${value}`): BenchRow => ({
  name,
  value,
  unit: 'Gbps',
  note,
  ...(ref === undefined ? {} : { reference: { name: 'veth', value: ref, measured: true } }),
});

describe('bench runs merged into one row per figure', () => {
  it('takes the median value, the median reference and each run’s own ratio', () => {
    const merged = mergeRuns([
      [row('stream', 8, 16), row('rr', 40_000, 20_000)],
      [row('stream', 12, 12), row('rr', 30_000, 30_000)],
      [row('stream', 6, 24), row('rr', 50_000, 25_000)],
    ]);
    expect(merged.map((r) => r.name)).toEqual(['stream', 'rr']);
    const [stream, rr] = merged;
    expect(stream!.value).toBe(8);
    expect(stream!.reference!.value).toBe(16);
    // Paired within each run: 8/16, 12/12, 6/24, not median(value) / median(reference).
    expect(stream!.runs.ratios).toEqual([0.5, 1, 0.25]);
    expect(median(stream!.runs.ratios!)).toBe(0.5);
    expect(stream!.note).toBe('run value 8');
    expect(rr!.value).toBe(40_000);
    expect(rr!.runs.values).toEqual([40_000, 30_000, 50_000]);
    expect(rr!.runs.references).toEqual([20_000, 30_000, 25_000]);
  });

  it('keeps a figure some runs lack, with the runs that have it, and no reference unless all have one', () => {
    const merged = mergeRuns([
      [row('a', 1, 2), row('b', 5)],
      [row('a', 3)],
      [row('c', 7, 7), row('a', 2, 4)],
    ]);
    expect(merged.map((r) => [r.name, r.runs.values.length])).toEqual([
      ['a', 3],
      ['b', 1],
      ['c', 1],
    ]);
    const a = merged[0]!;
    expect(a.value).toBe(2);
    expect(a.reference).toBeUndefined();
    expect(a.runs.ratios).toBeUndefined();
    expect(merged[2]!.runs.ratios).toEqual([1]);
  });

  it('gives no ratios when a run’s reference is 0 (a reference that failed to measure)', () => {
    const merged = mergeRuns([[row('s', 4, 0)], [row('s', 5, 10)], [row('s', 6, 12)]]);
    expect(merged[0]!.reference!.value).toBe(10);
    expect(merged[0]!.runs.ratios).toBeUndefined();
  });

  it('a run whose figure failed to measure (NaN) neither throws nor takes the median, and keeps the row whole', () => {
    const merged = mergeRuns([[row('s', NaN, 10)], [row('s', 5, 10)], [row('s', 3, 10)], [row('s', 4, 10)]]);
    const s = merged[0]!;
    expect(s.name).toBe('s');
    expect(s.unit).toBe('Gbps');
    expect(s.value).toBe(4);
    expect(s.note).toBe('run value 4');
    expect(s.runs.values).toEqual([NaN, 5, 3, 4]);
    expect(median([NaN, NaN, 1])).toBeNaN();
    expect(median([2, NaN, 1])).toBe(2);
  });

  it('median: a value of the runs with as many at or below it as at or above it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, min: -1e9, max: 1e9 }), { minLength: 1, maxLength: 9 }),
        (v) => {
          const m = median(v);
          expect(v).toContain(m);
          const below = v.filter((x) => x <= m).length;
          const above = v.filter((x) => x >= m).length;
          expect(below).toBeGreaterThanOrEqual(Math.ceil(v.length / 2));
          expect(above).toBeGreaterThanOrEqual(Math.floor(v.length / 2) + 1);
        },
      ),
    );
  });

  it('every merged value is its runs’ median and lies within their min and max', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.array(fc.tuple(fc.constantFrom('x', 'y', 'z'), fc.integer({ min: 1, max: 1000 })), {
            maxLength: 3,
          }),
          {
            minLength: 1,
            maxLength: 5,
          },
        ),
        (runs) => {
          const perRun = runs.map((rs) => rs.map(([n, v]) => row(n, v, v * 2)));
          for (const m of mergeRuns(perRun)) {
            const vs = perRun
              .flat()
              .filter((r) => r.name === m.name)
              .map((r) => r.value);
            expect(m.runs.values).toEqual(vs);
            expect(m.value).toBe(median(vs));
            expect(m.value).toBeGreaterThanOrEqual(Math.min(...vs));
            expect(m.value).toBeLessThanOrEqual(Math.max(...vs));
            expect(m.runs.ratios!.every((x) => x === 0.5)).toBe(true);
          }
        },
      ),
    );
  });
});
