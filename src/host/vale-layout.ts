// The shared-memory layout of a VALE switch, written by the control plane (vale-switch.ts, as
// netmap_bdg.c attaches ports) and read by every thread's datapath (vale.ts): a header, one record
// per port (the geometry the host trusts, then its ring offsets), the ports' control blocks and
// the forwarding table, all Int32 words of one SharedArrayBuffer.
import { portWords } from './port.ts';
import { FDB_TOTAL_WORDS } from './vale-fdb.ts';

/** NM_BDG_MAXPORTS, NM_BDG_MAXRINGS, NM_BDG_BATCH, VALE slot limits. */
export const VALE_MAX_PORTS = 254;
export const VALE_MAX_RINGS = 16;
export const VALE_BATCH = 1024;
export const VALE_MAX_SLOTS = 4096;
export const VALE_DEFAULT_SLOTS = 1024;
/**
 * Extra buffers a port gets at attach (netmap's NETMAP_REQ_OPT_EXTRA_BUFS), chained from its
 * ni_bufs_head: the guest driver's packet pool, so that it swaps buffers with the rings instead of
 * copying. Fewer are given when the region runs short.
 */
export const VALE_DEFAULT_EXTRA_BUFS = 2048;

/** Switch header words. */
export const SW_GEN = 0;
export const SW_HDR_WORDS = 16;
/** Port record words: geometry the host trusts, then ring offsets (TX then RX). */
export const R_ACTIVE = 0;
export const R_GEN = 1;
export const R_NTX = 2;
export const R_NRX = 3;
export const R_TXSLOTS = 4;
export const R_RXSLOTS = 5;
export const R_NIFP = 6;
export const R_RINGS = 8;

/** Word layout of a switch's shared state (the ports' records, control blocks and forwarding table). */
export interface Geometry {
  maxPorts: number;
  maxRings: number;
  recWords: number;
  recBase: number;
  stateWords: number;
  stateBase: number;
  fdbBase: number;
  words: number;
}

export function geometry(maxPorts: number, maxRings: number): Geometry {
  const recWords = R_RINGS + 2 * maxRings;
  const recBase = SW_HDR_WORDS;
  const stateWords = portWords(2 * maxRings);
  const stateBase = recBase + maxPorts * recWords;
  const fdbBase = stateBase + maxPorts * stateWords;
  return {
    maxPorts,
    maxRings,
    recWords,
    recBase,
    stateWords,
    stateBase,
    fdbBase,
    words: fdbBase + FDB_TOTAL_WORDS,
  };
}
