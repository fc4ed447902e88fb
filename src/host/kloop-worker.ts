// The kloop worker thread: rebuilds the port's datapath from shared memory and serves its rings
// until told to stop (netmap_sync_kloop's main loop, event mode). Idle, it polls its doorbell for
// an adaptive window and then sleeps (kloop-idle.ts); a TAP port's descriptor is watched here too.

import { workerData } from 'node:worker_threads';
import { KloopCore } from './kloop-core.ts';
import { KloopIdle, PollWindow } from './kloop-idle.ts';
import { KC, KLOOP_WAIT_MS, type KloopWorkerData } from './kloop.ts';
import { openDatapath } from './open-port.ts';
import { PC } from './port-layout.ts';

const data = workerData as KloopWorkerData;
const ctrl = new Int32Array(data.ctrl);
const dp = openDatapath(data.port);
const st = dp.state;
const PENDING = dp.ctl + PC.PENDING;
const rings = dp.numTx + dp.numRx;
// Whether the work just done interrupted the guest: its answer (a reply, an ACK, slots given back)
// tends to come soon, so idle periods after an interrupt get their own poll window.
let interrupted = false;
const core = new KloopCore(dp, data.csb, (ring) => {
  interrupted = true;
  Atomics.or(ctrl, KC.IRQ_PENDING, 1 << ring);
  Atomics.add(ctrl, KC.IRQ_SEQ, 1);
  // The guest thread polling IRQ_PENDING sees it; it looks once more after clearing the flag.
  if (Atomics.load(ctrl, KC.GUEST_POLL) === 0) Atomics.notify(ctrl, KC.IRQ_SEQ);
});
const stopped = (): boolean => Atomics.load(ctrl, KC.STOP) !== 0;
const idle = new KloopIdle(
  { st, pending: PENDING, seq: dp.ctl + PC.SEQ, sleeping: dp.ctl + PC.SLEEPING },
  { ta: new Int32Array(data.pollers), index: 0, limit: data.pollerLimit },
  stopped,
  () => performance.now() * 1000,
  dp.idleFd(),
);

function runBits(bits: number): void {
  for (let b = bits; b !== 0; b &= b - 1) core.run(31 - Math.clz32(b & -b));
  Atomics.store(ctrl, KC.RUNS, core.runs);
  Atomics.store(ctrl, KC.POLLED, idle.polled);
  Atomics.store(ctrl, KC.SLEEPS, idle.sleeps);
  Atomics.store(ctrl, KC.PREEMPTED, idle.preemptions);
}

/** Shortest impairment hold among the RX rings, or −1. */
function nextHold(): number {
  let best = -1;
  for (let r = dp.numTx; r < rings; r++) {
    const h = dp.holdRemaining(r);
    if (h >= 0 && (best < 0 || h < best)) best = h;
  }
  return best;
}

Atomics.store(ctrl, KC.STARTED, 1);
Atomics.notify(ctrl, KC.STARTED);
const all = rings >= 32 ? -1 : (1 << rings) - 1;
const afterIrq = new PollWindow(data.spinUs);
const quiet = new PollWindow(data.spinUs);
while (!stopped()) {
  let bits = Atomics.exchange(st, PENDING, 0);
  if (bits !== 0) {
    runBits(bits);
    continue;
  }
  const hold = nextHold();
  const window = interrupted ? afterIrq : quiet;
  interrupted = false;
  bits = idle.wait(hold >= 0 ? hold + 1 : KLOOP_WAIT_MS, window);
  if (bits !== 0) {
    runBits(bits);
  } else if (idle.timedOut) {
    // netmap's periodic pass over every ring. Work found here was missed by a notification,
    // unless it is a due impairment hold.
    const hwBefore = snapshot();
    runBits(all);
    if (hold < 0 && snapshot() !== hwBefore) Atomics.add(ctrl, KC.RESCUES, 1);
  }
}
Atomics.store(ctrl, KC.STOPPED, 1);
Atomics.notify(ctrl, KC.STOPPED);

/** A cheap fingerprint of every kring's hwcur/hwtail, to tell whether a pass did anything. */
function snapshot(): number {
  let h = 0;
  for (const kr of dp.krings) h = (Math.imul(h, 31) + kr.hwcur * 4099 + kr.hwtail) | 0;
  return h;
}
