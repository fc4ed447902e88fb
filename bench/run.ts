// `npm run bench [-- --quick] [-- --only NAME]`: runs every suite in bench/suites.ts, prints one table
// (value, reference, ratio, target, met/short) and writes bench/out/results.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { targetStatus, type BenchRow } from './harness.ts';
import { suites } from './suites.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(2) : v.toPrecision(3);
}

const results: Record<string, BenchRow[]> = {};
for (const suite of suites) {
  if (only !== undefined && suite.name !== only) continue;
  process.stderr.write(`bench: ${suite.name}${quick ? ' (quick)' : ''}...\n`);
  const t0 = performance.now();
  const rows = await suite.run({ quick });
  process.stderr.write(`bench: ${suite.name} took ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  results[suite.name] = rows;
  const table = rows.map((r) => ({
    measure: r.name,
    value: `${fmt(r.value)} ${r.unit}`,
    reference: r.reference
      ? `${r.reference.name}: ${fmt(r.reference.value)}${r.reference.measured ? '' : ' (seed)'}`
      : '',
    ratio: r.reference && r.reference.value !== 0 ? fmt(r.value / r.reference.value) : '',
    target: r.target ? `${r.target.higherIsBetter ? '≥' : '≤'} ${fmt(r.target.value)}` : '',
    status: r.target ? targetStatus(r.value, r.target) : '',
    note: r.note ?? '',
  }));
  console.log(`\n## ${suite.name}`);
  console.table(table);
}
mkdirSync(new URL('./out/', import.meta.url), { recursive: true });
const out = new URL('./out/results.json', import.meta.url);
writeFileSync(
  out,
  JSON.stringify({ date: new Date().toISOString(), quick, node: process.version, results }, null, 2),
);
console.log(`\nwrote ${out.pathname}`);
