// Buffered sequential writes to a file descriptor: headers and small packets are gathered in one
// reusable buffer and written with writeSync when it fills or on flush().
import { writeSync } from 'node:fs';
import { PcapError } from './errors.ts';

// Room for the largest EPB tail: 3 pad bytes + a 64 KiB comment option + end-of-options + trailer.
const CAPACITY = 128 * 1024;

export class FdSink {
  readonly buf = new Uint8Array(CAPACITY);
  readonly view = new DataView(this.buf.buffer);
  /** Bytes pending in buf. */
  len = 0;
  /** File bytes written so far, flushed or not. */
  written = 0;

  constructor(readonly fd: number) {}

  /** Makes room for n contiguous bytes (n <= 128 KiB) and returns their index in buf. */
  reserve(n: number): number {
    if (this.len + n > this.buf.length) this.flush();
    const at = this.len;
    this.len += n;
    this.written += n;
    return at;
  }

  /** Appends bytes, writing large ones straight through. */
  append(bytes: Uint8Array): void {
    if (bytes.length > this.buf.length - this.len) {
      this.flush();
      if (bytes.length > this.buf.length) {
        this.writeAll(bytes);
        this.written += bytes.length;
        return;
      }
    }
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    this.written += bytes.length;
  }

  flush(): void {
    if (this.len === 0) return;
    this.writeAll(this.buf.subarray(0, this.len));
    this.len = 0;
  }

  private writeAll(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      try {
        done += writeSync(this.fd, bytes, done, bytes.length - done);
      } catch (e) {
        throw new PcapError('IO', this.written - this.len, (e as Error).message);
      }
    }
  }
}
