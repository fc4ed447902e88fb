// Typed errors of the checksum folder. Only API misuse throws (a range outside the buffer, a field
// that does not fit); the sums themselves never fail.

export type ChecksumErrorCode =
  /** [off, off+len) is not inside the buffer, or off/len is not a non-negative integer. */
  | 'CSUM_RANGE'
  /** csum_start + csum_offset + 2 runs past the end of the summed range (virtio NEEDS_CSUM). */
  | 'CSUM_OFFSET'
  /** A size or value argument outside what the function accepts (e.g. packet memory size). */
  | 'CSUM_ARG';

export class ChecksumError extends Error {
  override readonly name = 'ChecksumError';
  constructor(
    readonly code: ChecksumErrorCode,
    message: string,
    /** The byte offset at fault, where one exists. */
    readonly offset?: number,
  ) {
    super(message);
  }
}

/** Throws CSUM_RANGE unless 0 <= off, 0 <= len and off + len <= size (all integers). */
export function checkRange(size: number, off: number, len: number, what: string): void {
  // `>>> 0 === x` rejects negatives, fractions, NaN and values >= 2^32 in one compare each.
  if (off >>> 0 !== off || len >>> 0 !== len || off + len > size) {
    throw new ChecksumError('CSUM_RANGE', `${what}: range [${off}, +${len}) outside ${size} bytes`, off);
  }
}
