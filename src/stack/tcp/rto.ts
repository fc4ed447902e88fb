// RFC 6298 retransmission timer computation with Karn's algorithm and exponential backoff, the
// role of tcp_rtt_estimator()/tcp_set_rto() in net/ipv4/tcp_input.c (which keep the same
// SRTT/RTTVAR recurrences in scaled fixed point; here they are plain milliseconds).
import { seqGeq } from './seq.ts';

export interface RtoOptions {
  /** Clock granularity G in ms (RFC 6298 §2). Default 1. */
  granularity?: number;
  /** Lower bound on RTO (RFC 6298 (2.4): 1 s; Linux TCP_RTO_MIN is 200 ms). Default 1000. */
  minRto?: number;
  /** Upper bound on RTO (RFC 6298 (2.5): at least 60 s; Linux TCP_RTO_MAX is 120 s). Default 60000. */
  maxRto?: number;
  /** RTO before any sample (RFC 6298 (2.1)). Default 1000. */
  initialRto?: number;
}

/** RFC 6298 estimator state (rto.ts). */
export interface RtoState {
  srtt: number;
  rttvar: number;
  /** The RTO before backoff and clamping. */
  baseRto: number;
  backoffs: number;
  samples: number;
}

const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;

export class RtoEstimator {
  /** Smoothed RTT, ms; 0 until the first sample. */
  srtt = 0;
  /** RTT variation, ms. */
  rttvar = 0;
  /** The RTO without backoff, ms. */
  private baseRto: number;
  /** Number of consecutive timer backoffs since the last valid sample (RFC 6298 (5.5)). */
  backoffs = 0;
  /** Samples taken. */
  samples = 0;
  readonly granularity: number;
  readonly minRto: number;
  readonly maxRto: number;
  private readonly initialRto: number;

  /** Karn timing of one segment: its end sequence and send time; timing < 0 when idle. */
  private timedEnd = 0;
  private timedAt = -1;

  constructor(opts: RtoOptions = {}) {
    this.granularity = opts.granularity ?? 1;
    this.minRto = opts.minRto ?? 1000;
    this.maxRto = opts.maxRto ?? 60000;
    this.initialRto = opts.initialRto ?? 1000;
    this.baseRto = this.initialRto;
  }

  /**
   * The current RTO: the estimate clamped to [minRto, maxRto] (RFC 6298 (2.4), (2.5)), then
   * doubled per backoff (5.5) up to maxRto. The floor comes first: (5.5) backs off the RTO that
   * was in use, and doubling an estimate below the floor would leave a backed-off timer at the
   * floor for several expiries (tcp_retransmit_timer doubles icsk_rto, already bounded by
   * tcp_set_rto; tcp_probe0_when shifts the same value for the persist timer).
   */
  get rto(): number {
    return Math.min(this.maxRto, Math.max(this.minRto, this.baseRto) * 2 ** this.backoffs);
  }

  /**
   * Feeds one RTT measurement R in ms (RFC 6298 (2.2)/(2.3)); clears backoff.
   * @mirrors tcp_input.c:tcp_rtt_estimator
   */
  sample(r: number): void {
    if (!(r >= 0)) return;
    if (this.samples === 0) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = (1 - BETA) * this.rttvar + BETA * Math.abs(this.srtt - r);
      this.srtt = (1 - ALPHA) * this.srtt + ALPHA * r;
    }
    this.samples++;
    this.baseRto = this.srtt + Math.max(this.granularity, K * this.rttvar);
    this.backoffs = 0;
  }

  /** The retransmission timer expired (RFC 6298 (5.5)): double RTO, and stop timing (Karn). */
  backoff(): void {
    if (this.rto < this.maxRto) this.backoffs++;
    this.timedAt = -1;
  }

  /**
   * Starts timing the segment ending at `endSeq`, sent at `now`, unless one is already timed
   * (one sample per RTT, RFC 6298 §3).
   */
  startTiming(endSeq: number, now: number): void {
    if (this.timedAt >= 0) return;
    this.timedEnd = endSeq;
    this.timedAt = now;
  }

  /** A retransmission happened: the timed segment may now be ambiguous (Karn's algorithm). */
  onRetransmit(): void {
    this.timedAt = -1;
  }

  get timing(): boolean {
    return this.timedAt >= 0;
  }

  /** A cumulative ACK arrived; takes the sample if it covers the timed segment. */
  onAck(ack: number, now: number): void {
    if (this.timedAt >= 0 && seqGeq(ack, this.timedEnd)) {
      this.sample(now - this.timedAt);
      this.timedAt = -1;
    }
  }

  /**
   * RFC 6298 (5.7): the SYN was retransmitted and no sample exists, so the RTO for data starts at
   * 3 s instead of the 1 s initial value.
   */
  afterSynLoss(): void {
    if (this.samples === 0) this.baseRto = Math.max(this.baseRto, 3000);
    this.backoffs = 0;
  }

  /** The estimator's state for a snapshot (no segment is being timed after a restore). */
  exportState(): RtoState {
    const { srtt, rttvar, baseRto, backoffs, samples } = this;
    return { srtt, rttvar, baseRto, backoffs, samples };
  }

  importState(s: RtoState): void {
    this.srtt = s.srtt;
    this.rttvar = s.rttvar;
    this.baseRto = s.baseRto;
    this.backoffs = s.backoffs;
    this.samples = s.samples;
    this.timedAt = -1;
  }

  /** Back to the pre-sample state. */
  reset(): void {
    this.srtt = 0;
    this.rttvar = 0;
    this.samples = 0;
    this.backoffs = 0;
    this.baseRto = this.initialRto;
    this.timedAt = -1;
  }
}
