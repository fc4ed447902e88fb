// The impairment soak as a report: virtual seconds to move N MiB each way between two stacks over
// the in-memory pair, per scenario and seed (issue 14: compare before and after a TCP change; no
// seed may get slower without a reason). Every run is checked: both directions' SHA-256 must match.
//   npx tsx scripts/soak-report.ts [--mib 32] [--seeds 16] [--json FILE]
// Run it on two checkouts to compare them.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { makePair, randomBytesSeeded, runUntil, sha256 } from '../test/stack/harness.ts';

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '32' },
    seeds: { type: 'string', default: '16' },
    json: { type: 'string' },
  },
});
const MIB = Number(values.mib);
const SEEDS = Number(values.seeds);

const scenarios = [
  { name: '1 % loss', loss: 0.01, dup: 0, reorder: 0 },
  { name: '5 % loss', loss: 0.05, dup: 0, reorder: 0 },
  { name: '20 % loss', loss: 0.2, dup: 0, reorder: 0 },
  { name: '2 % reorder + 2 % duplication', loss: 0, dup: 0.02, reorder: 0.02 },
] as const;

function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x / 0x80000000;
  };
}

async function run(s: (typeof scenarios)[number], seed: number): Promise<number> {
  const realRandom = Math.random;
  Math.random = lcg(777 + seed); // neighbour jitter and ports: seeded so every run replays
  try {
    const p = makePair({
      a: { tcp: { sndBuf: 1 << 20, rcvBuf: 1 << 20 } },
      b: { tcp: { sndBuf: 1 << 20, rcvBuf: 1 << 20 } },
    });
    const rnd = lcg(4242 + seed * 7919);
    for (const l of [p.la, p.lb]) {
      l.rnd = rnd;
      l.drop = (_m, i) => i > 3 && rnd() < s.loss;
      l.dupRate = s.dup;
      l.reorderRate = s.reorder;
    }
    const up = randomBytesSeeded(MIB << 20, 1);
    const down = randomBytesSeeded(MIB << 20, 2);
    const atServer: Buffer[] = [];
    const atClient: Buffer[] = [];
    let serverDone = false;
    let clientDone = false;
    p.b.net
      .createServer((c) => {
        c.on('data', (d: Buffer) => atServer.push(d));
        c.on('end', () => (serverDone = true));
        c.end(down);
      })
      .listen(5001);
    const c = p.a.net.connect({ host: '10.0.0.2', port: 5001 });
    c.on('data', (d: Buffer) => atClient.push(d));
    c.on('end', () => (clientDone = true));
    c.end(up);
    const ms = await runUntil(p, () => serverDone && clientDone, 3_600_000);
    if (sha256(Buffer.concat(atServer)) !== sha256(up) || sha256(Buffer.concat(atClient)) !== sha256(down)) {
      throw new Error(`${s.name} seed ${seed}: data differs`);
    }
    return ms / 1000;
  } finally {
    Math.random = realRandom;
  }
}

const out: Record<string, number[]> = {};
for (const s of scenarios) {
  const times: number[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) times.push(await run(s, seed));
  out[s.name] = times;
  const sum = times.reduce((a, b) => a + b, 0);
  console.log(
    `${s.name.padEnd(30)} total ${sum.toFixed(1)} s  per seed: ${times.map((t) => t.toFixed(1)).join(' ')}`,
  );
}
if (values.json !== undefined)
  writeFileSync(values.json, JSON.stringify({ mib: MIB, seeds: SEEDS, out }, null, 2));
