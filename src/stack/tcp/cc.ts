// Congestion control behind one interface, selectable per socket, like the kernel's
// struct tcp_congestion_ops (net/ipv4/tcp_cong.c "reno", net/ipv4/tcp_cubic.c "cubic"). Windows are
// in bytes. The sender owns loss detection and the recovery mechanics (RFC 6675 pipe, or RFC 6582
// window inflation without SACK); the algorithm only decides cwnd and ssthresh.

export type CongestionAlgorithm = 'newreno' | 'cubic';

/** Congestion-control state (the fields of cc.ts's algorithms; the ones an algorithm lacks are 0). */
export interface CcState {
  cwnd: number;
  ssthresh: number;
  /** CUBIC W_max, K, W_est; the epoch's age at capture in ms, -1 when none started. */
  wMax: number;
  k: number;
  wEst: number;
  epochAge: number;
  /** NewReno's byte counter in congestion avoidance. */
  bytesAcked: number;
}

/** RFC 6928 initial window: min(10*MSS, max(2*MSS, 14600)) bytes. */
export function initialWindow(mss: number): number {
  return Math.min(10 * mss, Math.max(2 * mss, 14600));
}

export interface CongestionControl {
  readonly name: CongestionAlgorithm;
  /** Congestion window, bytes. */
  cwnd: number;
  /** Slow-start threshold, bytes (Infinity until the first congestion event, RFC 5681 §3.1). */
  ssthresh: number;
  /** Sender MSS (SMSS), bytes. */
  mss: number;
  /** New data cumulatively ACKed outside loss recovery: grow cwnd. `srtt` in ms (0 when unknown). */
  onAck(acked: number, now: number, srtt: number): void;
  /** Loss detected by duplicate ACKs/SACK: set ssthresh and cwnd for fast recovery. */
  onCongestion(now: number, flightSize: number): void;
  /** Full ACK ends fast recovery (RFC 6582 §3.2 step 3 / RFC 6675 §5): cwnd = ssthresh. */
  onRecoveryExit(now: number): void;
  /** The retransmission timer expired (RFC 5681 (4)): ssthresh from flight, cwnd = loss window. */
  onRto(now: number, flightSize: number): void;
  /** Sending restarts after an idle period longer than RTO (RFC 5681 §4.1): cwnd = min(cwnd, IW). */
  onIdleRestart(now: number): void;
  /** A reduction proved spurious: cwnd and ssthresh back to at least their values before it. */
  undo(priorCwnd: number, priorSsthresh: number): void;
  /** The algorithm's state for a snapshot taken at `now`, and back. */
  exportState(now: number): CcState;
  importState(s: CcState, now: number): void;
}

/**
 * Slow start with appropriate byte counting (RFC 3465) and no per-ACK limit, as Linux's
 * tcp_slow_start() counts every segment an ACK covers: with TSO/GRO one ACK covers many, and the
 * RFC 5681 min(N, SMSS) rule would stall growth. Stops at ssthresh; returns the bytes left over
 * for congestion avoidance.
 */
function slowStart(cc: { cwnd: number; ssthresh: number }, acked: number): number {
  const room = cc.ssthresh - cc.cwnd;
  if (acked <= room) {
    cc.cwnd += acked;
    return 0;
  }
  cc.cwnd = cc.ssthresh;
  return acked - room;
}

/** RFC 5681 slow start and congestion avoidance with RFC 6582 NewReno thresholds. */
export class NewReno implements CongestionControl {
  readonly name = 'newreno';
  cwnd: number;
  ssthresh = Infinity;
  /** Bytes acked since the last cwnd increase in congestion avoidance (RFC 5681 §3.1 byte counting). */
  private bytesAcked = 0;

  constructor(public mss: number) {
    this.cwnd = initialWindow(mss);
  }

  onAck(acked: number): void {
    if (this.cwnd < this.ssthresh) {
      acked = slowStart(this, acked);
      if (acked === 0) return;
    }
    // RFC 5681 (3) with appropriate byte counting: one SMSS per cwnd of acknowledged data.
    this.bytesAcked += acked;
    while (this.bytesAcked >= this.cwnd) {
      this.bytesAcked -= this.cwnd;
      this.cwnd += this.mss;
    }
  }

  onCongestion(_now: number, flightSize: number): void {
    // RFC 5681 (4) / RFC 6582 §3.2 step 2.
    this.ssthresh = Math.max(flightSize / 2, 2 * this.mss);
    this.cwnd = this.ssthresh;
    this.bytesAcked = 0;
  }

  onRecoveryExit(): void {
    this.cwnd = this.ssthresh;
  }

  onRto(_now: number, flightSize: number): void {
    this.ssthresh = Math.max(flightSize / 2, 2 * this.mss);
    this.cwnd = this.mss;
    this.bytesAcked = 0;
  }

  onIdleRestart(): void {
    this.cwnd = Math.min(this.cwnd, initialWindow(this.mss));
  }

  /** tcp_reno_undo_cwnd. */
  undo(priorCwnd: number, priorSsthresh: number): void {
    this.cwnd = Math.max(this.cwnd, priorCwnd);
    this.ssthresh = Math.max(this.ssthresh, priorSsthresh);
  }

  exportState(): CcState {
    const { cwnd, ssthresh, bytesAcked } = this;
    return { cwnd, ssthresh, wMax: 0, k: 0, wEst: 0, epochAge: -1, bytesAcked };
  }

  importState(s: CcState): void {
    this.cwnd = s.cwnd;
    this.ssthresh = s.ssthresh;
    this.bytesAcked = s.bytesAcked;
  }
}

