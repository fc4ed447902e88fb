// WebAssembly opcodes by name (core spec §5.4 "Instructions", SIMD proposal opcode table), only the
// ones the checksum kernels use. SIMD opcodes follow the 0xFD prefix as a LEB128 u32.

export const ValType = { i32: 0x7f, i64: 0x7e, v128: 0x7b } as const;
export type ValType = (typeof ValType)[keyof typeof ValType];

/** Block type "no result" (the empty type 0x40). */
export const BLOCK_VOID = 0x40;

export const Op = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  select: 0x1b,
  'local.get': 0x20,
  'local.set': 0x21,
  'local.tee': 0x22,
  'i64.load8_u': 0x31,
  'i64.load16_u': 0x33,
  'i64.load32_u': 0x35,
  'i32.const': 0x41,
  'i64.const': 0x42,
  'i32.lt_u': 0x49,
  'i32.gt_u': 0x4b,
  'i32.ge_u': 0x4f,
  'i32.add': 0x6a,
  'i32.sub': 0x6b,
  'i32.and': 0x71,
  'i64.add': 0x7c,
  'i64.and': 0x83,
  'i64.or': 0x84,
  'i64.shl': 0x86,
  'i64.shr_u': 0x88,
  'i32.wrap_i64': 0xa7,
  'i64.extend_i32_u': 0xad,
} as const;
export type Op = keyof typeof Op;

/** Opcodes after the 0xFD prefix. */
export const SimdOp = {
  'v128.load': 0x00,
  'v128.const': 0x0c,
  'i64x2.extract_lane': 0x1d,
  'v128.xor': 0x51,
  'i32x4.add': 0xae,
  'i32x4.dot_i16x8_s': 0xba,
  'i64x2.extend_low_i32x4_s': 0xc7,
  'i64x2.extend_high_i32x4_s': 0xc8,
  'i64x2.add': 0xce,
} as const;
export type SimdOp = keyof typeof SimdOp;

export const SIMD_PREFIX = 0xfd;

/** Bulk-memory opcodes after the 0xFC prefix. */
export const MiscOp = { 'memory.copy': 0x0a } as const;
export type MiscOp = keyof typeof MiscOp;

export const MISC_PREFIX = 0xfc;

/** Module section ids (core spec §5.5.2). */
export const Section = { type: 1, import: 2, function: 3, export: 7, code: 10 } as const;

/** Import/export descriptor kinds. */
export const ExternKind = { func: 0x00, memory: 0x02 } as const;

/** Limits flags: 0x01 has a maximum, 0x02 shared (threads proposal; shared needs a maximum). */
export const LIMITS_SHARED_MAX = 0x03;
