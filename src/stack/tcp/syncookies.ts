// SYN cookies (RFC 4987 §3.6) in the layout of Linux net/ipv4/syncookies.c: when a listener's SYN
// queue is full the SYN-ACK's ISN encodes the connection instead of a queue entry, and the ACK that
// echoes it recreates the connection (cookie_v4_check). ISN = H0 + SEQ' + count * 2^24 +
// ((H1(count) + mssIndex) mod 2^24), with count a minute counter and H0/H1 keyed hashes of the
// 4-tuple (secure_tcp_syn_cookie). When the peer sends timestamps, the low 6 bits of our TSval carry
// its window scale, SACK-permitted and ECN (cookie_init_timestamp); without them those options are
// lost, as in Linux. The keyed hash is HalfSipHash-2-4 (Linux hashes with SipHash; the 32-bit
// variant keeps everything in JS integer arithmetic and allocates nothing per SYN).

/** MSS values a cookie can encode (Linux msstab[] / msstab in syncookies.c, IPv4 and IPv6). */
export const COOKIE_MSS_V4: readonly number[] = [536, 1300, 1440, 1460];
export const COOKIE_MSS_V6: readonly number[] = [1280 - 60, 1480 - 60, 1500 - 60, 9000 - 60];

const COOKIEBITS = 24;
const COOKIEMASK = (1 << COOKIEBITS) - 1;
/** A cookie is accepted in the minute it was made and the next (MAX_SYNCOOKIE_AGE = 2). */
const MAX_SYNCOOKIE_AGE = 2;
/** Low TSval bits holding the options (TSBITS) and their fields. */
const TSBITS = 6;
const TSMASK = (1 << TSBITS) - 1;
export const TS_OPT_WSCALE_MASK = 0xf;
export const TS_OPT_SACK = 1 << 4;
export const TS_OPT_ECN = 1 << 5;
/** How long after the last SYN-queue overflow ACKs are checked for cookies (TCP_SYNCOOKIE_VALID). */
export const SYNCOOKIE_VALID_MS = 2 * 60 * 1000;

function rotl(x: number, b: number): number {
  return (x << b) | (x >>> (32 - b));
}

/** HalfSipHash state v0..v3, module-wide so that hashing allocates nothing. */
const V = new Int32Array(4);

function sipRounds(n: number): void {
  let v0 = V[0]!;
  let v1 = V[1]!;
  let v2 = V[2]!;
  let v3 = V[3]!;
  for (let r = 0; r < n; r++) {
    v0 = (v0 + v1) | 0;
    v1 = rotl(v1, 5) ^ v0;
    v0 = rotl(v0, 16);
    v2 = (v2 + v3) | 0;
    v3 = rotl(v3, 8) ^ v2;
    v0 = (v0 + v3) | 0;
    v3 = rotl(v3, 7) ^ v0;
    v2 = (v2 + v1) | 0;
    v1 = rotl(v1, 13) ^ v2;
    v2 = rotl(v2, 16);
  }
  V[0] = v0;
  V[1] = v1;
  V[2] = v2;
  V[3] = v3;
}

function compress(m: number): void {
  V[3] = V[3]! ^ m;
  sipRounds(2);
  V[0] = V[0]! ^ m;
}

/**
 * HalfSipHash-2-4 with a 32-bit tag (Aumasson and Bernstein's reference halfsiphash(), outlen 4)
 * over buf[off, off+len), key (k0, k1) as little-endian words. Returns the tag as a u32 read
 * little-endian.
 */
export function halfSipHash24(k0: number, k1: number, buf: Uint8Array, off: number, len: number): number {
  V[0] = k0;
  V[1] = k1;
  V[2] = 0x6c796765 ^ k0;
  V[3] = 0x74656462 ^ k1;
  const whole = len >>> 2;
  let o = off;
  for (let i = 0; i < whole; i++, o += 4)
    compress(buf[o]! | (buf[o + 1]! << 8) | (buf[o + 2]! << 16) | (buf[o + 3]! << 24));
  // Final block: the 0-3 leftover bytes, the length's low byte on top.
  let m = (len & 0xff) << 24;
  for (let i = 0; i < (len & 3); i++) m |= buf[o + i]! << (8 * i);
  compress(m);
  V[2] = V[2]! ^ 0xff;
  sipRounds(4);
  return (V[1]! ^ V[3]!) >>> 0;
}

