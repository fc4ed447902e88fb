// RFC 8985 RACK-TLP: time-based loss detection over the per-segment queue (a segment is lost when
// one sent after it was delivered and a reordering window has passed since), and the tail loss
// probe's timing and bookkeeping. The kernel's net/ipv4/tcp_recovery.c (tcp_rack_advance,
// tcp_rack_detect_loss, tcp_rack_update_reo_wnd) and tcp_output.c (tcp_schedule_loss_probe). The
// connection (tcb.ts) sends the probe and reacts to what these report.
import { TAG_LOST, TAG_RETRANS, TAG_SACKED, type DeliveryListener, type RtxQueue } from './rtx-queue.ts';
import { seqGeq, seqGt, seqLt, seqOf } from './seq.ts';

/** RFC 8985 §7.2 WCDelAckT: the worst-case delayed-ACK timer a lone segment may wait for, ms. */
export const WC_DELACK_MS = 200;
/** Added to 2·SRTT when more than one segment is out (Linux TCP_TIMEOUT_MIN, 2 jiffies), ms. */
export const PTO_SLACK_MS = 2;
/** PTO before any RTT sample (RFC 8985 §7.2), ms. */
export const PTO_NO_RTT_MS = 1000;
/** The smallest non-zero reordering window: one tick of the millisecond clock. */
export const REO_WND_MIN_MS = 1;
/** RFC 8985 §6.2 step 4: recoveries a widened reordering window survives. */
export const REO_WND_PERSIST = 16;

export class Rack implements DeliveryListener {
  /**
   * RACK.xmit_ts / RACK.end_seq: the most recently sent segment known delivered; xmitTs < 0
   * before any. RACK_sent_after() compares transmission order (`xmitOrder`, see RtxQueue), which
   * also orders segments sent within one clock tick, where RFC 8985 breaks the tie by sequence.
   */
  xmitTs = -1;
  xmitOrder = 0;
  endSeq = 0;
  /** RACK.rtt: the RTT of that segment, ms. */
  rtt = 0;
  /** RACK.min_RTT, ms: the smallest RTT seen (from RACK's own samples and the RTO estimator's). */
  minRtt = Infinity;
  /** RACK.fack: the highest end_seq delivered. */
  fack = 0;
  /** RACK.reordering_seen: a never-retransmitted segment was delivered below RACK.fack. */
  reorderingSeen = false;
  /** RACK.reo_wnd_mult and RACK.reo_wnd_persist (RFC 8985 §6.2 step 4, widened by D-SACK). */
  reoWndMult = 1;
  reoWndPersist = 0;
  /** RACK.dsack_round: SND.MAX when the window was last widened; undefined while `dsackRoundSet` is false. */
  private dsackRound = 0;
  private dsackRoundSet = false;
  /** The latest reordering timeout detectLoss() asked for, ms from now (0: none). */
  timeout = 0;
  /** TLP.end_seq while a probe is out (`tlpOut`), and TLP.is_retrans. */
  tlpOut = false;
  tlpEnd = 0;
  tlpRetrans = false;
  /** When the ACK being processed arrived (deliveries are timed against it). */
  private now = 0;

  /** A fresh connection whose first data byte is `seq`. */
  reset(seq: number): void {
    this.xmitTs = -1;
    this.xmitOrder = 0;
    this.endSeq = seqOf(seq);
    this.fack = this.endSeq;
    this.rtt = 0;
    this.minRtt = Infinity;
    this.reorderingSeen = false;
    this.reoWndMult = 1;
    this.reoWndPersist = 0;
    this.dsackRoundSet = false;
    this.tlpOut = false;
  }

  /** Steps 1-3 start: the ACK about to be applied to the queue arrived at `now`. */
  begin(now: number): void {
    this.now = now;
  }

  /** An RTT measurement from the RTO estimator (the handshake's included) also bounds min_RTT. */
  rttSample(r: number): void {
    if (r >= 0 && r < this.minRtt) this.minRtt = r;
  }

