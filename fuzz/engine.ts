// A coverage-guided mutational fuzzer in the manner of libFuzzer/AFL, for targets bundled with
// istanbul counters (fuzz/build.ts). After each input the branch and function counters are
// compared with the previous run's; an input that reaches a counter, or a hit-count bucket of one
// (1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+, as AFL buckets edge counts), that no earlier input
// reached joins the corpus and is mutated further. A target signals a bug by throwing.
//
// @jazzer.js/core would be the off-the-shelf choice, but its native fuzzer is built against glibc
// 2.38 and the project's machines carry 2.36, and building it from source fetches libFuzzer from
// the network; istanbul's instrumentation is pure JavaScript.

/** istanbul's per-file coverage record, the parts read here. */
interface FileCoverage {
  f: Record<string, number>;
  b: Record<string, number[]>;
}

/** The counters of every instrumented file, flattened once into a list to scan after each run. */
class Counters {
  private readonly arrays: number[][] = [];
  private readonly fnObjs: Record<string, number>[] = [];
  private readonly fnKeys: string[][] = [];
  private prev = new Float64Array(0);
  private seen = new Uint8Array(0);
  total = 0;

  /** Reads globalThis.__coverage__ (filled when the bundle's modules were evaluated). */
  constructor() {
    const cov = (globalThis as { __coverage__?: Record<string, FileCoverage> }).__coverage__;
    if (cov === undefined) throw new Error('fuzz: the target bundle is not instrumented');
    for (const file of Object.values(cov)) {
      for (const arr of Object.values(file.b)) this.arrays.push(arr);
      this.fnObjs.push(file.f);
      this.fnKeys.push(Object.keys(file.f));
    }
    let n = 0;
    for (const a of this.arrays) n += a.length;
    for (const k of this.fnKeys) n += k.length;
    this.total = n;
    this.prev = new Float64Array(n);
    this.seen = new Uint8Array(n);
  }

  /** Whether the run since the last call reached a new counter or bucket (and records it). */
  update(): boolean {
    let fresh = false;
    let i = 0;
    const { prev, seen } = this;
    for (const a of this.arrays) {
      for (let j = 0; j < a.length; j++, i++) {
        const v = a[j]!;
        const d = v - prev[i]!;
        if (d === 0) continue;
        prev[i] = v;
        const bit = bucket(d);
        if ((seen[i]! & bit) === 0) {
          seen[i] = seen[i]! | bit;
          fresh = true;
        }
      }
    }
    for (let f = 0; f < this.fnObjs.length; f++) {
      const o = this.fnObjs[f]!;
      for (const k of this.fnKeys[f]!) {
        const v = o[k]!;
        const d = v - prev[i]!;
        if (d !== 0) {
          prev[i] = v;
          const bit = bucket(d);
          if ((seen[i]! & bit) === 0) {
            seen[i] = seen[i]! | bit;
            fresh = true;
          }
        }
        i++;
      }
    }
    return fresh;
  }

  /** Counters reached at least once. */
  get covered(): number {
    let c = 0;
    for (const s of this.seen) if (s !== 0) c++;
    return c;
  }
}

function bucket(d: number): number {
  if (d <= 3) return 1 << (d - 1);
  if (d <= 7) return 8;
  if (d <= 15) return 16;
  if (d <= 31) return 32;
  if (d <= 127) return 64;
  return 128;
}

/** xorshift128+: seeded, so a run replays with the same --seed. */
class Rng {
  private a: bigint;
  private b: bigint;
  constructor(seed: number) {
    this.a = BigInt(seed >>> 0) * 0x9e3779b97f4a7c15n + 1n;
    this.b = (this.a ^ 0xdeadbeefcafebaben) & 0xffffffffffffffffn;
    for (let i = 0; i < 8; i++) this.next32();
  }
  next32(): number {
    let s1 = this.a;
    const s0 = this.b;
    this.a = s0;
    s1 ^= (s1 << 23n) & 0xffffffffffffffffn;
    this.b = s1 ^ s0 ^ (s1 >> 17n) ^ (s0 >> 26n);
    return Number((this.b + s0) & 0xffffffffn);
  }
  /** 0 ≤ r < n. */
  below(n: number): number {
    return n <= 1 ? 0 : this.next32() % n;
  }
}

// Values that sit on boundaries of the fields the targets parse: lengths, signs, magic numbers.
const INTERESTING8 = [0, 1, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x40, 6, 17, 0x45, 0x60];
const INTERESTING16 = [
  0,
  0xffff,
  0x7fff,
  0x8000,
  0x0800,
  0x86dd,
  0x8100,
  0x88a8,
  0x0806,
  1500,
  1448,
  65535 - 40,
];
const INTERESTING32 = [0, 0xffffffff, 0x7fffffff, 0x80000000, 0xa1b2c3d4, 0x0a0d0d0a, 0x1a2b3c4d, 0x00000001];

