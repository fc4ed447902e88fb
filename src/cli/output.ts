// An output file that appears whole or not at all: the command writes a temporary file in the
// same directory (so the final rename stays on one filesystem and is atomic) and renames it over
// the destination only once everything is written. A failure removes the temporary file and
// leaves whatever was at the destination untouched: never a 0-byte or half-written OUT.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, renameSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export class AtomicOutput {
  /** The temporary file's descriptor, for the writers. */
  readonly fd: number;
  readonly tmpPath: string;
  private open = true;

  constructor(readonly path: string) {
    this.tmpPath = join(
      dirname(path),
      `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
    );
    // 'wx': never follow or reuse a file someone else put at the temporary name.
    this.fd = openSync(this.tmpPath, 'wx', 0o666);
  }

  /** Closes the temporary file and renames it to `path`. */
  commit(): void {
    this.open = false;
    try {
      closeSync(this.fd);
      renameSync(this.tmpPath, this.path);
    } catch (e) {
      this.removeTmp();
      throw e;
    }
  }

  /** Closes and removes the temporary file (a no-op after commit). */
  abort(): void {
    if (!this.open) return;
    this.open = false;
    try {
      closeSync(this.fd);
    } catch {
      // already closed or never usable: removing the file is what matters
    }
    this.removeTmp();
  }

  private removeTmp(): void {
    try {
      unlinkSync(this.tmpPath);
    } catch {
      // gone already
    }
  }
}