  /**
   * RFC 8985 §6.2 steps 2 and 3 for one newly delivered segment.
   * @mirrors tcp_recovery.c:tcp_rack_advance
   */
  delivered(xmitTs: number, xmitOrder: number, endSeq: number, everRetrans: boolean): void {
    const rtt = this.now - xmitTs;
    // Step 3: delivered below the highest delivered without ever being sent again: reordering.
    if (seqGt(endSeq, this.fack)) this.fack = endSeq;
    else if (seqLt(endSeq, this.fack) && !everRetrans) this.reorderingSeen = true;
    // Step 2: an ACK for a retransmitted segment sooner than min_RTT after the retransmission
    // acknowledges the original: it says nothing about when the retransmission was delivered.
    if (everRetrans && rtt < this.minRtt) return;
    if (rtt < this.minRtt) this.minRtt = rtt;
    if (this.xmitTs < 0 || xmitOrder > this.xmitOrder) {
      this.xmitTs = xmitTs;
      this.xmitOrder = xmitOrder;
      this.endSeq = endSeq;
      this.rtt = rtt;
    }
  }

  /**
   * RFC 8985 §6.2 step 4, RACK.reo_wnd: none while no reordering was seen and the sender is in
   * recovery or DupThresh segments are SACKed (`sackedThresh`); else min_RTT/4 times the D-SACK
   * multiplier, at most SRTT, at least one clock tick.
   * @mirrors tcp_recovery.c:tcp_rack_reo_wnd
   */
  reoWnd(inRecovery: boolean, sackedThresh: boolean, srtt: number): number {
    if (!this.reorderingSeen && (inRecovery || sackedThresh)) return 0;
    const base = this.minRtt === Infinity ? srtt : this.minRtt;
    // Never below the clock's tick: deliveries within one tick cannot be told apart by time (a
    // zero window would make every one-place swap a loss on a path faster than the clock).
    return Math.max(REO_WND_MIN_MS, Math.min((this.reoWndMult * base) / 4, srtt));
  }

  /**
   * RFC 8985 §6.2 step 5: marks lost every segment not delivered, sent before RACK's segment, whose
   * reordering window has passed; `timeout` gets the time left for the others (the reorder timer,
   * §6.3). Returns the segments newly marked.
   * @mirrors tcp_recovery.c:tcp_rack_detect_loss
   */
  detectLoss(q: RtxQueue, now: number, reoWnd: number): number {
    this.timeout = 0;
    if (this.xmitTs < 0) return 0;
    let lost = 0;
    const limit = q.retransLimit;
    for (let i = 0; i < q.count; i++) {
      const t = q.tag(i);
      // Delivered, or lost and not sent again yet: nothing to decide.
      if ((t & TAG_SACKED) !== 0 || (t & (TAG_LOST | TAG_RETRANS)) === TAG_LOST) continue;
      if (q.xmitOrder(i) > this.xmitOrder) {
        // First transmissions go out in sequence order: above every retransmission, none later
        // in the queue was sent before this one.
        if (seqGeq(q.start(i), limit)) break;
        continue;
      }
      const left = q.xmitTs(i) + this.rtt + reoWnd - now;
      if (left <= 0) {
        q.markLost(i);
        lost++;
      } else if (left > this.timeout) {
        this.timeout = left;
      }
    }
    return lost;
  }

  /**
   * RFC 8985 §6.2 step 4: a D-SACK arrived (a retransmission was spurious, or the network
   * duplicates): widen the reordering window once per round trip, and keep it widened for
   * REO_WND_PERSIST recoveries.
   * @mirrors tcp_recovery.c:tcp_rack_update_reo_wnd
   */
  onDsack(sndUna: number, sndMax: number): void {
    if (this.dsackRoundSet && seqLt(sndUna, this.dsackRound)) return;
    this.dsackRound = sndMax;
    this.dsackRoundSet = true;
    this.reoWndMult++;
    this.reoWndPersist = REO_WND_PERSIST;
  }

  /** A loss recovery ended: after REO_WND_PERSIST of them the widened window shrinks back. */
  onRecoveryEnd(): void {
    if (this.reoWndPersist > 0 && --this.reoWndPersist === 0) this.reoWndMult = 1;
  }

  /**
   * RFC 8985 §7.2 PTO: 2·SRTT, plus WCDelAckT when a single segment is out (its ACK may be
   * delayed) or Linux's 2 ms otherwise; 1 s without an RTT sample. In whole milliseconds rounded
   * up, as Linux arms it in jiffies: a small integer, which V8 passes and returns without a heap
   * number (a fractional PTO was one per call not inlined, twice per packet).
   * @mirrors tcp_output.c:tcp_schedule_loss_probe
   */
  pto(rtt: { readonly samples: number; readonly srtt: number }, oneSegment: boolean): number {
    if (rtt.samples === 0) return PTO_NO_RTT_MS;
    return Math.ceil(2 * rtt.srtt) + (oneSegment ? WC_DELACK_MS : PTO_SLACK_MS);
  }
}
