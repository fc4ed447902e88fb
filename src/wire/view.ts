// Base of every zero-copy header view: a window (buf, off, len) that a hot path re-points with
// reset() instead of allocating a view per packet. Field accessors trust the window only after
// check() returned null (the same contract as smoltcp's Packet::new_checked).
import { WireError, type WireErrorCode } from './errors.ts';

export const EMPTY = new Uint8Array(0);

export abstract class View {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;
  /** Where the last failed check() found the fault (index into buf). */
  errorOffset = 0;

  constructor(buf?: Uint8Array, off = 0, len?: number) {
    if (buf !== undefined) this.reset(buf, off, len);
  }

  /** Re-point the view; no validation happens until check(). */
  reset(buf: Uint8Array, off = 0, len: number = buf.length - off): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /** Validate lengths and consistency; null when every accessor is safe to use. */
  abstract check(): WireErrorCode | null;

  /** check(), throwing a WireError instead of returning a code. */
  checked(): this {
    const code = this.check();
    if (code !== null) throw new WireError(code, this.errorOffset);
    return this;
  }

  /** The window itself lies inside buf and holds at least `need` bytes. */
  protected fits(need: number): boolean {
    const { buf, off, len } = this;
    if (!Number.isInteger(off) || !Number.isInteger(len) || off < 0 || len < 0 || off + len > buf.length) {
      this.errorOffset = Math.min(Math.max(off, 0), buf.length);
      return false;
    }
    if (len < need) {
      this.errorOffset = off + len;
      return false;
    }
    return true;
  }

  protected fail(code: WireErrorCode, at: number): WireErrorCode {
    this.errorOffset = at;
    return code;
  }
}

/** Throw BAD_REPR unless buf[off, off+need) is writable. */
export function needRoom(buf: Uint8Array, off: number, need: number): void {
  if (!Number.isInteger(off) || off < 0 || off + need > buf.length)
    throw new WireError('BAD_REPR', off, `need ${need} bytes at ${off}, buffer has ${buf.length}`);
}

/** Throw BAD_REPR unless v is an integer in [0, max]. */
export function inRange(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max)
    throw new WireError('BAD_REPR', 0, `${what} out of range: ${v}`);
}