/** One havoc step on `b` (a private copy), possibly returning a new array of another length. */
function mutateOnce(b: Uint8Array, rng: Rng, corpus: readonly Uint8Array[], maxLen: number): Uint8Array {
  const n = b.length;
  const at = (w: number): number => rng.below(Math.max(1, n - w + 1));
  switch (rng.below(12)) {
    case 0:
      if (n > 0) b[at(1)]! ^= 1 << rng.below(8);
      return b;
    case 1:
      if (n > 0) b[at(1)] = rng.below(256);
      return b;
    case 2:
      if (n > 0) b[at(1)] = INTERESTING8[rng.below(INTERESTING8.length)]!;
      return b;
    case 3:
      if (n >= 2) {
        const v = INTERESTING16[rng.below(INTERESTING16.length)]!;
        const o = at(2);
        const le = rng.below(2) === 0;
        b[o] = le ? v & 0xff : v >>> 8;
        b[o + 1] = le ? v >>> 8 : v & 0xff;
      }
      return b;
    case 4:
      if (n >= 4) {
        const v = INTERESTING32[rng.below(INTERESTING32.length)]!;
        const o = at(4);
        const le = rng.below(2) === 0;
        for (let k = 0; k < 4; k++) b[o + k] = (v >>> (8 * (le ? k : 3 - k))) & 0xff;
      }
      return b;
    case 5:
      // add or subtract a small amount to a byte / a big-endian u16
      if (n >= 2) {
        const o = at(2);
        const d = rng.below(35) - 17;
        const v = (((b[o]! << 8) | b[o + 1]!) + d) & 0xffff;
        b[o] = v >>> 8;
        b[o + 1] = v & 0xff;
      }
      return b;
    case 6: {
      // delete a block
      if (n < 2) return b;
      const len = 1 + rng.below(Math.min(n - 1, 64));
      const o = rng.below(n - len + 1);
      const out = new Uint8Array(n - len);
      out.set(b.subarray(0, o));
      out.set(b.subarray(o + len), o);
      return out;
    }
    case 7: {
      // insert random bytes or a copy of a block
      const len = 1 + rng.below(64);
      if (n + len > maxLen) return b;
      const o = rng.below(n + 1);
      const out = new Uint8Array(n + len);
      out.set(b.subarray(0, o));
      if (n > 0 && rng.below(2) === 0) {
        const from = rng.below(n);
        for (let k = 0; k < len; k++) out[o + k] = b[(from + k) % n]!;
      } else for (let k = 0; k < len; k++) out[o + k] = rng.below(256);
      out.set(b.subarray(o), o + len);
      return out;
    }
    case 8: {
      // overwrite with a block of another corpus entry
      const other = corpus[rng.below(corpus.length)];
      if (other === undefined || other.length === 0 || n === 0) return b;
      const len = 1 + rng.below(Math.min(other.length, n));
      b.set(other.subarray(rng.below(other.length - len + 1)).subarray(0, len), rng.below(n - len + 1));
      return b;
    }
    case 9: {
      // splice: head of this input, tail of another
      const other = corpus[rng.below(corpus.length)];
      if (other === undefined) return b;
      const cut = rng.below(n + 1);
      const from = rng.below(other.length + 1);
      const len = Math.min(maxLen, cut + other.length - from);
      const out = new Uint8Array(len);
      out.set(b.subarray(0, Math.min(cut, len)));
      if (len > cut) out.set(other.subarray(from, from + len - cut), cut);
      return out;
    }
    case 10: {
      // truncate
      return n === 0 ? b : b.subarray(0, rng.below(n));
    }
    default: {
      // memset a block
      if (n === 0) return b;
      const len = 1 + rng.below(Math.min(n, 32));
      b.fill(rng.below(2) === 0 ? 0 : 0xff, at(len), at(len) + len);
      return b;
    }
  }
}

export interface FuzzOptions {
  runs: number;
  /** Wall-clock limit; whichever of runs and seconds comes first ends the campaign. */
  seconds: number;
  seed: number;
  maxLen: number;
  seeds: readonly Uint8Array[];
  /** Progress lines on stderr every this many ms (0: none). */
  progressMs?: number;
}

export interface FuzzResult {
  runs: number;
  seconds: number;
  corpus: Uint8Array[];
  covered: number;
  counters: number;
  crash: { input: Uint8Array; error: unknown } | null;
}

/** Runs `target` on mutated inputs until opts.runs or opts.seconds, or the first crash. */
export function fuzzLoop(target: (data: Uint8Array) => void, opts: FuzzOptions): FuzzResult {
  const rng = new Rng(opts.seed);
  const counters = new Counters();
  const corpus: Uint8Array[] = [];
  const t0 = performance.now();
  let lastProgress = t0;
  let runs = 0;
  const exec = (input: Uint8Array): { error: unknown } | null => {
    runs++;
    try {
      target(input);
    } catch (error) {
      return { error };
    }
    return null;
  };
  const start = opts.seeds.length > 0 ? opts.seeds : [new Uint8Array(0)];
  for (const s of start) {
    const input = s.subarray(0, opts.maxLen);
    const c = exec(input);
    if (c !== null) return done(input, c.error);
    if (counters.update() || corpus.length === 0) corpus.push(input);
  }
  const deadline = t0 + opts.seconds * 1000;
  while (runs < opts.runs) {
    if ((runs & 255) === 0) {
      const now = performance.now();
      if (now > deadline) break;
      if (opts.progressMs !== undefined && opts.progressMs > 0 && now - lastProgress > opts.progressMs) {
        lastProgress = now;
        const rate = Math.round(runs / ((now - t0) / 1000));
        process.stderr.write(
          `  #${runs} corpus ${corpus.length} cov ${counters.covered}/${counters.total} ${rate}/s\n`,
        );
      }
    }
    const parent = corpus[rng.below(corpus.length)]!;
    let input: Uint8Array = parent.slice();
    const steps = 1 << rng.below(5);
    for (let k = 0; k < steps; k++) input = mutateOnce(input, rng, corpus, opts.maxLen);
    const c = exec(input);
    if (c !== null) return done(input, c.error);
    if (counters.update()) corpus.push(input.slice());
  }
  return done(null, null);

  function done(input: Uint8Array | null, error: unknown): FuzzResult {
    return {
      runs,
      seconds: (performance.now() - t0) / 1000,
      corpus,
      covered: counters.covered,
      counters: counters.total,
      crash: input === null ? null : { input: input.slice(), error },
    };
  }
}
