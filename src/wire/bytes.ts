// The one module of byte accessors: big-endian (network order) loads and stores, the little-endian
// 16-bit store the virtio-net header needs, a host-order double (ping's send time, only ever
// read back by the host that wrote it) and a network-order double (the stack snapshot). Callers
// have checked bounds: these never allocate.
import type { In4 } from './address.ts';

export function get16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}
export function get32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}
/** The same 32 bits as get32, read as a signed int32 (a small integer to V8, never a heap number). */
export function getS32(b: Uint8Array, o: number): number {
  return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
}
/** An IPv4 address off the wire, as the stack's In4 (the bits of getS32). */
export function getIn4(b: Uint8Array, o: number): In4 {
  return getS32(b, o) as In4;
}
export function get48(b: Uint8Array, o: number): number {
  return get16(b, o) * 0x100000000 + get32(b, o + 2);
}
export function set16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}
export function set32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}
export function set48(b: Uint8Array, o: number, v: number): void {
  set16(b, o, Math.floor(v / 0x100000000));
  set32(b, o + 2, v >>> 0);
}
export function getLe16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}
export function setLe16(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
}

// One scratch pair, so stamping a ping allocates nothing.
const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);
/** Whether this host stores doubles least significant byte first. */
const f64le = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;

export function setF64(b: Uint8Array, o: number, v: number): void {
  f64[0] = v;
  b.set(f64b, o);
}
export function getF64(b: Uint8Array, o: number): number {
  for (let i = 0; i < 8; i++) f64b[i] = b[o + i]!;
  return f64[0]!;
}

/** A double in network order (IEEE 754 binary64, most significant byte first), for portable formats. */
export function setF64Be(b: Uint8Array, o: number, v: number): void {
  f64[0] = v;
  const le = f64le;
  for (let i = 0; i < 8; i++) b[o + i] = f64b[le ? 7 - i : i]!;
}
export function getF64Be(b: Uint8Array, o: number): number {
  const le = f64le;
  for (let i = 0; i < 8; i++) f64b[le ? 7 - i : i] = b[o + i]!;
  return f64[0]!;
}
