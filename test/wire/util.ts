// Test helpers: hex → bytes and a naive RFC 1071 reference independent of src/checksum.
export function hex(s: string): Uint8Array {
  const h = s.replace(/[\s:|]/g, '');
  if (h.length % 2 !== 0) throw new Error(`odd hex: ${s}`);
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Naive one's-complement checksum (already inverted) over the concatenation of the parts. */
export function refCsum(...parts: Uint8Array[]): number {
  let s = 0;
  const all: number[] = [];
  for (const p of parts) all.push(...p);
  for (let i = 0; i < all.length; i += 2) s += (all[i]! << 8) + (all[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return ~s & 0xffff;
}

/** The same bytes embedded at `at` in a bigger buffer whose other bytes are `fill`. */
export function embed(b: Uint8Array, at: number, tail: number, fill: number): Uint8Array {
  const out = new Uint8Array(at + b.length + tail).fill(fill);
  out.set(b, at);
  return out;
}
