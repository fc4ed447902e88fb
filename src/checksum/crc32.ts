// CRC-32 as IEEE 802.3 and zlib define it (reflected polynomial 0xEDB88320, initial value and
// final XOR 0xFFFFFFFF), table-driven, for the stack snapshot's integrity word. node:zlib has
// crc32 only from Node 20.15, and a named import that a runtime lacks fails the whole module.

const TABLE = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c >>> 0;
}

/** CRC-32 of bytes (what zlib's crc32(bytes) returns), or its continuation from a previous `crc`. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
