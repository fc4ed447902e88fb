// `npm run bench [-- --quick] [-- --only NAME] [-- --runs N]`: runs every suite in bench/suites.ts,
// prints one table per suite (the median of N runs with its min and max, the reference, the median
// of the runs' ratios, target, met/short) and writes bench/out/results.json with every run's figure.
// Timed suites run N times (default 3, 1 with --quick), in rounds over all suites, so that each
// figure's runs spread over the whole bench rather than one minute of it (bench/runs.ts); counted
// suites (BenchSuite.counted) run once.
import { mkdirSync, writeFileSync } from 'node:fs';
import { targetStatus, type BenchRow } from './harness.ts';
import { median, mergeRuns, type MergedRow } from './runs.ts';
import { suites } from './suites.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = opt('--only');
const runs = Number(opt('--runs') ?? (quick ? 1 : 3));
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write(`bench: --runs must be a whole number ≥ 1\n`);
  process.exit(2);
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(2) : v.toPrecision(3);
}

/** "min / max" of some figures, or '' for one. */
function range(v: readonly number[] | undefined): string {
  if (v === undefined || v.length < 2) return '';
  return `${fmt(Math.min(...v))} / ${fmt(Math.max(...v))}`;
}

const chosen = suites.filter((s) => only === undefined || s.name === only);
if (chosen.length === 0) {
  process.stderr.write(`bench: no suite named ${only} (${suites.map((s) => s.name).join(', ')})\n`);
  process.exit(2);
}
const perSuite = new Map<string, BenchRow[][]>(chosen.map((s) => [s.name, []]));
for (let round = 0; round < runs; round++) {
  for (const suite of chosen) {
    if (round > 0 && suite.counted === true) continue;
    const which = runs > 1 && suite.counted !== true ? ` run ${round + 1}/${runs}` : '';
    process.stderr.write(`bench: ${suite.name}${quick ? ' (quick)' : ''}${which}...\n`);
    const t0 = performance.now();
    perSuite.get(suite.name)!.push(await suite.run({ quick, round }));
    process.stderr.write(`bench: ${suite.name} took ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  }
}

const results: Record<string, MergedRow[]> = {};
for (const [name, perRun] of perSuite) {
  const rows = mergeRuns(perRun);
  results[name] = rows;
  const table = rows.map((r) => ({
    measure: r.name,
    value: `${fmt(r.value)} ${r.unit}`,
    runs: r.runs.values.length,
    'min / max': range(r.runs.values),
    reference: r.reference
      ? `${r.reference.name}: ${fmt(r.reference.value)}${r.reference.measured ? '' : ' (seed)'}`
      : '',
    ratio: r.runs.ratios !== undefined ? fmt(median(r.runs.ratios)) : '',
    'ratio min / max': range(r.runs.ratios),
    target: r.target ? `${r.target.higherIsBetter ? '≥' : '≤'} ${fmt(r.target.value)}` : '',
    status: r.target ? targetStatus(r.value, r.target) : '',
    note: r.note ?? '',
  }));
  console.log(`\n## ${name}${perRun.length > 1 ? ` (median of ${perRun.length} runs)` : ''}`);
  console.table(table);
}
mkdirSync(new URL('./out/', import.meta.url), { recursive: true });
const out = new URL('./out/results.json', import.meta.url);
writeFileSync(
  out,
  JSON.stringify({ date: new Date().toISOString(), quick, runs, node: process.version, results }, null, 2),
);
console.log(`\nwrote ${out.pathname}`);
