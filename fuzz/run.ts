// npm run fuzz -- --target NAME [--runs N] [--seconds S] [--seed K] [--max-len B]
// npm run fuzz -- --all [...]      every target, one child process each
// Builds the target with istanbul counters (fuzz/build.ts), seeds it with the target's own seeds and
// test/fuzz-corpus/NAME/*, and runs fuzz/engine.ts. A crash writes its input under .fuzz/crashes/
// and exits 1; commit that input under test/fuzz-corpus/NAME/ with the fix, so
// test/fuzz/corpus.test.ts replays it from then on.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildTarget } from './build.ts';
import { fuzzLoop } from './engine.ts';

export const TARGETS = ['pcap', 'vnethdr', 'wire', 'gso', 'stack', 'tcp', 'rings'] as const;

const ROOT = resolve(import.meta.dirname, '..');

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    all: { type: 'boolean', default: false },
    runs: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '600' },
    seed: { type: 'string', default: '1' },
    'max-len': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

function usage(code: number): never {
  (code === 0 ? process.stdout : process.stderr).write(
    `usage: npm run fuzz -- (--target ${TARGETS.join('|')} | --all) [--runs N] [--seconds S] [--seed K] [--max-len B]\n`,
  );
  process.exit(code);
}

if (values.help) usage(0);
const runs = Number(values.runs);
const seconds = Number(values.seconds);
const seed = Number(values.seed);
if (!(runs > 0) || !(seconds > 0) || !Number.isInteger(seed)) usage(2);

if (values.all) {
  let failed = 0;
  for (const t of TARGETS) {
    const args = ['--import', 'tsx', join(ROOT, 'fuzz', 'run.ts'), '--target', t, '--runs', String(runs)];
    args.push('--seconds', String(seconds), '--seed', String(seed));
    const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: ROOT });
    if (r.status !== 0) failed++;
  }
  process.exit(failed > 0 ? 1 : 0);
}

const target = values.target;
if (target === undefined || !(TARGETS as readonly string[]).includes(target)) usage(2);

interface TargetModule {
  fuzz(data: Uint8Array): void;
  seeds(): Uint8Array[];
  maxLen: number;
}

const bundle = await buildTarget(target);
const mod = (await import(pathToFileURL(bundle).href)) as TargetModule;
const corpusDir = join(ROOT, 'test', 'fuzz-corpus', target);
const committed = existsSync(corpusDir)
  ? readdirSync(corpusDir).map((f) => new Uint8Array(readFileSync(join(corpusDir, f))))
  : [];
const maxLen = values['max-len'] !== undefined ? Number(values['max-len']) : mod.maxLen;
const r = fuzzLoop((d) => mod.fuzz(d), {
  runs,
  seconds,
  seed,
  maxLen,
  seeds: [...mod.seeds(), ...committed],
  progressMs: 10_000,
});
const summary = {
  target,
  runs: r.runs,
  seconds: Number(r.seconds.toFixed(1)),
  execsPerSec: Math.round(r.runs / r.seconds),
  corpus: r.corpus.length,
  coverage: `${r.covered}/${r.counters} branch and function counters`,
  crashes: r.crash === null ? 0 : 1,
  seed,
};
console.log(JSON.stringify(summary));
if (r.crash !== null) {
  const dir = join(ROOT, '.fuzz', 'crashes');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${target}-${createHash('sha1').update(r.crash.input).digest('hex').slice(0, 16)}`);
  writeFileSync(file, r.crash.input);
  const e = r.crash.error;
  console.error(`fuzz ${target}: crash after ${r.runs} runs, input saved to ${file}`);
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
}
