// Public API of the checksum folder: RFC 1071 sums, RFC 1624 updates, pseudo-headers, NEEDS_CSUM
// completion, verification, and the shared packet memories the SIMD kernel sums in place.
// A "partial" is a folded 16-bit one's-complement sum (0..0xFFFF, not inverted), like Linux's
// csum_partial() after csum_fold() minus the final inversion; partials compose with csumAdd.
export { ChecksumError, type ChecksumErrorCode } from './errors.ts';
export { csumAdd, csumFinish, csumFold, csumSub, swab16 } from './fold.ts';
export { csumPartial, csumPartialCopy, packetCopy, WASM_MIN_LEN, WIDE_MIN_LEN } from './partial.ts';
export { csumReplace16, csumReplace32 } from './incremental.ts';
export { pseudoV4, pseudoV6 } from './pseudo.ts';
export { completePartial, CSUM_MANGLED_0, udpCheckValue } from './complete.ts';
export { csumValid, ipv4HeaderValid } from './verify.ts';
export { crc32 } from './crc32.ts';
export {
  copierFor,
  createLocalPacketMemory,
  createPacketMemory,
  csumCopierFor,
  registerPacketMemory,
  unregisterPacketMemory,
  type CopyKernel,
  type CsumCopyKernel,
  type LocalPacketMemory,
  type PacketMemory,
  type WasmMemory,
} from './packet-memory.ts';