/** The largest table entry not above `mss` (index 0 when below all), as cookie_v4_init_sequence. */
export function cookieMssIndex(table: readonly number[], mss: number): number {
  let i = table.length - 1;
  for (; i > 0; i--) if (mss >= table[i]!) break;
  return i;
}

/**
 * cookie_init_timestamp(): TSval `tsNow` with its low 6 bits replaced by the options (peer window
 * scale or 0xf for none, SACK), never above tsNow (so it never runs ahead of our clock).
 */
export function cookieTsval(tsNow: number, peerWscale: number, sack: boolean): number {
  let opts = peerWscale >= 0 ? Math.min(peerWscale, 14) : TS_OPT_WSCALE_MASK;
  if (sack) opts |= TS_OPT_SACK;
  let ts = ((tsNow >>> TSBITS) << TSBITS) >>> 0;
  ts = (ts | opts) >>> 0;
  if (((ts - tsNow) | 0) > 0) ts = (ts - (1 << TSBITS)) >>> 0;
  return ts;
}

/** The option bits of an echoed cookie TSval (cookie_timestamp_decode reads rcv_tsecr & TSMASK). */
export function cookieTsOptions(tsEcr: number): number {
  return tsEcr & TSMASK;
}

/** Keys and scratch for one TCP instance. */
export class SynCookies {
  private readonly k: Uint32Array;
  private readonly scratch = new Uint8Array(40);

  /** `key`: at least 16 bytes (two HalfSipHash keys: H0 and H1). */
  constructor(key: Uint8Array) {
    const k = new Uint32Array(4);
    for (let i = 0; i < 4; i++)
      k[i] = (key[4 * i]! | (key[4 * i + 1]! << 8) | (key[4 * i + 2]! << 16) | (key[4 * i + 3]! << 24)) >>> 0;
    this.k = k;
  }

  /** tcp_cookie_time(): minutes. */
  static count(nowMs: number): number {
    return Math.floor(nowMs / 60000) >>> 0;
  }

  /** cookie_hash(saddr, daddr, sport, dport, count, c): addresses are 4 or 16 bytes. */
  private hash(
    src: Uint8Array,
    dst: Uint8Array,
    sport: number,
    dport: number,
    count: number,
    c: number,
  ): number {
    const s = this.scratch;
    s.set(src, 0);
    s.set(dst, src.length);
    let o = src.length + dst.length;
    s[o++] = sport >>> 8;
    s[o++] = sport & 0xff;
    s[o++] = dport >>> 8;
    s[o++] = dport & 0xff;
    s[o++] = count & 0xff;
    s[o++] = (count >>> 8) & 0xff;
    s[o++] = (count >>> 16) & 0xff;
    s[o++] = count >>> 24;
    return halfSipHash24(this.k[2 * c]!, this.k[2 * c + 1]!, s, 0, o);
  }

  /** secure_tcp_syn_cookie(): the ISN for a SYN with sequence `sseq` and MSS index `data`. */
  make(
    src: Uint8Array,
    dst: Uint8Array,
    sport: number,
    dport: number,
    sseq: number,
    data: number,
    nowMs: number,
  ): number {
    const count = SynCookies.count(nowMs);
    const h0 = this.hash(src, dst, sport, dport, 0, 0);
    const h1 = this.hash(src, dst, sport, dport, count, 1);
    return (h0 + sseq + ((count << COOKIEBITS) >>> 0) + ((h1 + data) & COOKIEMASK)) >>> 0;
  }

  /**
   * check_tcp_syn_cookie(): the data (MSS index) a cookie carries, or -1 when it is older than
   * MAX_SYNCOOKIE_AGE minutes. `sseq` is the peer's ISN (SEG.SEQ - 1 of the ACK), `cookie` our ISN
   * (SEG.ACK - 1). A forged cookie yields a random 24-bit value the caller range-checks.
   */
  check(
    src: Uint8Array,
    dst: Uint8Array,
    sport: number,
    dport: number,
    sseq: number,
    cookie: number,
    nowMs: number,
  ): number {
    const count = SynCookies.count(nowMs);
    const c = (cookie - this.hash(src, dst, sport, dport, 0, 0) - sseq) >>> 0;
    const diff = (count - (c >>> COOKIEBITS)) & (0xffffffff >>> COOKIEBITS);
    if (diff >= MAX_SYNCOOKIE_AGE) return -1;
    return (c - this.hash(src, dst, sport, dport, (count - diff) >>> 0, 1)) & COOKIEMASK;
  }
}