/** RFC 9438 constants. */
export const CUBIC_C = 0.4;
export const CUBIC_BETA = 0.7;
/** α_cubic = 3(1-β)/(1+β) (RFC 9438 §4.3). */
export const CUBIC_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);

/** W_cubic(t) = C(t-K)^3 + W_max, segments, t in seconds (RFC 9438 eq. 1). */
export function wCubic(t: number, k: number, wMax: number): number {
  const d = t - k;
  return CUBIC_C * d * d * d + wMax;
}

/** K = cbrt((W_max - cwnd_epoch)/C), seconds (RFC 9438 eq. 2). */
export function cubicK(wMax: number, cwndEpoch: number): number {
  return Math.cbrt((wMax - cwndEpoch) / CUBIC_C);
}

/** RFC 9438 CUBIC, with fast convergence and the Reno-friendly region. */
export class Cubic implements CongestionControl {
  readonly name = 'cubic';
  cwnd: number;
  ssthresh = Infinity;
  /** W_max, segments: the window before the last reduction. */
  wMax = 0;
  /** K for the current epoch, seconds. */
  k = 0;
  /** Start of the current congestion-avoidance epoch (ms), -1 when none started. */
  epochStart = -1;
  /** W_est, segments: the Reno-friendly estimate (RFC 9438 §4.3). */
  wEst = 0;

  constructor(public mss: number) {
    this.cwnd = initialWindow(mss);
  }

  onAck(acked: number, now: number, srtt: number): void {
    if (this.cwnd < this.ssthresh) {
      acked = slowStart(this, acked);
      if (acked === 0) return;
    }
    const mss = this.mss;
    const cwndSeg = this.cwnd / mss;
    if (this.epochStart < 0) {
      // RFC 9438 §4.2: a new epoch starts on the first ACK in congestion avoidance.
      this.epochStart = now;
      if (cwndSeg < this.wMax) {
        this.k = cubicK(this.wMax, cwndSeg);
      } else {
        // After slow start with no prior loss, or already above W_max: the plateau is here.
        this.k = 0;
        this.wMax = cwndSeg;
      }
      this.wEst = cwndSeg;
    }
    const t = (now - this.epochStart) / 1000;
    const rtt = srtt / 1000;
    // RFC 9438 §4.4: target = W_cubic(t + RTT), clamped to [cwnd, 1.5 cwnd].
    let target = wCubic(t + rtt, this.k, this.wMax);
    if (target < cwndSeg) target = cwndSeg;
    else if (target > 1.5 * cwndSeg) target = 1.5 * cwndSeg;
    // RFC 9438 §4.3: W_est grows by α per cwnd of ACKed segments (α = 1 once W_est >= W_max).
    const alpha = this.wEst >= this.wMax ? 1 : CUBIC_ALPHA;
    this.wEst += (alpha * (acked / mss)) / cwndSeg;
    if (wCubic(t, this.k, this.wMax) < this.wEst) {
      // Reno-friendly region: follow W_est.
      if (this.wEst > cwndSeg) this.cwnd = this.wEst * mss;
    } else {
      // Concave/convex region: cwnd += (target - cwnd)/cwnd per SMSS acked.
      this.cwnd += ((target - cwndSeg) / cwndSeg) * acked;
    }
  }

  private reduce(flightSize: number): void {
    const cwndSeg = this.cwnd / this.mss;
    // RFC 9438 §4.7 fast convergence.
    this.wMax = cwndSeg < this.wMax ? (cwndSeg * (1 + CUBIC_BETA)) / 2 : cwndSeg;
    // RFC 9438 §4.6: ssthresh = flight_size * β, at least 2 segments.
    this.ssthresh = Math.max(Math.max(flightSize, this.mss) * CUBIC_BETA, 2 * this.mss);
    // K is computed when the next congestion-avoidance epoch starts, from the cwnd of that moment.
    this.epochStart = -1;
  }

  onCongestion(_now: number, flightSize: number): void {
    this.reduce(flightSize);
    this.cwnd = this.ssthresh;
  }

  onRecoveryExit(): void {
    this.cwnd = this.ssthresh;
  }

  onRto(_now: number, flightSize: number): void {
    this.reduce(flightSize);
    this.cwnd = this.mss;
  }

  onIdleRestart(): void {
    this.cwnd = Math.min(this.cwnd, initialWindow(this.mss));
    // RFC 9438 §5.8: do not let t jump across the idle period.
    this.epochStart = -1;
  }

  /** As Linux's cubic (tcp_reno_undo_cwnd); the next epoch starts from the restored window. */
  undo(priorCwnd: number, priorSsthresh: number): void {
    this.cwnd = Math.max(this.cwnd, priorCwnd);
    this.ssthresh = Math.max(this.ssthresh, priorSsthresh);
    this.epochStart = -1;
  }

  /** The epoch start travels as an age, so that t keeps counting from it on another clock. */
  exportState(now: number): CcState {
    const { cwnd, ssthresh, wMax, k, wEst } = this;
    const epochAge = this.epochStart < 0 ? -1 : now - this.epochStart;
    return { cwnd, ssthresh, wMax, k, wEst, epochAge, bytesAcked: 0 };
  }

  importState(s: CcState, now: number): void {
    this.cwnd = s.cwnd;
    this.ssthresh = s.ssthresh;
    this.wMax = s.wMax;
    this.k = s.k;
    this.wEst = s.wEst;
    this.epochStart = s.epochAge < 0 ? -1 : now - s.epochAge;
  }
}

/** Makes the named algorithm for a connection with sender MSS `mss`. */
export function createCongestionControl(name: CongestionAlgorithm, mss: number): CongestionControl {
  return name === 'cubic' ? new Cubic(mss) : new NewReno(mss);
}
