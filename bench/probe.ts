// Probes the measuring scripts share (scripts/walk.ts, bench/rt-budget.ts, bench/wake-latency.ts):
// a synchronous inspector call, and the kick and interrupt counters of unikernels' devices.
import { Session } from 'node:inspector';
import type { Unikernel } from '../src/unikernel/index.ts';

/** An inspector session of this thread; its `post` answers synchronously, so it is returned. */
export function inspectorSync(): <T>(method: string, params?: object) => T {
  const session = new Session();
  session.connect();
  return <T>(method: string, params?: object): T => {
    let out: T | undefined;
    let err: Error | null = null;
    session.post(method, params, (e, r) => {
      err = e;
      out = r as T;
    });
    if (err !== null) throw err;
    return out as T;
  };
}

/** Kicks the guests wrote and interrupts their devices delivered, summed (internals read defensively). */
export function kicksAndIrqs(uks: readonly Unikernel[]): { kicks: number; irqs: number } {
  let kicks = 0;
  let irqs = 0;
  for (const u of uks) {
    for (const f of u.machine.functions) {
      const d = f as { counters?: { kicks: number }; msix?: { stats: { delivered: number } } };
      if (d.counters !== undefined && d.msix !== undefined) {
        kicks += d.counters.kicks;
        irqs += d.msix.stats.delivered;
      }
    }
  }
  return { kicks, irqs };
}
