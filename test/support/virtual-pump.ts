// Drives a single-threaded system (inline host kloops, drivers, stacks) on a VirtualClock: runs
// the event loop while anything moves, and only when a whole turn went by with no progress jumps
// virtual time to the next timer deadline — so processing never looks like delay, and minutes of
// RTO backoff cost no wall time. The discrete-event loop of a network simulator, on Node's tasks.
import type { VirtualClock } from '../../src/stack/index.ts';

export interface PumpLimits {
  /** Virtual milliseconds after which the run counts as stalled. */
  limitMs: number;
  /** Event-loop turns after which the run counts as stalled (bounds a livelock that never idles). */
  maxSteps: number;
}

export interface PumpResult {
  /** Virtual milliseconds elapsed. */
  virtualMs: number;
  /** Event-loop turns taken. */
  steps: number;
  /** Times the system went idle and time jumped to the next timer. */
  jumps: number;
}

export class StallError extends Error {
  readonly code = 'STALL';
  constructor(
    message: string,
    readonly result: PumpResult,
  ) {
    super(message);
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Runs until cond() holds. `progress()` returns a number that changes whenever the system did
 * work (packet and ring counters summed): one unchanged turn means idle. Throws StallError when
 * idle with no timer armed, or past either limit.
 */
export async function pumpUntil(
  clock: VirtualClock,
  progress: () => number,
  cond: () => boolean,
  limits: PumpLimits,
): Promise<PumpResult> {
  const start = clock.now();
  const r: PumpResult = { virtualMs: 0, steps: 0, jumps: 0 };
  let last = NaN;
  for (;;) {
    // Two turns: a poll scheduled with setImmediate by the first runs in the second.
    await tick();
    await tick();
    r.steps++;
    r.virtualMs = clock.now() - start;
    if (cond()) return r;
    if (r.steps > limits.maxSteps) throw new StallError(`not done after ${limits.maxSteps} turns`, r);
    const p = progress();
    if (p !== last) {
      last = p;
      continue;
    }
    const d = clock.timers.nextDeadline();
    if (d === Infinity) throw new StallError(`idle at ${r.virtualMs} virtual ms with no timer armed`, r);
    if (d - start > limits.limitMs) throw new StallError(`not done after ${limits.limitMs} virtual ms`, r);
    r.jumps++;
    clock.advance(Math.max(0, d - clock.now()));
  }
}
