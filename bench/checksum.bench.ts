// Checksum throughput (issue 2): GB/s at 64 B, 1500 B and 64 KiB for each sum variant, against a C
// baseline compiled here with the machine's `gcc -O2` (bench/c/csum.c) and run in the same session.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rate, type BenchRow, type BenchSuite } from './harness.ts';
import { createPacketMemory, csumPartial, WASM_MIN_LEN, WIDE_MIN_LEN } from '../src/checksum/index.ts';
import { sumNaive } from '../src/checksum/naive.ts';
import { kernelFor } from '../src/checksum/packet-memory.ts';
import { sumJs } from '../src/checksum/partial.ts';

const SIZES = [64, 1500, 65536] as const;
/** Even start offsets taken in turn, as the C baseline does. */
const OFFSETS = [0, 2, 4, 6, 8, 10, 12, 14];

/** Compiles the C baseline into `dir`: the executable's path, or a note saying why there is none. */
function compileBaseline(dir: string): { exe: string } | { note: string } {
  const exe = join(dir, 'csum');
  const src = fileURLToPath(new URL('./c/csum.c', import.meta.url));
  try {
    execFileSync('gcc', ['-O2', '-o', exe, src], { stdio: 'pipe' });
    return { exe };
  } catch (e) {
    const code = (e as { code?: string }).code;
    return { note: code === 'ENOENT' ? 'gcc not found: no C baseline' : 'gcc failed on bench/c/csum.c' };
  }
}

/** GB/s of the C baseline at one size (run right before the JS rows of that size, so both see
 * the same machine load), or undefined if its output does not parse. */
function runBaseline(exe: string, ms: number, runs: number, size: number): number | undefined {
  const out = execFileSync(exe, [String(ms), String(runs), String(size)], { encoding: 'utf8' });
  const [at, v] = out.trim().split(' ').map(Number);
  return at === size && v !== undefined && Number.isFinite(v) ? v : undefined;
}

// Each variant's measured closure is its own function literal, so every call site inside stays
// monomorphic (a shared closure calling `f` would measure V8's megamorphic call, not the sum).
let sink = 0;
let turn = 0;
const nextOff = (): number => OFFSETS[turn++ & 7]!;

interface Variant {
  label: string;
  note?: string;
  plainBuffer: boolean;
  make(buf: Uint8Array, len: number): () => void;
}

/** Best of `runs` runs: other processes share the two cores, and interference only slows a run. */
function bestRate(fn: () => void, ms: number, runs: number): number {
  let best = 0;
  for (let r = 0; r < runs; r++) best = Math.max(best, rate(fn, ms / runs));
  return best;
}

export const checksumSuite: BenchSuite = {
  name: 'checksum',
  async run({ quick }) {
    const ms = quick ? 150 : 1500;
    const runs = quick ? 3 : 10;
    const pm = createPacketMemory(65536 + 4096);
    const kernel = kernelFor(pm.buffer);
    if (kernel === undefined) throw new Error('checksum bench: packet memory not registered');
    const inMemory = new Uint8Array(pm.buffer, 64, 65536 + 64);
    const plain = new Uint8Array(new ArrayBuffer(65536 + 128), 64, 65536 + 64);
    for (let i = 0; i < inMemory.length; i++) plain[i] = inMemory[i] = (i * 2654435761) >>> 24;

    const variants: Variant[] = [
      {
        label: 'naive JS',
        plainBuffer: true,
        make: (b, n) => () => {
          sink ^= sumNaive(b, nextOff(), n);
        },
      },
      {
        label: 'best JS',
        note: `byte loop < ${WIDE_MIN_LEN} B, else Uint32Array x16`,
        plainBuffer: true,
        make: (b, n) => () => {
          sink ^= sumJs(b, nextOff(), n);
        },
      },
      {
        label: 'wasm simd in place',
        plainBuffer: false,
        // The bare kernel call, address precomputed: csumPartial's rows minus these are its dispatch.
        make: (b, n) => {
          const base = b.byteOffset;
          return () => {
            sink ^= kernel(base + nextOff(), n);
          };
        },
      },
      {
        label: 'csumPartial, packet memory',
        note: `wasm from ${WASM_MIN_LEN} B`,
        plainBuffer: false,
        make: (b, n) => () => {
          sink ^= csumPartial(b, nextOff(), n);
        },
      },
      {
        label: 'csumPartial, plain buffer',
        note: 'falls back to best JS',
        plainBuffer: true,
        make: (b, n) => () => {
          sink ^= csumPartial(b, nextOff(), n);
        },
      },
    ];
    const dir = mkdtempSync(join(tmpdir(), 'ptnet-csum-'));
    const rows: BenchRow[] = [];
    try {
      const c = compileBaseline(dir);
      for (const size of SIZES) {
        const ref = 'exe' in c ? runBaseline(c.exe, ms / runs, runs, size) : undefined;
        for (const v of variants) {
          const calls = bestRate(v.make(v.plainBuffer ? plain : inMemory, size), ms, runs);
          const row: BenchRow = {
            name: `csum ${size} B (${v.label})`,
            value: (calls * size) / 1e9,
            unit: 'GB/s',
          };
          if (ref !== undefined) row.reference = { name: 'C gcc -O2', value: ref, measured: true };
          const notes = ['note' in c ? c.note : undefined, v.note].filter((n) => n !== undefined);
          if (notes.length > 0) row.note = notes.join('; ');
          rows.push(row);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    if (sink === -1) rows.push({ name: 'unreachable', value: 0, unit: '' }); // keeps `sink` live
    return rows;
  },
};
