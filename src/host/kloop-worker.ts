// The kloop worker thread: rebuilds the port's datapath from shared memory and serves its rings
// until told to stop (netmap_sync_kloop's main loop, event mode).

import { workerData } from 'node:worker_threads';
import { KloopCore } from './kloop-core.ts';
import { KC, KLOOP_WAIT_MS, type KloopWorkerData } from './kloop.ts';
import { openDatapath } from './open-port.ts';
import { PC } from './port-layout.ts';

const data = workerData as KloopWorkerData;
const ctrl = new Int32Array(data.ctrl);
const dp = openDatapath(data.port);
const st = dp.state;
const PENDING = dp.ctl + PC.PENDING;
const SEQ = dp.ctl + PC.SEQ;
const SLEEPING = dp.ctl + PC.SLEEPING;
const rings = dp.numTx + dp.numRx;
const core = new KloopCore(dp, data.csb, (ring) => {
  Atomics.or(ctrl, KC.IRQ_PENDING, 1 << ring);
  Atomics.add(ctrl, KC.IRQ_SEQ, 1);
  Atomics.notify(ctrl, KC.IRQ_SEQ);
});

function runBits(bits: number): void {
  for (let b = bits; b !== 0; b &= b - 1) core.run(31 - Math.clz32(b & -b));
  Atomics.store(ctrl, KC.RUNS, core.runs);
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
const spinMs = data.spinUs / 1000;
const all = rings >= 32 ? -1 : (1 << rings) - 1;
while (Atomics.load(ctrl, KC.STOP) === 0) {
  let bits = Atomics.exchange(st, PENDING, 0);
  if (bits !== 0) {
    runBits(bits);
    continue;
  }
  // Poll briefly: a handoff costs well under a microsecond, a futex wake tens of them.
  const until = performance.now() + spinMs;
  while (
    (bits = Atomics.load(st, PENDING)) === 0 &&
    performance.now() < until &&
    Atomics.load(ctrl, KC.STOP) === 0
  );
  if (bits !== 0) continue;
  // Announce the sleep, then look once more: a waker either sees SLEEPING and notifies, or its
  // pending bit is seen here (all seq-cst), so no kick falls between the check and the wait.
  const seq = Atomics.load(st, SEQ);
  Atomics.store(st, SLEEPING, 1);
  if (Atomics.load(st, PENDING) !== 0) {
    Atomics.store(st, SLEEPING, 0);
    continue;
  }
  const hold = nextHold();
  const r = Atomics.wait(st, SEQ, seq, hold >= 0 ? hold + 1 : KLOOP_WAIT_MS);
  Atomics.store(st, SLEEPING, 0);
  if (r === 'timed-out' && Atomics.load(ctrl, KC.STOP) === 0) {
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
