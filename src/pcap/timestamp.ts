// pcapng timestamps: a 64-bit count of units of 10^-e or 2^-e seconds (if_tsresol), split here into
// exact integer seconds and nanoseconds. The common resolutions (10^-0..10^-9, 2^-0..2^-32) use
// exact double arithmetic on 16-bit limbs and allocate nothing; the rest fall back to BigInt.
// Sub-nanosecond units are truncated toward zero, as Wireshark's pcapng reader does.
import { PcapError } from './errors.ts';
import { TSRESOL_POW2 } from './constants.ts';

const TWO32 = 0x1_0000_0000;
const NS_PER_S = 1_000_000_000;
/** 10^9 = 5^9 * 2^9. */
const FIVE9 = 1_953_125;

/** Seconds and nanoseconds, written in place so readers can reuse one object. */
export interface Timestamp {
  tsSec: number;
  tsNsec: number;
}

const POW10 = Float64Array.from({ length: 10 }, (_, i) => 10 ** i);
const POW2 = Float64Array.from({ length: 33 }, (_, i) => 2 ** i);
/** 2^(9-e): turns r * 5^9 units of 2^-e s into nanoseconds. */
const POW2_9 = Float64Array.from({ length: 33 }, (_, e) => 2 ** (9 - e));

// divmod() results: module state instead of an object per call.
let dq = 0;
let dr = 0;

/**
 * dq, dr = floor(x / m), x mod m for integers 0 <= x < 2^48, 0 < m <= 2^32. Math.floor(x / m) is
 * exact there: a quotient n - k/m (k >= 1) lies at least 1/m below n, more than half an ulp of n
 * since n * m <= x + m < 2^53. Cheaper than `%`, which V8 runs through fmod for non-int32 values.
 */
function divmod(x: number, m: number): void {
  dq = Math.floor(x / m);
  dr = x - dq * m;
}

/** Units per second of an if_tsresol byte as an exact BigInt. */
function unitsBig(tsresol: number): bigint {
  const e = BigInt(tsresol & 0x7f);
  return tsresol & TSRESOL_POW2 ? 1n << e : 10n ** e;
}

/**
 * Sets out.tsSec/out.tsNsec from the 64-bit unit count hi:lo at resolution `tsresol`, plus
 * `tsoffset` seconds (if_tsoffset). `offset` is the file offset reported on overflow.
 */
export function unitsToTimestamp(
  hi: number,
  lo: number,
  tsresol: number,
  tsoffset: number,
  out: Timestamp,
  offset: number,
): void {
  const e = tsresol & 0x7f;
  const pow2 = (tsresol & TSRESOL_POW2) !== 0;
  let sec: number;
  let nsec: number;
  if ((pow2 && e <= 32) || (!pow2 && e <= 9)) {
    const m = pow2 ? POW2[e]! : POW10[e]!;
    // Long division of hi:lo by m (<= 2^32) in limbs of 32, 16 and 16 bits: every partial
    // dividend stays below 2^48, so the products and differences in divmod() are exact.
    divmod(hi, m);
    const q1 = dq;
    divmod(dr * 65536 + (lo >>> 16), m);
    const q2 = dq;
    divmod(dr * 65536 + (lo & 0xffff), m);
    if (q1 >= 2 ** 21) throw new PcapError('TIMESTAMP_RANGE', offset, 'timestamp seconds beyond 2^53');
    sec = q1 * TWO32 + q2 * 65536 + dq;
    // dr < 2^32, so dr * 5^9 < 2^53 and scaling by a power of 2 is exact.
    nsec = pow2 ? Math.floor(dr * FIVE9 * POW2_9[e]!) : dr * POW10[9 - e]!;
  } else {
    const units = unitsBig(tsresol);
    const ts = (BigInt(hi) << 32n) | BigInt(lo);
    const s = ts / units;
    if (s > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new PcapError('TIMESTAMP_RANGE', offset, 'timestamp seconds beyond 2^53');
    }
    sec = Number(s);
    nsec = Number(((ts % units) * BigInt(NS_PER_S)) / units);
  }
  sec += tsoffset;
  if (!Number.isSafeInteger(sec)) {
    throw new PcapError('TIMESTAMP_RANGE', offset, 'timestamp seconds beyond 2^53');
  }
  out.tsSec = sec;
  out.tsNsec = nsec;
}

/** The 64-bit unit count of a timestamp, written in place. */
export interface Units {
  hi: number;
  lo: number;
}

/**
 * Sets out.hi/out.lo to sec.nsec in units of `tsresol` (truncating finer digits). Throws PcapError
 * UNREPRESENTABLE (at `offset`, the output offset of the record) when the timestamp is not a
 * non-negative sec with 0 <= nsec < 10^9, or its count does not fit in 64 bits: a pcapng EPB has
 * no way to say "before the epoch" or "more than 2^64 units".
 */
export function timestampToUnits(sec: number, nsec: number, tsresol: number, out: Units, offset = 0): void {
  if (!Number.isSafeInteger(sec) || sec < 0 || !Number.isInteger(nsec) || nsec < 0 || nsec >= NS_PER_S) {
    throw new PcapError('UNREPRESENTABLE', offset, `timestamp ${sec}.${nsec} is not a time since the epoch`);
  }
  const e = tsresol & 0x7f;
  const pow2 = (tsresol & TSRESOL_POW2) !== 0;
  if (sec < TWO32 && ((pow2 && e <= 32) || (!pow2 && e <= 9))) {
    const m = pow2 ? POW2[e]! : POW10[e]!;
    let f: number;
    if (!pow2) f = Math.floor(nsec / POW10[9 - e]!);
    else if (e <= 9) f = Math.floor(nsec / (FIVE9 * POW2[9 - e]!));
    else f = Math.floor((nsec * POW2[e - 9]!) / FIVE9); // nsec * 2^(e-9) < 2^53
    // sec * m + f with sec split in 16-bit halves so every product stays below 2^49; `& 0xffff`
    // and `>>> 0` take the low bits of any integer below 2^53 exactly.
    const p0 = (sec & 0xffff) * m + f;
    const p1 = Math.floor(sec / 65536) * m;
    const t = (p1 & 0xffff) * 65536 + p0;
    const lo = t >>> 0;
    out.hi = Math.floor(p1 / 65536) + Math.floor(t / TWO32);
    out.lo = lo;
    return;
  }
  const units = unitsBig(tsresol);
  const ts = BigInt(sec) * units + (BigInt(nsec) * units) / BigInt(NS_PER_S);
  if (ts >= 1n << 64n) {
    throw new PcapError(
      'UNREPRESENTABLE',
      offset,
      `timestamp ${sec}.${nsec} does not fit in 64 bits of if_tsresol 0x${tsresol.toString(16)} units`,
    );
  }
  out.hi = Number(ts >> 32n);
  out.lo = Number(ts & 0xffffffffn);
}

/** `SECONDS.NNNNNNNNN` with nine fractional digits, exact (also below the epoch). */
export function formatTimestamp(sec: number, nsec: number): string {
  if (sec < 0 && nsec > 0) {
    return `-${-(sec + 1)}.${String(NS_PER_S - nsec).padStart(9, '0')}`;
  }
  return `${sec}.${String(nsec).padStart(9, '0')}`;
}
