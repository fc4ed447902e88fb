// RFC 7323 helpers: the TSval clock, PAWS, the TS.Recent update rule and timestamp RTT samples
// (kernel: tcp_paws_check(), tcp_store_ts_recent(), tcp_ack_update_rtt()).
import { seqGeq, seqLeq, seqLt } from './seq.ts';

/** RFC 7323 §5.5: TS.Recent older than 24 days is invalid for PAWS. */
export const PAWS_IDLE_LIMIT_MS = 24 * 24 * 3600 * 1000;

/** RFC 7323 §2.3: the largest shift count. */
export const MAX_WSCALE = 14;

/**
 * TSval for `nowMs` on a 1 ms clock with a per-connection random offset (RFC 7323 §7.1), in the
 * stack's signed form (seq.ts).
 */
export function tsValue(nowMs: number, offset: number): number {
  return (Math.floor(nowMs) + offset) | 0;
}

/**
 * The per-connection TSval offset, derived from the ISS so that a connection recreated from a SYN
 * cookie uses the offset its SYN-ACK's TSval was made with.
 */
export function tsOffsetFor(iss: number): number {
  // Math.imul: exact modulo 2^32, so both forms of one ISS give one offset (a double product of
  // two 32-bit numbers is not exact, and differs between them).
  return Math.imul(iss, 0x9e3779b1);
}

/** The smallest shift so that a `bufferSize` window fits in 16 bits, at most 14 (RFC 7323 §2.3). */
export function windowScaleFor(bufferSize: number): number {
  let shift = 0;
  while (shift < MAX_WSCALE && bufferSize > 0xffff * 2 ** shift) shift++;
  return shift;
}

/** Per-connection timestamp state. */
export class TimestampState {
  /** TS.Recent: the peer's TSval to echo. */
  recent = 0;
  /** When TS.Recent was last updated (ms), -1 before any. */
  recentAge = -1;

  /**
   * RFC 7323 §5.3 R1: true when the segment must be dropped as an old duplicate — TSval older
   * than TS.Recent while TS.Recent is still valid. RST segments are exempt (the caller skips them).
   * @mirrors net/tcp.h:tcp_paws_check
   */
  pawsReject(tsVal: number, now: number): boolean {
    if (this.recentAge < 0) return false;
    if (now - this.recentAge > PAWS_IDLE_LIMIT_MS) return false;
    return seqLt(tsVal, this.recent);
  }

  /**
   * RFC 7323 §4.3 (2): if SEG.TSval >= TS.Recent and SEG.SEQ <= Last.ACK.sent, TS.Recent = TSval
   * (the kernel's tcp_store_ts_recent() under !after(seq, rcv_wup)).
   * @mirrors tcp_input.c:tcp_store_ts_recent
   */
  update(tsVal: number, segSeq: number, lastAckSent: number, now: number): void {
    if (!seqLeq(segSeq, lastAckSent)) return;
    if (this.recentAge < 0 || seqGeq(tsVal, this.recent) || now - this.recentAge > PAWS_IDLE_LIMIT_MS) {
      this.recent = tsVal;
      this.recentAge = now;
    }
  }
}

/**
 * RFC 7323 §4.1 RTTM: a sample from TSecr of an ACK of new data, or -1 when TSecr is 0/absent or in the future.
 * @mirrors tcp_input.c:tcp_ack_update_rtt
 */
export function tsRttSample(tsEcr: number, nowTs: number): number {
  if (tsEcr === 0) return -1;
  const d = (nowTs - tsEcr) | 0;
  return d >= 0 ? d : -1;
}
