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
    const m = pow2 ? 2 ** e : 10 ** e;
    // Long division of hi:lo by m (<= 2^32) in limbs of 32, 16 and 16 bits: every partial
    // dividend stays below 2^48, so % and the exact division below are exact in doubles.
    const r1 = hi % m;
    const q1 = (hi - r1) / m;
    const x2 = r1 * 65536 + (lo >>> 16);
    const r2 = x2 % m;
    const x3 = r2 * 65536 + (lo & 0xffff);
    const r3 = x3 % m;
    if (q1 >= 2 ** 21) throw new PcapError('TIMESTAMP_RANGE', offset, 'timestamp seconds beyond 2^53');
    sec = q1 * TWO32 + ((x2 - r2) / m) * 65536 + (x3 - r3) / m;
    // r3 < 2^32, so r3 * 5^9 < 2^53 and scaling by a power of 2 is exact.
    nsec = pow2 ? Math.floor(r3 * FIVE9 * 2 ** (9 - e)) : r3 * 10 ** (9 - e);
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
 * Sets out.hi/out.lo to sec.nsec in units of `tsresol` (truncating finer digits). Throws a
 * RangeError when the count does not fit in 64 bits.
 */
export function timestampToUnits(sec: number, nsec: number, tsresol: number, out: Units): void {
  if (!Number.isSafeInteger(sec) || sec < 0 || !Number.isInteger(nsec) || nsec < 0 || nsec >= NS_PER_S) {
    throw new RangeError(`bad timestamp ${sec}.${nsec}`);
  }
  const e = tsresol & 0x7f;
  const pow2 = (tsresol & TSRESOL_POW2) !== 0;
  if (sec < TWO32 && ((pow2 && e <= 32) || (!pow2 && e <= 9))) {
    const m = pow2 ? 2 ** e : 10 ** e;
    let f: number;
    if (!pow2) f = Math.floor(nsec / 10 ** (9 - e));
    else if (e <= 9) {
      const d = FIVE9 * 2 ** (9 - e);
      f = (nsec - (nsec % d)) / d;
    } else {
      const y = nsec * 2 ** (e - 9); // exact, < 2^53
      f = (y - (y % FIVE9)) / FIVE9;
    }
    // sec * m + f with sec split in 16-bit halves so every product stays below 2^49.
    const al = sec % 65536;
    const p0 = al * m + f;
    const p1 = ((sec - al) / 65536) * m;
    const p1lo = p1 % 65536;
    const t = p1lo * 65536 + p0;
    const lo = t % TWO32;
    out.hi = (p1 - p1lo) / 65536 + (t - lo) / TWO32;
    out.lo = lo;
    return;
  }
  const units = unitsBig(tsresol);
  const ts = BigInt(sec) * units + (BigInt(nsec) * units) / BigInt(NS_PER_S);
  if (ts >= 1n << 64n) throw new RangeError(`timestamp ${sec}.${nsec} does not fit in 64 bits`);
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
