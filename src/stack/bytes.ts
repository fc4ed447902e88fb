// Big-endian field stores and the ping payload's timestamp, shared by the IPv4, IPv6 and fragment
// output paths (writes into frames being built; reads go through src/wire views).

export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

// One scratch pair, so stamping a ping allocates nothing.
const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);

/** Stores a double in host byte order (only ever read back by this host: ping's send time). */
export function writeF64(b: Uint8Array, o: number, v: number): void {
  f64[0] = v;
  b.set(f64b, o);
}

export function readF64(b: Uint8Array, o: number): number {
  for (let i = 0; i < 8; i++) f64b[i] = b[o + i]!;
  return f64[0]!;
}
