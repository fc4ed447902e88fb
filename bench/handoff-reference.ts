// The cost of handing work from one thread to another on this machine, in C (bench/c/futex-pingpong.c,
// built here with gcc): the reference for the e2e rows whose path crosses threads (a sync loop in a
// worker, one kloop thread, a thread each), where a ping or a 1-byte transaction is a chain of such
// hand-offs (a kick, a VALE wake-up, an interrupt), each a futex wake-up when the other side sleeps
// (Atomics.wait / Atomics.notify underneath). Two rows: a round trip of two hand-offs whose waiter
// sleeps in FUTEX_WAIT, and the same with both threads spinning on the word (no wake-up at all).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchRow } from './harness.ts';

const ROUNDS = 20_000;

/** The two rows, or one saying why there are none (no gcc). */
export function handoffRows(quick: boolean): BenchRow[] {
  const dir = mkdtempSync(join(tmpdir(), 'ptnet-handoff-'));
  const exe = join(dir, 'futex-pingpong');
  try {
    try {
      const src = new URL('./c/futex-pingpong.c', import.meta.url).pathname;
      execFileSync('gcc', ['-O2', '-pthread', '-o', exe, src], { stdio: 'pipe' });
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'gcc not found' : 'gcc failed';
      return [{ name: 'cross-thread hand-off, C futex', value: 0, unit: 'µs', note: `skipped: ${why}` }];
    }
    return measure(exe, String(quick ? ROUNDS / 10 : ROUNDS));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The two rows, from the built program. */
function measure(exe: string, rounds: string): BenchRow[] {
  const run = (how: 'block' | 'spin'): number =>
    Number(execFileSync(exe, [how, rounds], { encoding: 'utf8', timeout: 60_000 }).trim());
  return [
    {
      name: 'cross-thread hand-off round trip, C futex, waiter sleeping',
      value: run('block'),
      unit: 'µs',
      note: 'reference: two threads pass a token through FUTEX_WAIT/FUTEX_WAKE (bench/c/futex-pingpong.c); the wake-ups the thread-crossing rows pay',
    },
    {
      name: 'cross-thread hand-off round trip, C, both spinning',
      value: run('spin'),
      unit: 'µs',
      note: 'reference: the same token passed by polling the word, no sleep (a core each)',
    },
  ];
}
