// A sequential byte source over a file descriptor: one reusable buffer, filled with readSync in
// chunks, compacted and grown only as data actually arrives, so a hostile length field can never
// make us allocate more than about twice the bytes the file really holds.
import { readSync } from 'node:fs';
import { PcapError } from './errors.ts';

const INITIAL_CAPACITY = 64 * 1024;
/** A word to Atomics.wait on: a synchronous 1 ms sleep. */
const sleeper = new Int32Array(new SharedArrayBuffer(4));

export class FdSource {
  /** The buffer; replaced when it grows, so views into it are valid until the next fill(). */
  buf = new Uint8Array(INITIAL_CAPACITY);
  view = new DataView(this.buf.buffer);
  /** Index in `buf` of the next unconsumed byte. */
  start = 0;
  /** Index in `buf` one past the last byte read. */
  end = 0;
  /** File offset of buf[0]. */
  private base = 0;
  private eof = false;

  constructor(readonly fd: number) {}

  /** File offset of the next unconsumed byte. */
  get offset(): number {
    return this.base + this.start;
  }

  /** Bytes read and not yet consumed. */
  get available(): number {
    return this.end - this.start;
  }

  /**
   * Makes at least `n` bytes available from `start` (n must already be bounded by the caller).
   * Returns the number available, which is less than `n` only at end of file.
   */
  fill(n: number): number {
    while (this.end - this.start < n && !this.eof) {
      if (this.end === this.buf.length) this.makeRoom(n);
      let got: number;
      try {
        // position null: read sequentially, so pipes and stdin work as well as files.
        got = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, null);
      } catch (e) {
        // A non-blocking pipe (stdin set O_NONBLOCK by a parent) has no data yet: wait and retry.
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
          Atomics.wait(sleeper, 0, 0, 1);
          continue;
        }
        throw new PcapError('IO', this.base + this.end, (e as Error).message);
      }
      if (got === 0) this.eof = true;
      this.end += got;
    }
    return this.end - this.start;
  }

  /** Consumes `n` available bytes. */
  consume(n: number): void {
    this.start += n;
  }

  private makeRoom(n: number): void {
    const avail = this.end - this.start;
    if (n <= this.buf.length) {
      this.buf.copyWithin(0, this.start, this.end);
    } else {
      // Double at most, never straight to a (possibly hostile) n.
      const grown = new Uint8Array(Math.min(this.buf.length * 2, n));
      grown.set(this.buf.subarray(this.start, this.end));
      this.buf = grown;
      this.view = new DataView(grown.buffer);
    }
    this.base += this.start;
    this.start = 0;
    this.end = avail;
  }
}
