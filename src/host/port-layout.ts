// Word layout of a port's control block in its shared state buffer (Int32 words). Krings follow
// the control block (see kring.ts for their words).

import { DROP_REASONS, type DropReason } from './errors.ts';

/** Word offsets of a port's control block (PC_WORDS words, then the krings). */
export const PC = {
  /** Bitmask of rings with an event (guest kick or backend wake), taken by the kloop. */
  PENDING: 0,
  /** Incremented with every event; the kloop sleeps on it with Atomics.wait / waitAsync. */
  SEQ: 1,
  /** Virtio-net header length in force (0, 10, 12). */
  VNET_HDR_LEN: 2,
  /** Max frame size (VALE mfs): 1514, or the buffer size when a vnet header is on. */
  MFS: 3,
  /** 1 while a kloop serves the port (netmap refuses a second one with EBUSY). */
  KLOOP: 4,
  /** 1 while attached (VALE: the port slot is in use). */
  ACTIVE: 5,
  /**
   * Nonzero while the kloop may be blocked: 1 on SEQ (a worker about to Atomics.wait; an inline
   * kloop's waitAsync watcher, always), 2 in poll(2) on its TAP descriptor (the waker also writes
   * the port's eventfd). Wakers skip the notify (a futex call) while it is 0, e.g. while the worker
   * polls (kloop-idle.ts).
   */
  SLEEPING: 6,
  /**
   * Where wakers ring: 0, this block's own PENDING/SEQ/SLEEPING; n > 0, the doorbell-shaped block
   * at word n − 1 of the same buffer (a GROUP block), which a sync-loop thread serving several
   * ports sleeps on. The ring bits still go to this port's PENDING; the group's PENDING only says
   * "look" (kloop-thread.ts).
   */
  BELL: 7,
  /** First of the drop counters, one per DROP_REASONS entry. */
  DROPS: 8,
  /** Impairment configuration (see impair.ts IMP) starts here. */
  IMP: 24,
  /**
   * A doorbell block (PENDING, SEQ and SLEEPING at the same offsets from here as from 0) for the
   * sync-loop thread whose first port this is; its other ports' BELL point here.
   */
  GROUP: 32,
} as const;
export const PC_WORDS = 48;

/** Numeric index of each drop reason, for the hot path. */
export const DROP = Object.fromEntries(DROP_REASONS.map((r, i) => [r, i])) as Record<DropReason, number>;

/** Impairment configuration words, from PC.IMP (fractions in parts per million). */
export const IMP = {
  ENABLED: 0,
  DROP: 1,
  CORRUPT: 2,
  DUPLICATE: 3,
  REORDER: 4,
  DELAY: 5,
  DELAY_MS: 6,
  SEED: 7,
} as const;
