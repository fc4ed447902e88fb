// The byte-level encodings of the WebAssembly binary format (core spec §5.1–5.2): LEB128
// integers, names and vectors. Values are plain numbers; the kernels need nothing wider than i32.

/** Unsigned LEB128 of a non-negative integer below 2^32. */
export function uleb(out: number[], v: number): void {
  do {
    let byte = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
}

/** Signed LEB128 of a safe integer (i32.const / i64.const immediates). */
export function sleb(out: number[], value: number): void {
  let v = BigInt(value);
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return;
  }
}

/** A UTF-8 name prefixed with its byte length. */
export function name(out: number[], s: string): void {
  const bytes = new TextEncoder().encode(s);
  uleb(out, bytes.length);
  for (const b of bytes) out.push(b);
}

/** A vector: element count, then each element's encoding. */
export function vec<T>(out: number[], items: readonly T[], each: (out: number[], item: T) => void): void {
  uleb(out, items.length);
  for (const it of items) each(out, it);
}

/** Bytes prefixed with their length (section and function bodies). */
export function sized(out: number[], body: readonly number[]): void {
  uleb(out, body.length);
  for (const b of body) out.push(b);
}
