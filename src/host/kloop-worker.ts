// A sync-loop worker thread: rebuilds each port's datapath from shared memory and serves their rings
// until it has none left (netmap_sync_kloop's main loop, event mode). Idle, it polls its doorbell
// for an adaptive window and then sleeps (kloop-idle.ts); a TAP port's descriptor is watched here
// too. A thread of one port sleeps on that port's own doorbell words; a KloopThread serving
// several sleeps on the GROUP block of its first port, which the others' PC.BELL point to.

import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { KloopCore } from './kloop-core.ts';
import { type Doorbell, KloopIdle, PollWindow } from './kloop-idle.ts';
import { KC, KLOOP_WAIT_MS, TC, type KloopMemberData, type KloopThreadData } from './kloop-words.ts';
import { openDatapath } from './open-port.ts';
import type { PortDatapath } from './port.ts';
import { PC } from './port-layout.ts';

const data = workerData as KloopThreadData;
const tctrl = new Int32Array(data.tctrl);

/** One port this thread serves. */
class Member {
  readonly dp: PortDatapath;
  readonly ctrl: Int32Array;
  readonly core: KloopCore;
  readonly pending: number;
  readonly all: number;

  constructor(d: KloopMemberData) {
    this.dp = openDatapath(d.port);
    this.ctrl = new Int32Array(d.ctrl);
    const ctrl = this.ctrl;
    this.core = new KloopCore(this.dp, d.csb, (ring) => {
      interrupted = true;
      Atomics.or(ctrl, KC.IRQ_PENDING, 1 << ring);
      Atomics.add(ctrl, KC.IRQ_SEQ, 1);
      // The guest thread polling IRQ_PENDING sees it; it looks once more after clearing the flag.
      if (Atomics.load(ctrl, KC.GUEST_POLL) === 0) Atomics.notify(ctrl, KC.IRQ_SEQ);
    });
    this.pending = this.dp.ctl + PC.PENDING;
    const rings = this.dp.numTx + this.dp.numRx;
    this.all = rings >= 32 ? -1 : (1 << rings) - 1;
  }

  runBits(bits: number): void {
    for (let b = bits; b !== 0; b &= b - 1) this.core.run(31 - Math.clz32(b & -b));
    const c = this.ctrl;
    Atomics.store(c, KC.RUNS, this.core.runs);
    Atomics.store(c, KC.POLLED, idle.polled);
    Atomics.store(c, KC.SLEEPS, idle.sleeps);
    Atomics.store(c, KC.PREEMPTED, idle.preemptions);
    Atomics.store(c, KC.INTERRUPTED, idle.interrupted);
  }

  /** A cheap fingerprint of every kring's hwcur/hwtail, to tell whether a pass did anything. */
  snapshot(): number {
    let h = 0;
    for (const kr of this.dp.krings) h = (Math.imul(h, 31) + kr.hwcur * 4099 + kr.hwtail) | 0;
    return h;
  }
}

// Whether the work just done interrupted a guest: its answer (a reply, an ACK, slots given back)
// tends to come soon, so idle periods after an interrupt get their own poll window.
let interrupted = false;
// Mail posted while this thread booted is taken on the first pass (the word starts at 0).
let mailSeen = 0;
const members: Member[] = [new Member(data.first)];
// A group sleeps on its first port's GROUP block; a lone port on its own words.
const group = data.group;
const bellOf = (m: Member): number => m.dp.ctl + (group ? PC.GROUP : 0);
const bell: Doorbell = { st: members[0]!.dp.state, pending: 0, seq: 0, sleeping: 0 };
const aimBell = (): void => {
  const b = bellOf(members[0]!);
  bell.pending = b + PC.PENDING;
  bell.seq = b + PC.SEQ;
  bell.sleeping = b + PC.SLEEPING;
};
aimBell();
const idle = new KloopIdle(
  bell,
  { ta: new Int32Array(data.pollers), index: 0, limit: data.pollerLimit },
  () => Atomics.load(tctrl, TC.MAIL) !== mailSeen,
  () => performance.now() * 1000,
  group ? null : members[0]!.dp.idleFd(),
);
started(members[0]!);

function started(m: Member): void {
  Atomics.store(m.ctrl, KC.STARTED, 1);
  Atomics.notify(m.ctrl, KC.STARTED);
}

/**
 * Ports posted by the owner join; ports whose KC.STOP is set leave (the owner waits for their
 * KC.STOPPED). When the first port leaves, the next one's GROUP block becomes the bell and every
 * port left is pointed at it before the leaver is told it may go: a waker that read the old BELL
 * set its ring bits first, and the pass after this one looks at every port.
 */
function takeMail(): void {
  for (let m = receiveMessageOnPort(data.mail); m !== undefined; m = receiveMessageOnPort(data.mail)) {
    const nm = new Member(m.message as KloopMemberData);
    members.push(nm);
    started(nm);
  }
  for (let i = members.length - 1; i >= 0; i--) {
    const m = members[i]!;
    if (Atomics.load(m.ctrl, KC.STOP) === 0) continue;
    members.splice(i, 1);
    if (i === 0 && members.length !== 0) {
      const st = bell.st;
      const b = bellOf(members[0]!);
      Atomics.store(st, b + PC.SLEEPING, 0);
      for (const o of members) Atomics.store(st, o.dp.ctl + PC.BELL, b + 1);
      aimBell();
    }
    Atomics.store(m.ctrl, KC.STOPPED, 1);
    Atomics.notify(m.ctrl, KC.STOPPED);
  }
}

/** Shortest impairment hold among the RX rings of every port, or −1. */
function nextHold(): number {
  let best = -1;
  for (const m of members) {
    const dp = m.dp;
    for (let r = dp.numTx; r < dp.numTx + dp.numRx; r++) {
      const h = dp.holdRemaining(r);
      if (h >= 0 && (best < 0 || h < best)) best = h;
    }
  }
  return best;
}

/** netmap's periodic pass over every ring. Work found here was missed by a notification, unless it is a due impairment hold. */
function timeoutPass(hold: number): void {
  for (const m of members) {
    const before = m.snapshot();
    m.runBits(m.all);
    if (hold < 0 && m.snapshot() !== before) Atomics.add(m.ctrl, KC.RESCUES, 1);
  }
}

const afterIrq = new PollWindow(data.spinUs);
const quiet = new PollWindow(data.spinUs);
for (;;) {
  const mail = Atomics.load(tctrl, TC.MAIL);
  if (mail !== mailSeen) {
    mailSeen = mail;
    takeMail();
    if (members.length === 0) break;
  }
  // A group's "look" mark is taken before the ports are: a doorbell rung from here on marks it
  // again, and one rung before has its bits in a port's PENDING, found below.
  if (group) Atomics.store(bell.st, bell.pending, 0);
  let busy = false;
  for (const m of members) {
    const bits = Atomics.exchange(m.dp.state, m.pending, 0);
    if (bits !== 0) {
      m.runBits(bits);
      busy = true;
    }
  }
  if (busy) continue;
  const hold = nextHold();
  const window = interrupted ? afterIrq : quiet;
  interrupted = false;
  const bits = idle.wait(hold >= 0 ? hold + 1 : KLOOP_WAIT_MS, window);
  // A lone port's bell is its own PENDING: these are its ring bits. A group's only says "look".
  if (bits !== 0) {
    if (!group) members[0]!.runBits(bits);
  } else if (idle.timedOut) {
    timeoutPass(hold);
  }
}
Atomics.store(tctrl, TC.STOPPED, 1);
Atomics.notify(tctrl, TC.STOPPED);
