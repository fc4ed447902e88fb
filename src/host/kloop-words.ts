// The words a sync-loop thread shares with the threads that own its kloops (kloop-thread.ts runs
// the worker, kloop-worker.ts is the worker), and what a worker receives for each port it serves.

import type { MessagePort } from 'node:worker_threads';
import type { CsbWindow } from './kloop-core.ts';
import type { PortShared } from './port.ts';

/** Control words shared between one worker kloop and its owner (one block per port served). */
export const KC = {
  /** Set by the owner: the worker stops serving this port (then sets STOPPED). */
  STOP: 0,
  STOPPED: 1,
  IRQ_PENDING: 2,
  IRQ_SEQ: 3,
  /** Set by the worker once it serves the port. */
  STARTED: 4,
  /** Passes where the timeout, not a notification, found work: a lost wake-up (tests want 0). */
  RESCUES: 5,
  RUNS: 6,
  /** Idle periods the thread ended by polling its doorbell, and sleeps it took (kloop-idle.ts). */
  POLLED: 7,
  SLEEPS: 8,
  /** Polls cut short because the worker lost its CPU meanwhile (kloop-idle.ts PREEMPT_GAP_US). */
  PREEMPTED: 9,
  /** 1 while the guest thread polls IRQ_PENDING (kloop-irq-poll.ts): the worker skips its notify. */
  GUEST_POLL: 10,
  /** Gaps in a poll that were not preemptions: an interrupt, the host taking the vCPU (run-wait.ts). */
  INTERRUPTED: 11,
} as const;
export const KC_WORDS = 12;

/** Control words of a sync-loop thread as a whole. */
export const TC = {
  /** Incremented by the owner after it posted a port to add or set a port's KC.STOP. */
  MAIL: 0,
  /** Set by the worker when it has no port left and leaves its loop. */
  STOPPED: 1,
} as const;
export const TC_WORDS = 2;

/** netmap's event wait timeout (schedule_timeout of 3000 ms). */
export const KLOOP_WAIT_MS = 3000;

/** One port a sync-loop thread serves: its datapath descriptor, its CSB and its control words. */
export interface KloopMemberData {
  port: PortShared;
  csb: CsbWindow;
  ctrl: SharedArrayBuffer;
}

/** What a sync-loop worker receives at its start (later ports come as messages on `mail`). */
export interface KloopThreadData {
  first: KloopMemberData;
  tctrl: SharedArrayBuffer;
  mail: MessagePort;
  /** Several ports, asleep on the first one's GROUP block; false: one port, on its own words. */
  group: boolean;
  spinUs: number;
  /** The process-wide count of polling threads (word 0) and its limit. */
  pollers: SharedArrayBuffer;
  pollerLimit: number;
}
