// The /bytes/N body: byte i is `i mod 251` (251 is prime, so a dropped, duplicated or reordered
// block of any power-of-two size shows up as a wrong byte). One read-only table serves every
// response: a chunk starting at body offset o is a view at `o mod 251`, never a fresh buffer.

export const PATTERN_MOD = 251;
/** Largest chunk handed to write() at once. */
export const PATTERN_CHUNK = PATTERN_MOD * 256;

const table = Buffer.alloc(PATTERN_CHUNK + PATTERN_MOD);
for (let i = 0; i < table.length; i++) table[i] = i % PATTERN_MOD;

/** The bytes [offset, offset + len) of the pattern, len ≤ PATTERN_CHUNK; a view, do not modify. */
export function patternChunk(offset: number, len: number): Buffer {
  const s = offset % PATTERN_MOD;
  return table.subarray(s, s + Math.min(len, PATTERN_CHUNK));
}

/** Fills `out` with the pattern starting at body offset `offset` (tests and clients). */
export function fillPattern(out: Uint8Array, offset = 0): Uint8Array {
  for (let o = 0; o < out.length; o += PATTERN_CHUNK) {
    out.set(patternChunk(offset + o, out.length - o), o);
  }
  return out;
}
