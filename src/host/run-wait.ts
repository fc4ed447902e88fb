// Whether a polling thread lost its CPU to another task or only to an interrupt. A poll loop sees
// either as a gap between two clock reads (kloop-idle.ts PREEMPT_GAP_US), and only the first means
// that polling takes a core some other thread wants. On a VM the second is common: a thread
// spinning alone on the 2-vCPU Firecracker guest this was written on saw ~1000 gaps of 20–100 µs a
// second (the guest's tick and the host's work), and a TAP busy poll with a 5 ms window took each
// for a preemption, shut after four and never polled again (0 hits in 3000 pings 2 ms apart;
// 287–316 with this check, which found 704–928 of the gaps to be interrupts and 30–53 real
// preemptions). Linux tells the two apart in the thread's schedstat: its run-queue wait (the time
// it was runnable while another task ran on its CPU, sched_info_arrive) grows with the first only.

import { closeSync, openSync, readSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

/**
 * Whether this thread waited on a run queue since it last asked (true when it cannot tell, so that
 * a caller falls back to taking every gap for a preemption). Asked only after a gap: one pread of
 * a /proc file, a few µs.
 */
export type RunQueueWaited = () => boolean;

/** The answer where the thread's schedstat cannot be read (not Linux, no /proc). */
const UNKNOWN: RunQueueWaited = () => true;

/**
 * The run-queue wait, ns, from the text of /proc/.../schedstat ("<on-cpu ns> <run-queue wait ns>
 * <timeslices>\n") in buf[0, n); −1 if it is not that.
 * @mirrors proc/base.c:proc_pid_schedstat
 */
export function parseRunDelay(buf: Uint8Array, n: number): number {
  let i = 0;
  while (i < n && buf[i]! >= 0x30 && buf[i]! <= 0x39) i++;
  if (i === 0 || i >= n || buf[i] !== 0x20) return -1;
  i++;
  const start = i;
  let v = 0;
  while (i < n && buf[i]! >= 0x30 && buf[i]! <= 0x39) v = v * 10 + (buf[i++]! - 0x30);
  if (i === start || i >= n || buf[i] !== 0x20 || !Number.isSafeInteger(v)) return -1;
  return v;
}

let thread: RunQueueWaited | null = null;

/**
 * This thread's check (made on first use, one per thread: a worker's module state is its own).
 * The descriptor names the thread that opened it, so it is opened here, in the polling thread.
 */
export function threadRunWait(): RunQueueWaited {
  return (thread ??= openRunWait('/proc/thread-self/schedstat'));
}

/** The check over the schedstat file at `path` (a test passes its own), or UNKNOWN. */
export function openRunWait(path: string): RunQueueWaited {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return UNKNOWN;
  }
  const buf = new Uint8Array(128);
  const read = (): number => {
    try {
      return parseRunDelay(buf, readSync(fd, buf, 0, buf.length, 0));
    } catch {
      return -1;
    }
  };
  let last = read();
  if (last < 0) {
    closeSync(fd);
    return UNKNOWN;
  }
  // A worker's descriptor goes with the worker (the main thread's lasts as long as the process).
  if (!isMainThread) process.once('exit', () => closeSync(fd));
  return () => {
    const v = read();
    if (v < 0) return true;
    const waited = v !== last;
    last = v;
    return waited;
  };
}
