// One TCP connection: the RFC 9293 §3.10 event processing (segment arrival, user calls, timeouts)
// with RFC 6298 RTO, RFC 7323 timestamps/window scale, RFC 2018/6675 SACK recovery, RFC 6582
// NewReno without SACK, RFC 5961 challenge ACKs, delayed ACK, Nagle, zero-window probes and
// keepalive. The kernel counterparts are tcp_rcv_state_process(), tcp_ack(), tcp_data_queue(),
// tcp_write_xmit() and the tcp_timer.c handlers. Segment formatting and demultiplexing belong to
// the TcpEnv (tcp.ts); this file never touches packet bytes except to copy payload.
import type { Mbuf } from '../../mbuf/index.ts';
import { EMPTY, IN4_ANY, TcpFlags, set32, type TcpOptions } from '../../wire/index.ts';
import { NetError, type NetErrorCode } from '../errors.ts';
import type { Timer, TimerQueue } from '../timer.ts';
import { createCongestionControl, type CongestionAlgorithm, type CongestionControl } from './cc.ts';
import { connName, tcpLog } from './log.ts';
import { Rack } from './rack.ts';
import { RecvBuffer } from './recv-buffer.ts';
import { RtoEstimator } from './rto.ts';
import { RtxQueue } from './rtx-queue.ts';
import { DUP_THRESH, SackScoreboard } from './sack.ts';
import { SendBuffer } from './send-buffer.ts';
import { seqAdd, seqDiff, seqGeq, seqGt, seqLeq, seqLt, seqMax, seqMin, seqOf, seqU32 } from './seq.ts';
import type { TcpCounters, TcpState } from './state.ts';
import type { TcbConfig, TcbState } from './tcb-state.ts';
import { TimestampState, tsOffsetFor, tsRttSample, tsValue, windowScaleFor } from './timestamps.ts';

const { FIN, SYN, RST, ACK, PSH, ECE, CWR } = TcpFlags;

/** A received segment, filled in place by the TCP layer (one object reused for every segment). */
export class TcpSegmentIn {
  seq = 0;
  ack = 0;
  flags = 0;
  /** The raw 16-bit window field. */
  wnd = 0;
  /**
   * Where the payload is: a flat buffer (dataOff indexes it), or a received frame's chain (dataOff is
   * a packet offset), valid only while the segment is being processed.
   */
  src: Uint8Array | Mbuf = EMPTY;
  dataOff = 0;
  dataLen = 0;
  /** The ECN field of the IP header it came in (RFC 3168: 3 = CE). */
  ecn = 0;
  constructor(readonly opts: TcpOptions) {}
}

/** What a connection needs from the TCP layer. */
export interface TcpEnv {
  readonly timers: TimerQueue;
  readonly counters: TcpCounters;
  /** Largest payload of one TSO super-frame, 0 when the interface cannot segment. */
  readonly tsoMax: number;
  /**
   * Formats and transmits one segment of `tcb`: payload snd[seq, seq+dataLen), with `ecn` in the IP
   * header's ECN field (ECT(0) = 2 for new data of an ECN connection, else 0). False when out of buffers.
   */
  sendSegment(tcb: Tcb, seq: number, flags: number, dataLen: number, ecn?: number): boolean;
  /** The connection reached CLOSED: forget it. */
  detach(tcb: Tcb): void;
  /** A passive connection reached ESTABLISHED: hand it to its listener. */
  established(tcb: Tcb): void;
  /** RFC 5961 §7: one more challenge ACK allowed now? */
  challengeAckAllowed(now: number): boolean;
}

/** See Tcb.info(). */
export interface TcpInfo {
  state: TcpState;
  rto: number;
  srtt: number;
  rttvar: number;
  sndMss: number;
  rcvMss: number;
  sndCwnd: number;
  sndSsthresh: number;
  sndWnd: number;
  rcvWnd: number;
  /** Bytes sent and not yet acknowledged. */
  unacked: number;
  /** Bytes the peer SACKed above SND.UNA. */
  sacked: number;
  /** Consecutive timeouts of the current segment, and retransmitted segments over the connection's life. */
  retransmits: number;
  totalRetrans: number;
  backoff: number;
  congestion: CongestionAlgorithm;
  options: { timestamps: boolean; sack: boolean; wscale: [number, number] | null; ecn: boolean };
}

/** Events a connection reports to its socket. */
export interface TcbUser {
  onConnect(): void;
  /** In-order bytes are readable. */
  onData(): void;
  /** The peer's FIN arrived after all its data. */
  onPeerFin(): void;
  /** Send-buffer space was freed. */
  onWritable(): void;
  /** SND.UNA moved while the user asked to hear of it (watchUna: zero-copy completions). */
  onAcked?(): void;
  /** The connection is over for the user (CLOSED, or TIME-WAIT). err is null for an orderly close. */
  onClose(err: NetError | null): void;
}

export interface TcbOptions {
  sndBuf?: number;
  rcvBuf?: number;
  congestion?: CongestionAlgorithm;
  noDelay?: boolean;
  /** RTO floor, ms (Linux TCP_RTO_MIN 200; RFC 6298 says 1000). Default 200. */
  minRto?: number;
  maxRto?: number;
  /** MSL, ms; TIME-WAIT lasts 2*MSL (Linux TCP_TIMEWAIT_LEN = 60 s in total). Default 30000. */
  msl?: number;
  /** How long a closed (orphaned) connection may wait in FIN-WAIT-2, ms (tcp_fin_timeout, 60 s). */
  finTimeout?: number;
  /** Data retransmissions before ETIMEDOUT (Linux tcp_retries2). Default 15. */
  maxRetries?: number;
  /** SYN retransmissions before ETIMEDOUT (Linux tcp_syn_retries). Default 6. */
  synRetries?: number;
  /** Delayed-ACK timeout, ms (Linux TCP_DELACK_MIN 40). */
  delAck?: number;
  /** Offer RFC 7323 timestamps / window scaling and RFC 2018 SACK (default true). */
  timestamps?: boolean;
  windowScaling?: boolean;
  sack?: boolean;
  /**
   * RFC 3168 ECN, as Linux's net.ipv4.tcp_ecn: 1 requests it on active opens and accepts it, 2
   * (default) only accepts it from a peer that asks, 0 never uses it.
   */
  ecn?: 0 | 1 | 2;
  /**
   * With SACK, RFC 8985 RACK-TLP: time-based loss detection and tail loss probes (default true).
   * Off: RFC 6675 DupThresh loss detection only (Linux net.ipv4.tcp_recovery = 0).
   */
  rack?: boolean;
}

const DEFAULTS = {
  sndBuf: 256 * 1024,
  rcvBuf: 256 * 1024,
  minRto: 200,
  maxRto: 120000,
  msl: 30000,
  finTimeout: 60000,
  maxRetries: 15,
  synRetries: 6,
  delAck: 40,
};

/** The receive buffer a connection made with `opts` gets (what its SYN-ACK window and shift follow). */
export function rcvBufOf(opts: TcbOptions): number {
  return opts.rcvBuf ?? DEFAULTS.rcvBuf;
}

/** `opts` with every default filled in (what a snapshot records a listener's connections get). */
export function tcbConfigOf(opts: TcbOptions): TcbConfig {
  return {
    sndBuf: opts.sndBuf ?? DEFAULTS.sndBuf,
    rcvBuf: opts.rcvBuf ?? DEFAULTS.rcvBuf,
    congestion: opts.congestion ?? 'cubic',
    noDelay: opts.noDelay ?? false,
    minRto: opts.minRto ?? DEFAULTS.minRto,
    maxRto: opts.maxRto ?? DEFAULTS.maxRto,
    msl: opts.msl ?? DEFAULTS.msl,
    finTimeout: opts.finTimeout ?? DEFAULTS.finTimeout,
    maxRetries: opts.maxRetries ?? DEFAULTS.maxRetries,
    synRetries: opts.synRetries ?? DEFAULTS.synRetries,
    delAck: opts.delAck ?? DEFAULTS.delAck,
    timestamps: opts.timestamps ?? true,
    windowScaling: opts.windowScaling ?? true,
    sack: opts.sack ?? true,
    ecn: opts.ecn ?? 2,
    rack: opts.rack ?? true,
  };
}

/** Linux net.ipv4.tcp_syn_linear_timeouts: SYN retransmissions before the timeout doubles. */
const SYN_LINEAR_TIMEOUTS = 4;

/** tcp_orphan_retries()' choice when the sysctl is 0 (its default) and the RTO still grows. */
const ORPHAN_RETRIES = 8;
/** Linux tcp_invalid_ratelimit: spacing of ACKs that answer out-of-window segments, ms. */
const OOW_ACK_INTERVAL = 500;
/**
 * sysctl_tcp_tso_win_divisor (default 3): a super-frame that is at least this fraction of the
 * window goes out at once rather than waiting for the next ACK (tcp_tso_should_defer).
 */
const TSO_WIN_DIVISOR = 3;

/** Linux tcp_min_snd_mss: the floor a (possibly forged) PMTU report may push the MSS down to. */
const MIN_SND_MSS = 48;

/** RFC 3168 §5 ECN field values: ECT(0) (what we send), CE (what a router marks). */
const ECN_ECT0 = 2;
const ECN_CE = 3;

/** RFC 9293 §3.7.1 default send MSS when the peer sends none. */
const DEFAULT_MSS = 536;

export class Tcb {
  state: TcpState = 'CLOSED';
  /** Address family of the connection; IPv4 addresses are In4s, IPv6 ones 16 bytes. */
  family: 4 | 6 = 4;
  laddr = IN4_ANY;
  lport = 0;
  raddr = IN4_ANY;
  rport = 0;
  readonly laddr6 = new Uint8Array(16);
  readonly raddr6 = new Uint8Array(16);
  iss = 0;
  /** snd_sml: the end of the last sub-MSS segment sent (Minshall's Nagle variant). */
  private sndSml = 0;
  irs = 0;
  readonly snd: SendBuffer;
  readonly rcv: RecvBuffer;
  /** SND.WND (scaled), SND.WL1, SND.WL2, and the largest window seen (RFC 5961 MAX.SND.WND). */
  sndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  maxSndWnd = 0;
  /**
   * How far SND.UNA moved since the connection was set up (Linux tp->bytes_acked; the SYN counts on
   * an active open, as there): RFC 5961 §5.2's MAX.SND.WND is bounded by it.
   */
  private bytesAcked = 0;
  sndWscale = 0;
  rcvWscale = 0;
  /** Both sides sent the window-scale option (RFC 7323 §2.2). */
  wsOk = false;
  /** Right edge of the window last advertised (receiver SWS avoidance, RFC 9293 §3.8.6.2.2). */
  rcvAdvEdge = 0;
  /** RFC 2883 D-SACK block [dsackStart, dsackEnd) owed on the next segment, when dsackPending. */
  private dsackPending = false;
  private dsackStart = 0;
  private dsackEnd = 0;
  /** The ACK field of the last segment sent (RFC 7323 Last.ACK.sent), kept by the TCP layer. */
  lastAckSent = 0;
  /** When the last ACK answering an unacceptable segment went out. */
  private lastOowAck = -Infinity;
  /** TSval of the last retransmission starting at SND.UNA, while `unaRtx` (see processAck). */
  private unaRtxTs = 0;
  private unaRtx = false;
  /** Largest segment (options included) the path and the peer allow: min(peer MSS, MTU - 40). */
  sendMss = DEFAULT_MSS;
  /** Our MSS option: interface MTU - 40. */
  rcvMss = DEFAULT_MSS;
  tsOk = false;
  tsOffset = 0;
  readonly ts = new TimestampState();
  sackOk = false;
  readonly scoreboard = new SackScoreboard();
  /** Per-segment state of the bytes in flight (send times, SACKed / lost / retransmitted tags). */
  readonly rtxq: RtxQueue;
  readonly rto: RtoEstimator;
  cc: CongestionControl;
  noDelay: boolean;
  // Loss recovery.
  dupAcks = 0;
  inRecovery = false;
  recoveryPoint = 0;
  /** RFC 6582 `recover`: no new fast recovery until SND.UNA passes it. */
  recover = 0;
  /** The current recovery resends lost retransmissions after an RTO: it ends without touching cwnd. */
  postRtoRecovery = false;
  /** RFC 6675 RescueRxt (inclusive), defined while rescueRxtSet. */
  private rescueRxt = 0;
  private rescueRxtSet = false;
  /**
   * RFC 3168 ECN: the mode (TcbOptions.ecn), whether the handshake agreed on it, whether we echo a
   * CE mark (ECE on every segment until the peer's CWR), whether our next new data segment carries
   * CWR, and SND.MAX at the last ECE-caused reduction (one per window).
   */
  readonly ecnMode: 0 | 1 | 2;
  ecnOk = false;
  ecnEcho = false;
  private cwrPending = false;
  private ecnRecover = 0;
  /** RFC 8985 RACK-TLP state; used when `useRack` and SACK was negotiated. */
  readonly rack = new Rack();
  readonly useRack: boolean;
  /**
   * Undo of a cwnd reduction found spurious (Linux undo_marker / undo_retrans / prior_cwnd): while
   * `undoActive`, the retransmissions of the episode (from SND.UNA = undoMarker) not yet shown
   * needless by a D-SACK, the TSval of its first retransmission (RFC 3522 Eifel, once undoTsSet), and
   * cwnd / ssthresh before the reduction.
   */
  private undoActive = false;
  private undoMarker = 0;
  private undoRetrans = 0;
  private undoTs = 0;
  private undoTsSet = false;
  private priorCwnd = 0;
  private priorSsthresh = 0;
  /** A recovery just ended: look for segments still marked lost on the next detection. */
  private recheckLost = false;
  /** Something was sent or acknowledged: (re)schedule the loss probe when output() ends. */
  private ptoDue = false;
  retries = 0;
  // FIN bookkeeping: ours (queued by shutdown, its sequence once sent) and the peer's.
  finQueued = false;
  finSent = false;
  finSeq = 0;
  /**
   * The peer's FIN has been seen (rcvFinSeen), at rcvFinSeq (possibly ahead of RCV.NXT). A flag of
   * its own: every int32 is a sequence number (seq.ts), so none is free to mean "none".
   */
  rcvFinSeen = false;
  rcvFinSeq = 0;
  rcvFin = false;
  /** ACK owed now (out-of-order data, FIN, window update) / in-order segments not yet ACKed. */
  ackNow = false;
  ackPending = 0;
  /** When the ACK owed for the first unacknowledged segment is due (icsk_ack.timeout). */
  private ackDeadline = 0;
  /** Zero-window probing in progress (the rtx timer is the persist timer). */
  persist = false;
  /** Probes sent since the peer last acknowledged anything (icsk_probes_out). */
  probesOut = 0;
  /** Set by the persist timer: send a window-limited small segment despite SWS avoidance. */
  private forceSend = false;
  // Keepalive (SO_KEEPALIVE with TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT).
  keepAlive = false;
  keepIdle = 7200000;
  keepIntvl = 75000;
  keepCnt = 9;
  keepProbes = 0;
  lastRecv = 0;
  /** The socket bound to this connection; null for an orphan finishing its close. */
  user: TcbUser | null = null;
  /** The socket closed it (Linux SOCK_DEAD): retransmissions are bounded by retryLimit(). */
  private orphaned = false;
  /** The user hears of every advance of SND.UNA (TcbUser.onAcked). */
  watchUna = false;
  /** The listener of a passive connection until it is accepted. */
  parent: unknown = null;
  readonly rtxTimer: Timer;
  /** RFC 8985 timers: the tail loss probe (PTO) and RACK's reordering timeout. */
  readonly tlpTimer: Timer;
  readonly reoTimer: Timer;
  readonly delackTimer: Timer;
  readonly keepTimer: Timer;
  private readonly env: TcpEnv;
  private readonly msl: number;
  /** Linux tcp_fin_timeout: how long an orphan waits in FIN-WAIT-2, ms. */
  readonly finTimeout: number;
  private readonly maxRetries: number;
  private readonly synRetries: number;
  private readonly delAck: number;
  readonly offerTs: boolean;
  readonly offerWs: boolean;
  readonly offerSack: boolean;
  /** The error the connection ended with, reported to the user once. */
  private closeErr: NetError | null = null;
  private userNotified = false;

  constructor(env: TcpEnv, opts: TcbOptions = {}) {
    this.env = env;
    this.snd = new SendBuffer(opts.sndBuf ?? DEFAULTS.sndBuf);
    // One record per segment of the smallest usual size fits the whole buffer (bounded: a full
    // queue coarsens its records, it never loses data).
    this.rtxq = new RtxQueue(Math.min(4096, Math.max(64, Math.ceil(this.snd.capacity / DEFAULT_MSS))));
    this.rcv = new RecvBuffer(opts.rcvBuf ?? DEFAULTS.rcvBuf);
    this.rto = new RtoEstimator({
      minRto: opts.minRto ?? DEFAULTS.minRto,
      maxRto: opts.maxRto ?? DEFAULTS.maxRto,
    });
    this.cc = createCongestionControl(opts.congestion ?? 'cubic', DEFAULT_MSS);
    this.noDelay = opts.noDelay ?? false;
    this.msl = opts.msl ?? DEFAULTS.msl;
    this.finTimeout = opts.finTimeout ?? DEFAULTS.finTimeout;
    this.maxRetries = opts.maxRetries ?? DEFAULTS.maxRetries;
    this.synRetries = opts.synRetries ?? DEFAULTS.synRetries;
    this.delAck = opts.delAck ?? DEFAULTS.delAck;
    this.offerTs = opts.timestamps ?? true;
    this.offerWs = opts.windowScaling ?? true;
    this.offerSack = opts.sack ?? true;
    this.useRack = opts.rack ?? true;
    this.ecnMode = opts.ecn ?? 2;
    this.rcvWscale = this.offerWs ? windowScaleFor(this.rcv.capacity) : 0;
    this.rtxTimer = env.timers.timer((now) => this.onRtxTimer(now));
    this.tlpTimer = env.timers.timer((now) => this.onTlpTimer(now));
    this.reoTimer = env.timers.timer((now) => this.onReoTimer(now));
    this.delackTimer = env.timers.timer((now) => this.onDelackTimer(now));
    this.keepTimer = env.timers.timer((now) => this.onKeepTimer(now));
  }

  private now(): number {
    return this.env.timers.now();
  }

  /** RCV.NXT including a received FIN. */
  get rcvNxt(): number {
    return this.rcvFin ? seqAdd(this.rcv.rcvNxt, 1) : this.rcv.rcvNxt;
  }

  /** TSval for a segment sent now. */
  tsVal(): number {
    return tsValue(this.now(), this.tsOffset);
  }

  /**
   * Largest payload of one data segment: sendMss less the options every data segment carries, and
   * at most half the largest window the peer offered (above 536 bytes; tcp_bound_to_half_wnd): a
   * peer with a tiny window still gets two segments in flight, not one full one and a runt.
   */
  get maxPayload(): number {
    const n = this.sackBlockCount;
    const opts = this.tsOk ? 12 : 0;
    let p = this.sendMss - opts;
    const w = this.maxSndWnd;
    const cutoff = w > 536 ? w >> 1 : w;
    if (cutoff > 0 && p > cutoff) p = Math.max(cutoff, 48 - opts);
    return p - (n > 0 ? 4 + 8 * n : 0);
  }

  /** SACK blocks the next segment carries: a pending D-SACK and the out-of-order ranges. */
  get sackBlockCount(): number {
    if (!this.sackOk) return 0;
    const n = this.rcv.ooo.count + (this.dsackPending ? 1 : 0) + (this.finAlone ? 1 : 0);
    return Math.min(n, this.tsOk ? 3 : 4);
  }

  /** A FIN held beyond a hole that no out-of-order range ends at: it is SACKed in a block of its own. */
  private get finAlone(): boolean {
    if (!this.rcvFinSeen || this.rcvFin) return false;
    const o = this.rcv.ooo;
    for (let i = 0; i < o.count; i++) if (o.end(i) === this.rcvFinSeq) return false;
    return true;
  }

  /**
   * Fills out[] with the next segment's SACK blocks, at most `max`: a pending D-SACK first (RFC
   * 2883 §4: it goes once, on the next segment), then the out-of-order ranges. Returns the count.
   */
  sackBlocks(out: Int32Array, max: number): number {
    let k = 0;
    if (this.dsackPending && max > 0) {
      out[0] = this.dsackStart;
      out[1] = this.dsackEnd;
      this.dsackPending = false;
      k = 1;
    }
    if (k < max && this.finAlone) {
      out[2 * k] = this.rcvFinSeq;
      out[2 * k + 1] = seqAdd(this.rcvFinSeq, 1);
      k++;
    }
    const n = k + this.rcv.sackBlocks(out, max - k, k);
    // A FIN held beyond a hole sits in the out-of-order queue with its data and takes a sequence
    // number, so the block that ends at it covers it too (Linux: the skb's end_seq counts the FIN).
    if (this.rcvFinSeen && !this.rcvFin) {
      for (let i = k; i < n; i++)
        if (out[2 * i + 1] === this.rcvFinSeq) out[2 * i + 1] = seqAdd(this.rcvFinSeq, 1);
    }
    return n;
  }

  /** Duplicate data arrived (tcp_dsack_set): report the part already held in a D-SACK block. */
  private noteDuplicate(seq: number, len: number): void {
    if (!this.sackOk || !this.rcv.duplicate(seq, len)) return;
    this.dsackPending = true;
    this.dsackStart = this.rcv.dupStart;
    this.dsackEnd = this.rcv.dupEnd;
    this.env.counters.dsacksSent++;
  }

  /** The window field to put in a non-SYN segment; records the advertised right edge. */
  windowToAdvertise(): number {
    const nxt = this.rcvNxt;
    let win = this.rcv.window;
    const cur = Math.max(0, seqDiff(this.rcvAdvEdge, nxt));
    // Receiver SWS avoidance: do not move the right edge by less than min(buf/2, MSS), never shrink.
    if (win < cur || win - cur < Math.min(this.rcv.capacity >> 1, this.rcvMss)) win = cur;
    // Round up so that scaling never moves the right edge left (tcp_select_window's ALIGN).
    let field = Math.ceil(win / (1 << this.rcvWscale));
    if (field > 0xffff) field = 0xffff;
    this.rcvAdvEdge = seqAdd(nxt, field << this.rcvWscale);
    return field;
  }

  /**
   * The window field of a SYN or SYN-ACK (never scaled, RFC 7323 §2.2). Once RCV.NXT is known
   * (SYN-RECEIVED) it records the right edge it offers, so the first segments after the handshake
   * are judged against what the peer was told (tcp_make_synack sets rcv_wnd / rcv_wup).
   */
  synWindow(): number {
    const field = Math.min(this.rcv.window, 0xffff);
    if (this.state !== 'SYN-SENT') this.rcvAdvEdge = seqMax(this.rcvAdvEdge, seqAdd(this.rcvNxt, field));
    return field;
  }

  // ---------------------------------------------------------------- user calls

  /** Active open (RFC 9293 §3.10.1): send SYN, enter SYN-SENT. */
  connect(iss: number, mtuMss: number): void {
    this.iss = iss;
    this.sndSml = iss;
    this.rcvMss = mtuMss;
    this.sendMss = Math.min(DEFAULT_MSS, mtuMss);
    this.snd.init(seqAdd(iss, 1));
    this.rtxq.reset(seqAdd(iss, 1));
    this.rack.reset(seqAdd(iss, 1));
    this.ecnRecover = iss;
    this.recover = iss;
    this.tsOffset = tsOffsetFor(iss);
    this.setState('SYN-SENT', 'active open');
    this.env.counters.activeOpens++;
    this.sendSyn();
    this.rtxTimer.arm(this.rto.rto);
  }

  /**
   * Passive open: a SYN arrived at a listener (RFC 9293 §3.10.7.2). Negotiates options from the SYN,
   * sends SYN-ACK, enters SYN-RECEIVED.
   */
  accept(seg: TcpSegmentIn, iss: number, mtuMss: number): void {
    this.iss = iss;
    this.sndSml = iss;
    this.rcvMss = mtuMss;
    this.irs = seg.seq;
    this.rcv.init(seqAdd(seg.seq, 1));
    this.rcvAdvEdge = this.rcv.rcvNxt;
    this.snd.init(seqAdd(iss, 1));
    this.rtxq.reset(seqAdd(iss, 1));
    this.rack.reset(seqAdd(iss, 1));
    this.ecnRecover = iss;
    this.recover = iss;
    this.tsOffset = tsOffsetFor(iss);
    this.negotiate(seg, mtuMss);
    this.sndWnd = seg.wnd;
    this.maxSndWnd = seg.wnd;
    this.setState('SYN-RECEIVED', 'passive open');
    this.lastRecv = this.now();
    this.env.counters.passiveOpens++;
    this.sendSyn();
    this.rtxTimer.arm(this.rto.rto);
  }

  /**
   * Passive open from a SYN cookie (cookie_v4_check -> tcp_get_cookie_sock): the ACK `seg`
   * echoed our cookie ISN `iss`; what the SYN negotiated comes back from the cookie (peer MSS
   * from its table, window scale / SACK from the timestamp bits, -1 / false when absent). The
   * connection starts in SYN-RECEIVED as if its SYN-ACK had just gone out, and the ACK completes
   * the handshake through the ordinary path (tcp_child_process -> tcp_rcv_state_process).
   */
  acceptCookie(
    seg: TcpSegmentIn,
    iss: number,
    mtuMss: number,
    peerMss: number,
    sack: boolean,
    peerWscale: number,
  ): void {
    const now = this.now();
    this.iss = iss;
    this.sndSml = iss;
    this.rcvMss = mtuMss;
    this.irs = seqAdd(seg.seq, -1);
    this.rcv.init(seg.seq);
    this.snd.init(seqAdd(iss, 1));
    this.rtxq.reset(seqAdd(iss, 1));
    this.rack.reset(seqAdd(iss, 1));
    this.ecnRecover = iss;
    this.recover = iss;
    this.tsOffset = tsOffsetFor(iss);
    this.sendMss = Math.max(64, Math.min(peerMss, mtuMss));
    const o = seg.opts;
    this.tsOk = this.offerTs && o.hasTimestamp;
    if (this.tsOk) this.ts.update(o.tsVal, seg.seq, seg.seq, now);
    this.sackOk = this.tsOk && this.offerSack && sack;
    this.wsOk = this.tsOk && this.offerWs && peerWscale >= 0;
    if (this.wsOk) {
      this.sndWscale = Math.min(peerWscale, 14);
    } else {
      this.sndWscale = 0;
      this.rcvWscale = 0;
    }
    this.cc = createCongestionControl(this.cc.name, this.maxPayload);
    // What the cookie SYN-ACK said: ACK = SEG.SEQ, the unscaled window from there.
    this.lastAckSent = this.rcv.rcvNxt;
    this.rcvAdvEdge = seqAdd(this.rcv.rcvNxt, Math.min(this.rcv.window, 0xffff));
    this.sndWnd = seg.wnd;
    this.maxSndWnd = seg.wnd;
    this.setState('SYN-RECEIVED', 'passive open from a SYN cookie');
    this.lastRecv = now;
    this.env.counters.passiveOpens++;
    this.input(seg);
  }

  /**
   * Appends application bytes; returns how many fit. `ref`: held by reference until acknowledged
   * (MSG_ZEROCOPY), not copied.
   */
  write(src: Uint8Array, off: number, len: number, ref = false): number {
    const n = ref ? this.snd.writeRef(src, off, len) : this.snd.write(src, off, len);
    if (n === 0) return 0;
    // One clock read for the whole send path (stamps, timers, the route), as a sendmsg's segments
    // share one tcp_mstamp.
    const timers = this.env.timers;
    timers.enterTurn();
    try {
      this.output();
    } finally {
      timers.leaveTurn();
    }
    return n;
  }

  /** Shuts the sending direction (RFC 9293 CLOSE): FIN after the queued data. */
  shutdown(): void {
    if (this.finQueued) return;
    switch (this.state) {
      case 'SYN-SENT':
        this.finish('CLOSED', null, 'shutdown before SYN-ACK');
        return;
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
      case 'CLOSE-WAIT':
        this.finQueued = true;
        this.output();
        return;
      default:
        return;
    }
  }

  /** ABORT (RFC 9293 §3.10.5): RST to the peer unless nothing was ever exchanged; CLOSED. */
  abort(): void {
    switch (this.state) {
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
        this.env.sendSegment(this, this.acceptableSeq(), RST | ACK, 0);
        this.env.counters.outRsts++;
        // TCP_MIB_ESTABRESETS counts a synchronized connection reset from either end.
        if (this.state !== 'SYN-RECEIVED') this.env.counters.estabResets++;
        if (tcpLog.enabled) tcpLog('%s abort: RST sent', connName(this));
        break;
      default:
        break;
    }
    this.user = null;
    this.finish('CLOSED', null, 'abort');
  }

  /**
   * The application consumed received bytes: open the window if it grew enough (tcp_cleanup_rbuf).
   * @mirrors tcp.c:tcp_cleanup_rbuf
   */
  onUserRead(): void {
    if (this.state === 'CLOSED' || this.state === 'SYN-SENT' || this.state === 'LISTEN') return;
    // tcp_cleanup_rbuf: an ACK owed for more than one segment goes now, with the opened window;
    // otherwise a window update only when what is left of the advertised window is at most half
    // the buffer and the read at least doubled it. Other reads ride on the next ACK.
    if (this.ackPending > 0 && seqDiff(this.rcvNxt, this.lastAckSent) > this.rcvMss) {
      this.sendAck();
      return;
    }
    const cur = Math.max(0, seqDiff(this.rcvAdvEdge, this.rcvNxt));
    if (2 * cur > this.rcv.capacity) return;
    const win = this.rcv.window;
    if (win > 0 && win >= 2 * cur) this.sendAck();
  }

  /**
   * The path MTU towards the peer dropped to `mtu` (ICMP fragmentation needed / packet too big):
   * shrink the segment size and resend what is in flight at the new size, like
   * tcp_v4_mtu_reduced() + tcp_simple_retransmit(). Increases are ignored.
   */
  mtuReduced(mtu: number, ipHeaderLen = 20): void {
    const mss = Math.max(MIN_SND_MSS, mtu - ipHeaderLen - 20);
    if (mss >= this.sendMss) return;
    if (tcpLog.enabled) tcpLog('%s path MTU %d: send MSS %d -> %d', connName(this), mtu, this.sendMss, mss);
    this.sendMss = mss;
    this.cc.mss = this.maxPayload;
    if (this.cc.cwnd < this.cc.mss) this.cc.cwnd = this.cc.mss;
    if (
      this.snd.flightSize > 0 &&
      (this.state === 'ESTABLISHED' ||
        this.state === 'CLOSE-WAIT' ||
        this.state === 'FIN-WAIT-1' ||
        this.state === 'CLOSING' ||
        this.state === 'LAST-ACK')
    ) {
      this.inRecovery = false;
      this.dupAcks = 0;
      this.rtxq.markAllLost();
      this.snd.rewind();
      this.output();
    }
  }

  setKeepAlive(enable: boolean, idle?: number): void {
    this.keepAlive = enable;
    if (idle !== undefined && idle > 0) this.keepIdle = idle;
    this.keepProbes = 0;
    if (enable && this.state !== 'CLOSED') this.keepTimer.armAt(this.lastRecv + this.keepIdle);
    else this.keepTimer.cancel();
  }

  // ---------------------------------------------------------------- segment arrival

  input(seg: TcpSegmentIn): void {
    const now = this.now();
    this.env.counters.inSegs++;
    if (this.state === 'SYN-SENT') {
      this.inputSynSent(seg, now);
      return;
    }
    if (this.state === 'CLOSED' || this.state === 'LISTEN') return;
    const flags = seg.flags;
    const opts = seg.opts;
    // RFC 7323 §5.3 PAWS, before the sequence check; RSTs are exempt.
    if (this.tsOk && opts.hasTimestamp && (flags & RST) === 0 && this.ts.pawsReject(opts.tsVal, now)) {
      this.env.counters.pawsRejected++;
      this.sendAck();
      return;
    }
    let seq = seg.seq;
    const dataOff = seg.dataOff;
    let dataLen = seg.dataLen;
    const fin = (flags & FIN) !== 0;
    let syn = (flags & SYN) !== 0;
    if (this.state === 'SYN-RECEIVED' && syn && seq === this.irs) {
      if ((flags & ACK) !== 0 && this.parent === null && seg.ack === this.snd.una) {
        // Simultaneous open: the peer's SYN-ACK acknowledges our SYN (Linux tcp_validate_incoming).
        syn = false;
        seq = seqAdd(seq, 1);
      } else {
        // Our SYN-ACK was lost: the peer retransmitted its SYN.
        this.sendSyn();
        return;
      }
    }
    // RFC 9293 §3.10.7.4 first: the sequence-number acceptability test, in the kernel's form
    // (tcp_sequence): the segment must end at or after the last ACK we sent (RCV.WUP) and start no
    // later than the right edge of the window we advertised (rcv_wup + rcv_wnd, what the peer was
    // offered, not the free room of the receive buffer: RFC 5961 §3.2 relies on that window to
    // make blind RST and data injection hard). Old bytes inside an acceptable segment, and bytes
    // past the right edge, are trimmed by the receive buffer; a data segment beyond a zero window
    // keeps only its ACK.
    const nxt = this.rcvNxt;
    const segLen = dataLen + (syn ? 1 : 0) + (fin ? 1 : 0);
    const edge = this.rcvAdvEdge;
    const ok = seqGeq(seqAdd(seq, segLen), this.lastAckSent) && seqLeq(seq, edge);
    if (!ok) {
      this.env.counters.outOfWindow++;
      // Answer with an ACK. One answering a segment without data goes at most once per 500 ms
      // (tcp_oow_rate_limited, tcp_invalid_ratelimit) so two confused ends cannot ping-pong ACKs
      // forever; a data segment is always answered, as there (data is no ACK loop): it is most
      // often a retransmission whose ACK was lost, and without an answer its sender waits for
      // its RTO.
      if ((flags & RST) !== 0) return;
      if (dataLen > 0 && (flags & SYN) === 0) {
        // Old data (tcp_send_dupack): say so with a D-SACK.
        if (seqLt(seq, nxt)) this.noteDuplicate(seq, dataLen);
        this.sendAck();
      } else if (now - this.lastOowAck >= OOW_ACK_INTERVAL) {
        this.lastOowAck = now;
        this.sendAck();
      }
      return;
    }
    this.lastRecv = now;
    this.keepProbes = 0;
    // Second: RST (RFC 5961 §3.2): exact match resets, anything else in the window is challenged.
    if ((flags & RST) !== 0) {
      if (seq !== nxt) {
        this.challengeAck(now);
        return;
      }
      this.onReset();
      return;
    }
    // Fourth: a SYN in a synchronized state is challenged (RFC 5961 §4.2).
    if (syn) {
      this.challengeAck(now);
      return;
    }
    if (this.ecnOk) this.ecnInput(seg);
    // Fifth: ACK.
    if ((flags & ACK) === 0) return;
    if (this.tsOk && opts.hasTimestamp) this.ts.update(opts.tsVal, seq, this.lastAckSent, now);
    if (this.state === 'SYN-RECEIVED') {
      if (seg.ack !== this.snd.una) {
        this.env.sendSegment(this, seg.ack, RST, 0);
        this.env.counters.outRsts++;
        if (tcpLog.enabled)
          tcpLog('%s RST sent: ACK %d is not for our SYN-ACK', connName(this), seqU32(seg.ack));
        return;
      }
      this.rtxTimer.cancel();
      this.retries = 0;
      this.setState('ESTABLISHED', this.optionSummary());
      this.sndWnd = seg.wnd << this.sndWscale;
      this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
      this.sndWl1 = seq;
      this.sndWl2 = seg.ack;
      if (this.tsOk && opts.hasTimestamp) this.rttSample(tsRttSample(opts.tsEcr, this.tsVal()));
      if (this.keepAlive) this.keepTimer.armAt(now + this.keepIdle);
      if (this.parent !== null) this.env.established(this);
      else this.user?.onConnect();
    }
    if (!this.processAck(seg, seq, now)) return;
    // Seventh: segment text.
    if (dataLen > 0) {
      if (this.state === 'ESTABLISHED' || this.state === 'FIN-WAIT-1' || this.state === 'FIN-WAIT-2') {
        this.receiveData(seg.src, seq, dataOff, dataLen);
      } else {
        // CLOSE-WAIT and later: the peer already sent FIN; data past it is a protocol error. Ignore.
        dataLen = 0;
      }
    }
    // Eighth: FIN. Recorded at its sequence, processed once RCV.NXT reaches it.
    if (fin && !this.rcvFinSeen) {
      // A FIN past the window (its data was trimmed) is not recorded: the bytes before it are gone.
      const fs = seqAdd(seq, seg.dataLen);
      if (seqLeq(fs, seqAdd(this.rcv.readSeq, this.rcv.capacity)) && seqLeq(fs, this.rcvAdvEdge)) {
        this.rcvFinSeen = true;
        this.rcvFinSeq = fs;
        // Beyond a hole, a FIN alone is out-of-order data too: ACKed at once (tcp_data_queue_ofo).
        if (seqGt(fs, this.rcv.rcvNxt)) this.ackNow = true;
      }
    } else if (fin && this.state === 'TIME-WAIT') {
      // A retransmitted FIN: ACK it and restart the 2 MSL wait.
      this.ackNow = true;
      this.rtxTimer.arm(2 * this.msl);
    }
    this.checkFin();
    if (!this.isClosed) this.output();
  }

  /** The connection reached CLOSED (a method, so narrowing on `state` does not hide later changes). */
  get isClosed(): boolean {
    return this.state === 'CLOSED';
  }

  private inputSynSent(seg: TcpSegmentIn, now: number): void {
    const flags = seg.flags;
    // RFC 9293 §3.10.7.3: an ACK must acknowledge exactly our SYN.
    if ((flags & ACK) !== 0 && seg.ack !== this.snd.una) {
      if ((flags & RST) === 0) {
        this.env.sendSegment(this, seg.ack, RST, 0);
        this.env.counters.outRsts++;
        if (tcpLog.enabled) tcpLog('%s RST sent: ACK %d is not for our SYN', connName(this), seqU32(seg.ack));
      }
      // The peer may hold an old incarnation of the connection and have dropped our SYN as part
      // of it: unless it was resent already, resend it now, not a whole RTO later
      // (tcp_rcv_synsent_state_process arms the timer at TCP_TIMEOUT_MIN, 2 ms).
      if (this.retries === 0) this.rtxTimer.arm(2);
      return;
    }
    if ((flags & RST) !== 0) {
      if ((flags & ACK) !== 0) {
        this.env.counters.attemptFails++;
        this.finish('CLOSED', new NetError('ECONNREFUSED', 'connect'), 'RST received');
      }
      return;
    }
    if ((flags & SYN) === 0) return;
    this.irs = seg.seq;
    this.rcv.init(seqAdd(seg.seq, 1));
    // Our SYN offered the unscaled window: that is the right edge the peer may fill.
    this.rcvAdvEdge = seqAdd(this.rcv.rcvNxt, Math.min(this.rcv.window, 0xffff));
    this.negotiate(seg, this.rcvMss);
    this.lastRecv = now;
    if ((flags & ACK) !== 0) {
      this.rtxTimer.cancel();
      this.setState('ESTABLISHED', this.optionSummary());
      // The window of a SYN segment is never scaled (RFC 7323 §2.2).
      this.sndWnd = seg.wnd;
      this.maxSndWnd = seg.wnd;
      this.bytesAcked = 1;
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      if (this.tsOk) this.rttSample(tsRttSample(seg.opts.tsEcr, this.tsVal()));
      else this.rto.onAck(seg.ack, now);
      if (this.rto.backoffs > 0 || this.retries > 0) this.rto.afterSynLoss();
      this.retries = 0;
      if (this.keepAlive) this.keepTimer.armAt(now + this.keepIdle);
      this.ackNow = true;
      this.user?.onConnect();
      this.output();
      return;
    }
    // Simultaneous open (RFC 9293 Figure 7): SYN-RECEIVED, answer with SYN-ACK.
    this.sndWnd = seg.wnd;
    this.maxSndWnd = seg.wnd;
    this.setState('SYN-RECEIVED', 'simultaneous open');
    this.sendSyn();
  }

  /** Reads the options of a SYN (or SYN-ACK) and fixes what the connection uses (tcp_parse_options at SYN time). */
  private negotiate(seg: TcpSegmentIn, mtuMss: number): void {
    const o = seg.opts;
    const peerMss = o.mss > 0 ? o.mss : DEFAULT_MSS;
    this.sendMss = Math.max(64, Math.min(peerMss, mtuMss));
    this.tsOk = this.offerTs && o.hasTimestamp;
    if (this.tsOk) this.ts.update(o.tsVal, seg.seq, seg.seq, this.now());
    this.sackOk = this.offerSack && o.sackPermitted;
    this.wsOk = this.offerWs && o.wscale >= 0;
    if (this.wsOk) {
      this.sndWscale = Math.min(o.wscale, 14);
    } else {
      this.sndWscale = 0;
      this.rcvWscale = 0;
    }
    // RFC 3168 §6.1.1: an ECN-setup SYN has ECE and CWR; the SYN-ACK that agrees has ECE alone.
    const ec = seg.flags & (ECE | CWR);
    this.ecnOk =
      this.state === 'SYN-SENT' ? this.ecnMode === 1 && ec === ECE : this.ecnMode !== 0 && ec === (ECE | CWR);
    this.cc = createCongestionControl(this.cc.name, this.maxPayload);
  }

  /**
   * RFC 3168 §6.1.3, the receiver: a CE mark is echoed (ECE on every segment, the first at once)
   * until a segment with CWR arrives (tcp_ecn_check_ce, tcp_ecn_accept_cwr).
   */
  private ecnInput(seg: TcpSegmentIn): void {
    if ((seg.flags & CWR) !== 0) this.ecnEcho = false;
    if (seg.ecn !== ECN_CE) return;
    this.env.counters.ecnCeRecv++;
    this.ecnEcho = true;
    this.ackNow = true;
  }

  /**
   * RFC 3168 §6.1.2, the sender: ECE reduces cwnd as a loss would, at most once per window of data
   * and not during loss recovery (which already reduced it); the next new data carries CWR
   * (tcp_enter_cwr).
   */
  private onEce(now: number, flight: number): void {
    const snd = this.snd;
    // An ACK up to the last reduction's SND.MAX may still carry the old echo: the CWR segment
    // went at that SND.MAX, so only an ACK beyond it can report new congestion.
    if (this.inRecovery || !seqGeq(snd.una, this.recover) || !seqGt(snd.una, this.ecnRecover)) return;
    this.cc.onCongestion(now, Math.max(flight, this.cc.mss));
    this.ecnRecover = snd.max;
    this.cwrPending = true;
    this.env.counters.ecnCwr++;
  }

  /** RFC 9293 §3.10.7.4 fifth step for synchronized states. Returns false when the segment is done. */
  private processAck(seg: TcpSegmentIn, seq: number, now: number): boolean {
    const ack = seg.ack;
    const snd = this.snd;
    const c = this.env.counters;
    if (seqGt(ack, snd.max)) {
      c.ackTooNew++;
      // RFC 9293 §3.10.7.4: "send an ACK, drop the segment". Linux's tcp_ack sends it as a challenge
      // ACK, under the same rate limits.
      this.challengeAck(now);
      return false;
    }
    // RFC 5961 §5.2: too old to be legitimate. As in tcp_ack, no older than what was ever acked:
    // before any data was acked, an ACK below SND.UNA is challenged however close it is.
    if (seqLt(ack, seqAdd(snd.una, -Math.min(this.maxSndWnd, this.bytesAcked)))) {
      c.ackTooOld++;
      this.challengeAck(now);
      return false;
    }
    // The peer is alive: it answered (tcp_ack clears icsk_probes_out for any acceptable ACK).
    this.probesOut = 0;
    const wnd = seg.wnd << this.sndWscale;
    const flight = snd.flightSize;
    const opts = seg.opts;
    // Without SACK a duplicate ACK must leave the window as it was (RFC 5681 §2): judged against
    // the window before this segment updates it.
    const sameWnd = wnd === this.sndWnd;
    // Window update first, as tcp_ack() calls tcp_ack_update_window() before it cleans the
    // retransmission queue: whatever this ACK makes us send is sized by the window it carries.
    // RFC 9293 §3.10.7.4: take it when SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and
    // SND.WL2 <= SEG.ACK) — "<=": a peer closing its window on a data segment that acknowledges
    // nothing new repeats SEQ and ACK, and the shrink (to zero too) must be taken. Like
    // tcp_may_update_window() also from any ACK that advances SND.UNA, so a window learnt from a
    // newer segment cannot stick after a go-back.
    if (seqGt(ack, snd.una) || seqLt(this.sndWl1, seq) || (this.sndWl1 === seq && seqLeq(this.sndWl2, ack))) {
      this.sndWnd = wnd;
      this.sndWl1 = seq;
      this.sndWl2 = ack;
      if (wnd > this.maxSndWnd) this.maxSndWnd = wnd;
      if (wnd > 0 && this.persist) {
        // The window opened (tcp_ack_probe): stop probing and forget the probe backoff.
        this.persist = false;
        this.rtxTimer.cancel();
        this.rto.onRetransmit();
        this.rto.backoffs = 0;
      }
    }
    let sacked = 0;
    let writable = false;
    const advanced = seqGt(ack, snd.una);
    // RACK hears of every segment this ACK delivers (RFC 8985 §6.2 steps 1-3).
    const rack = this.sackOk && this.useRack ? this.rack : null;
    rack?.begin(now);
    if (advanced) {
      this.bytesAcked += seqDiff(ack, snd.una);
      const acked = snd.ack(ack);
      if (this.watchUna) this.user?.onAcked?.();
      this.retries = 0;
      this.rtxq.ack(ack, rack);
      if (this.sackOk) this.scoreboard.onAck(ack);
      // RTT: timestamps give one sample per ACK (RFC 7323 §4), else Karn-timed segments. RFC 7323
      // §4.1 lets TSecr update the RTT only from an ACK of new data, but a TSecr older than the
      // last retransmission of the old SND.UNA echoes an earlier copy: a receiver answers an old
      // duplicate before updating TS.Recent (§5.3 R2 before R3), so after a lost ACK the echo is a
      // whole backed-off RTO old. Such a TSecr is no sample (Karn's rule, applied to the echo).
      const staleEcho = this.unaRtx && ((opts.tsEcr - this.unaRtxTs) | 0) < 0;
      this.unaRtx = false;
      // RFC 3522 Eifel: the first ACK past the episode's first retransmission echoes a TSval
      // older than it, so the original arrived: every retransmission was spurious
      // (tcp_packet_delayed -> tcp_try_undo_recovery / tcp_try_undo_loss).
      if (this.undoActive && this.undoTsSet && this.tsOk && opts.hasTimestamp) {
        if (((opts.tsEcr - this.undoTs) | 0) < 0) this.undo();
        else this.undoActive = false;
      }
      if (this.tsOk && opts.hasTimestamp) {
        if (!staleEcho) this.rttSample(tsRttSample(opts.tsEcr, this.tsVal()));
      } else this.rto.onAck(ack, now);
      if (this.sackOk) sacked = this.takeSack(seg, rack);
      this.onNewAck(acked, flight, now);
      // RFC 6298 (5.2)/(5.3): stop the timer when all is ACKed, else restart it.
      if (snd.flightSize === 0) {
        if (!this.persist) this.rtxTimer.cancel();
      } else {
        this.rtxTimer.arm(this.rto.rto);
      }
      writable = acked > 0;
    } else if (this.sackOk) {
      sacked = this.takeSack(seg, rack);
    }
    if (this.ecnOk && (seg.flags & ECE) !== 0) this.onEce(now, flight);
    if (this.sackOk) {
      // With SACK, loss detection runs on every segment that SACKs new data, whatever else it
      // carries: in a two-way stream the blocks ride on data segments, and on ACKs that also move
      // SND.UNA. RFC 6675 §2 counts only pure ACKs as duplicates, which leaves such a stream to its
      // RTO; Linux's tcp_ack() runs tcp_fastretrans_alert() on any ACK that SACKed data and counts
      // SACKed segments, not duplicate ACKs (tcp_dupack_heuristics). Plain copies of an ACK, as a
      // duplicating link makes, SACK nothing new and count for nothing.
      // RACK judges on every ACK (time passes, lost retransmissions show on cumulative ACKs too);
      // DupThresh only when new data was SACKed.
      if (snd.flightSize > 0 && (rack !== null || sacked > 0)) this.sackDetect(now);
      if (rack !== null) {
        this.tlpOnAck(seg, advanced, now);
        if (advanced || sacked > 0) this.ptoDue = true;
      }
    } else if (!advanced && flight > 0 && seg.dataLen === 0 && (seg.flags & (SYN | FIN)) === 0 && sameWnd) {
      // RFC 5681 §2 duplicate ACK: no data, no SYN/FIN, same ACK and window.
      this.onDupAck(now);
    }
    // Only now, with SND.WND current, may the socket refill the send buffer (which sends). Like
    // sk_stream_write_space(), only once a third of the buffer is free (space >= queued / 2): a
    // writer woken for every few freed bytes would cut the stream into frames as small as each
    // ACK's advance, and ACK clocking would keep them that small.
    if (writable && this.user !== null && snd.space > 0 && snd.space >= snd.length >> 1)
      this.user.onWritable();
    // Our FIN acknowledged?
    if (this.finSent && seqGt(snd.una, this.finSeq)) {
      switch (this.state) {
        case 'FIN-WAIT-1':
          this.setState('FIN-WAIT-2');
          if (this.user === null) this.rtxTimer.arm(this.finTimeout);
          break;
        case 'CLOSING':
          this.enterTimeWait();
          return false;
        case 'LAST-ACK':
          this.finish('CLOSED', null, 'FIN acknowledged');
          return false;
        default:
          break;
      }
    }
    return true;
  }

  /** Feeds the segment's SACK blocks to the scoreboard and the queue; returns the bytes newly SACKed. */
  private takeSack(seg: TcpSegmentIn, rack: Rack | null): number {
    const o = seg.opts;
    let n = 0;
    for (let i = 0; i < o.sackCount; i++) {
      // The options' arrays give the parser's signed edges back unsigned: into the stack's form.
      const l = o.sackLeft[i]! | 0;
      const r = o.sackRight[i]! | 0;
      // RFC 2883 §4: a first block below the cumulative ACK, or inside the second block, is a D-SACK.
      if (
        i === 0 &&
        (seqLeq(r, seg.ack) ||
          (o.sackCount > 1 && seqGeq(l, o.sackLeft[1]! | 0) && seqLeq(r, o.sackRight[1]! | 0)))
      ) {
        this.onDsack(r);
        continue;
      }
      const added = this.scoreboard.addBlock(l, r, this.snd.una, this.snd.max);
      if (added > 0) this.rtxq.sack(l, r, rack);
      n += added;
    }
    return n;
  }

  /**
   * A D-SACK ending at `end` arrived: the peer got something twice. RACK widens its reordering
   * window; a loss probe it covers was not needed (RFC 8985 §7.4.2); and once every retransmission
   * of the episode is shown needless, the cwnd reduction is undone (tcp_check_dsack ->
   * tcp_try_undo_dsack).
   */
  private onDsack(end: number): void {
    const snd = this.snd;
    this.env.counters.dsacksRecv++;
    if (this.useRack) this.rack.onDsack(snd.una, snd.max);
    if (this.rack.tlpOut && this.rack.tlpRetrans && end === this.rack.tlpEnd) this.rack.tlpOut = false;
    if (this.undoActive && this.undoRetrans > 0 && seqGt(end, this.undoMarker) && --this.undoRetrans === 0)
      this.undo();
  }

  /** A cwnd reduction starts an episode that may prove spurious (tcp_init_undo). */
  private startUndo(): void {
    this.undoActive = true;
    this.undoMarker = this.snd.una;
    this.undoRetrans = 0;
    this.undoTsSet = false;
    this.priorCwnd = this.cc.cwnd;
    this.priorSsthresh = this.cc.ssthresh;
  }

  private countUndoRetrans(): void {
    if (!this.undoActive) return;
    this.undoRetrans++;
    if (!this.undoTsSet && this.tsOk) {
      this.undoTs = this.tsVal();
      this.undoTsSet = true;
    }
  }

  /**
   * The reduction was for nothing: cwnd and ssthresh back to at least what they were
   * (tcp_undo_cwnd_reduction), and a recovery under way ends without setting cwnd to ssthresh.
   */
  private undo(): void {
    this.undoActive = false;
    this.undoRetrans = 0;
    this.cc.undo(this.priorCwnd, this.priorSsthresh);
    if (this.inRecovery) this.postRtoRecovery = true;
    this.env.counters.spuriousUndos++;
    if (tcpLog.enabled) tcpLog('%s spurious retransmission: cwnd reduction undone', connName(this));
  }

  private onNewAck(acked: number, flightBefore: number, now: number): void {
    const cc = this.cc;
    if (this.inRecovery) {
      if (seqGeq(this.snd.una, this.recoveryPoint)) {
        this.inRecovery = false;
        this.dupAcks = 0;
        if (this.sackOk) {
          this.recheckLost = true;
          this.rack.onRecoveryEnd();
        }
        if (this.postRtoRecovery) this.postRtoRecovery = false;
        else if (this.sackOk) cc.onRecoveryExit(now);
        // RFC 6582 §3.2 step 3 full ACK: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
        else cc.cwnd = Math.min(cc.ssthresh, Math.max(this.snd.flightSize, cc.mss) + cc.mss);
        return;
      }
      if (!this.sackOk) {
        // RFC 6582 §3.2 step 5 partial ACK: retransmit the next hole, deflate cwnd.
        this.retransmit(this.snd.una, Math.min(this.maxPayload, this.snd.length));
        cc.cwnd = Math.max(cc.cwnd - acked + (acked >= cc.mss ? cc.mss : 0), cc.mss);
      }
      return;
    }
    this.dupAcks = 0;
    // RFC 5681 §3.1 / RFC 7661: grow only when the window was in use (cwnd-limited), approximated
    // by flight; in slow start too (tcp_is_cwnd_limited: cwnd < 2 * packets out), or a sender held
    // back by the receiver's window or the application would inflate cwnd without bound.
    if (flightBefore * 2 >= cc.cwnd) cc.onAck(acked, now, this.rto.srtt);
  }

  /**
   * SACK loss detection once the scoreboard took a segment's blocks. With RACK (RFC 8985 §6.2
   * step 5) a segment is lost once one sent after it was delivered and the reordering window has
   * passed (the reorder timer covers the rest); without, RFC 6675 IsLost() marks the segments under
   * DupThresh SACKed ones. The first loss starts recovery (RFC 6675 §5 step 4). Below the point of
   * an earlier RTO the window was already cut: a retransmission was lost too. RFC 6675 would wait
   * for another RTO (with backoff); like Linux in its Loss state, the lost retransmissions are
   * resent through the pipe algorithm without a second reduction.
   */
  private sackDetect(now: number): void {
    const postRto = !seqGeq(this.snd.una, this.recover);
    let lost: number;
    if (this.useRack) {
      const sackedThresh = this.scoreboard.ranges.bytes > (DUP_THRESH - 1) * this.cc.mss;
      const reo = this.rack.reoWnd(this.inRecovery || postRto, sackedThresh, this.rto.srtt);
      lost = this.rack.detectLoss(this.rtxq, now, reo);
      if (this.rack.timeout > 0) this.reoTimer.arm(this.rack.timeout);
      else this.reoTimer.cancel();
    } else {
      lost = this.rtxq.markLostDupThresh(this.cc.mss, DUP_THRESH, postRto && !this.inRecovery);
    }
    if (this.recheckLost) {
      // Segments marked lost that the ended recovery did not resend start the next one.
      this.recheckLost = false;
      if (lost === 0 && this.rtxq.nextLost(this.maxPayload)) lost = 1;
    }
    if (!this.inRecovery && lost > 0) this.enterSackRecovery(now, postRto);
  }

  /** One RTT measurement for the RTO estimator (and RACK's min_RTT). */
  private rttSample(r: number): void {
    this.rto.sample(r);
    this.rack.rttSample(r);
  }

  /**
   * RFC 8985 §7.4.2: did the loss probe repair a loss? An ACK beyond a retransmitted probe (or a
   * duplicate ACK without SACK at its end) says the original was lost and only the probe arrived:
   * the congestion response fast recovery would have made (Linux tcp_process_tlp_ack).
   */
  private tlpOnAck(seg: TcpSegmentIn, advanced: boolean, now: number): void {
    const r = this.rack;
    if (!r.tlpOut || seqLt(seg.ack, r.tlpEnd)) return;
    if (!r.tlpRetrans) {
      r.tlpOut = false;
      return;
    }
    const dupNoSack = !advanced && seg.dataLen === 0 && seg.opts.sackCount === 0;
    if (!seqGt(seg.ack, r.tlpEnd) && !dupNoSack) return;
    r.tlpOut = false;
    this.cc.onCongestion(now, this.cc.cwnd);
    this.env.counters.tlpRecoveries++;
  }

  /**
   * RFC 8985 §7.2: arm the PTO after new data went out or an ACK brought news, while no recovery
   * runs, no probe is out and data is in flight; never past the RTO (which then does the job).
   */
  private schedulePto(): void {
    const snd = this.snd;
    if (
      !this.sackOk ||
      !this.useRack ||
      this.inRecovery ||
      this.rack.tlpOut ||
      this.persist ||
      snd.flightSize === 0 ||
      !seqGeq(snd.una, this.recover)
    ) {
      this.tlpTimer.cancel();
      return;
    }
    const pto = this.rack.pto(this.rto, snd.flightSize <= this.maxPayload);
    if (this.rtxTimer.armed && this.rtxTimer.deadline - this.now() <= pto) this.tlpTimer.cancel();
    else this.tlpTimer.arm(pto);
  }

  /**
   * RFC 8985 §7.3: the PTO expired. One probe: a new segment if the windows let one go, else the
   * last segment again; the RTO is restarted behind it.
   * @mirrors tcp_output.c:tcp_send_loss_probe
   */
  private onTlpTimer(now: number): void {
    const snd = this.snd;
    const r = this.rack;
    if (!this.sending || this.inRecovery || this.persist || snd.flightSize === 0 || r.tlpOut) return;
    const mss = this.maxPayload;
    // New data needs only the peer's window (RFC 8985 §7.3: the probe is outside cwnd).
    const usable = seqDiff(seqAdd(snd.una, this.sndWnd), snd.max);
    const len = Math.min(seqDiff(snd.end, snd.max), mss, usable);
    let sent: boolean;
    if (len > 0 && seqGeq(snd.nxt, snd.max)) {
      r.tlpRetrans = false;
      sent = this.transmit(
        snd.max,
        len,
        this.finQueued && seqAdd(snd.max, len) === snd.end && this.canSendFin(),
      );
    } else {
      r.tlpRetrans = true;
      sent = this.rtxq.lastUnsacked(mss) && this.retransmit(this.rtxq.nextSeq, this.rtxq.nextLen);
    }
    if (!sent) return;
    r.tlpOut = true;
    r.tlpEnd = snd.max;
    this.env.counters.tlpProbes++;
    if (tcpLog.enabled) tcpLog('%s loss probe at %d ms', connName(this), now);
    this.rtxTimer.arm(this.rto.rto);
  }

  /** RFC 8985 §6.3: the reordering window of a segment passed: judge again. */
  private onReoTimer(now: number): void {
    if (!this.sending || !this.sackOk || this.snd.flightSize === 0) return;
    this.sackDetect(now);
    this.output();
  }

  /** RFC 6675 §5 step (4): fast retransmit and loss recovery (postRto: after an RTO, no cwnd cut). */
  private enterSackRecovery(now: number, postRto: boolean): void {
    const snd = this.snd;
    const c = this.env.counters;
    this.inRecovery = true;
    this.postRtoRecovery = postRto;
    if (postRto) {
      this.recoveryPoint = this.recover;
      c.lostRetransmits++;
    } else {
      // (4.1) RecoveryPoint = HighData, (4.2) ssthresh and cwnd from FlightSize.
      this.recoveryPoint = snd.max;
      this.recover = snd.max;
      this.startUndo();
      this.cc.onCongestion(now, snd.flightSize);
      c.fastRetrans++;
      c.sackRecovery++;
    }
    // (4.3) The first segment presumed lost goes now; RescueRxt = its last byte, so that the
    // rescue retransmission (NextSeg rule 4) waits until that segment is acknowledged.
    this.rescueRxtSet = false;
    const q = this.rtxq;
    if (q.nextLost(this.maxPayload) && this.retransmit(q.nextSeq, q.nextLen)) {
      this.rescueRxt = seqAdd(q.nextSeq, q.nextLen - 1);
      this.rescueRxtSet = true;
    }
  }

  /** RFC 5681 / RFC 6582 duplicate ACK (connections without SACK). */
  private onDupAck(now: number): void {
    this.dupAcks++;
    const snd = this.snd;
    const cc = this.cc;
    if (this.inRecovery) {
      cc.cwnd += cc.mss; // RFC 6582 step 4: inflate per further dupack.
      return;
    }
    if (this.dupAcks < DUP_THRESH) return;
    if (!seqGeq(snd.una, this.recover)) {
      // Still below the point of an earlier RTO, so the window was already cut: a retransmission
      // was lost too. Resend SND.UNA once per DupThresh duplicates, without a second reduction.
      if (this.dupAcks % DUP_THRESH === 0) {
        this.env.counters.lostRetransmits++;
        this.retransmit(snd.una, Math.min(this.maxPayload, Math.max(1, seqDiff(snd.max, snd.una))));
      }
      return;
    }
    // Enter fast retransmit / fast recovery (RFC 6582 step 2).
    this.inRecovery = true;
    this.recoveryPoint = snd.max;
    this.recover = snd.max;
    this.startUndo();
    cc.onCongestion(now, snd.flightSize);
    this.env.counters.fastRetrans++;
    this.env.counters.renoRecovery++;
    cc.cwnd = cc.ssthresh + 3 * cc.mss;
    this.retransmit(snd.una, Math.min(this.maxPayload, Math.max(1, seqDiff(snd.max, snd.una))));
  }

  private receiveData(src: Uint8Array | Mbuf, seq: number, off: number, len: number): void {
    const rcv = this.rcv;
    const before = rcv.rcvNxt;
    this.noteDuplicate(seq, len);
    const n = rcv.write(seq, src, off, len, this.rcvAdvEdge);
    if (n < 0) this.env.counters.oooDrops++;
    if (seq !== before || n <= 0 || rcv.ooo.count > 0) {
      // Out of order, duplicate, or a hole just filled: ACK at once (RFC 5681 §4.2).
      this.ackNow = true;
    } else if (++this.ackPending >= 2 || len > this.rcvMss) {
      this.ackNow = true;
    } else {
      // The first segment owed an ACK: the ACK is due delAck from now (icsk_ack.timeout). A timer
      // still armed from an ACK that left with data (afterSend keeps it) is due earlier: it stays,
      // and re-arms itself at this deadline when it fires (onDelackTimer).
      const t = this.delackTimer;
      this.ackDeadline = this.now() + this.delAck;
      if (!t.armed || t.deadline > this.ackDeadline) t.armAt(this.ackDeadline);
    }
    if (n > 0) this.user?.onData();
  }

  private checkFin(): void {
    if (this.rcvFin || !this.rcvFinSeen || this.rcv.rcvNxt !== this.rcvFinSeq) return;
    this.rcvFin = true;
    this.ackNow = true;
    switch (this.state) {
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
        this.setState('CLOSE-WAIT', 'FIN received');
        break;
      case 'FIN-WAIT-1':
        if (this.finSent && seqGt(this.snd.una, this.finSeq)) this.enterTimeWait();
        else this.setState('CLOSING', 'FIN received');
        break;
      case 'FIN-WAIT-2':
        this.enterTimeWait();
        break;
      default:
        break;
    }
    this.user?.onPeerFin();
  }

  private onReset(): void {
    const s = this.state;
    let err: NetError | null = null;
    if (s === 'SYN-RECEIVED' && this.parent !== null) err = null;
    else if (s === 'SYN-RECEIVED') err = new NetError('ECONNREFUSED', 'connect');
    else if (s === 'ESTABLISHED' || s === 'FIN-WAIT-1' || s === 'FIN-WAIT-2' || s === 'CLOSE-WAIT') {
      err = new NetError('ECONNRESET', 'read');
      this.env.counters.estabResets++;
    }
    this.finish('CLOSED', err, 'RST received');
  }

  private challengeAck(now: number): void {
    // Per connection first, on the clock of the ACKs that answer unacceptable segments, then host
    // wide (tcp_send_challenge_ack: __tcp_oow_rate_limited, then tcp_challenge_ack_limit).
    if (now - this.lastOowAck < OOW_ACK_INTERVAL) {
      this.env.counters.challengeAckLimited++;
      return;
    }
    this.lastOowAck = now;
    if (this.env.challengeAckAllowed(now)) {
      this.env.counters.challengeAcks++;
      this.sendAck();
    } else {
      this.env.counters.challengeAckLimited++;
    }
  }

  // ---------------------------------------------------------------- output

  /** Sends what the windows allow (tcp_write_xmit), then any ACK still owed. */
  output(): void {
    const s = this.state;
    if (this.sending) {
      if (this.inRecovery && this.sackOk) this.sackRecoveryOutput();
      else this.sendData();
      if (this.ptoDue) {
        this.ptoDue = false;
        this.schedulePto();
      }
    }
    if (this.ackNow && s !== 'CLOSED' && s !== 'SYN-SENT') this.sendAck();
  }

  /** A state in which data may be sent or resent. */
  private get sending(): boolean {
    const s = this.state;
    return (
      s === 'ESTABLISHED' || s === 'CLOSE-WAIT' || s === 'FIN-WAIT-1' || s === 'CLOSING' || s === 'LAST-ACK'
    );
  }

  private sendData(): void {
    const snd = this.snd;
    const cc = this.cc;
    for (;;) {
      const nxt = snd.nxt;
      // After an RTO, do not resend what the peer SACKed (RFC 6675 §5.1; Linux keeps SACK tags)
      // or what loss recovery already sent again since: stop a resend where such a record starts.
      let run = Infinity;
      if (this.sackOk && seqLt(nxt, snd.max)) {
        run = this.rtxq.resendRun(nxt);
        if (run < 0) {
          snd.nxt = seqMin(this.rtxq.nextSeq, snd.max);
          continue;
        }
      }
      const avail = seqDiff(snd.end, nxt);
      if (avail > 0) {
        const wndEnd = seqAdd(snd.una, Math.min(this.sndWnd, Math.floor(cc.cwnd)));
        const usable = seqDiff(wndEnd, nxt);
        const mp = this.maxPayload;
        const resend = seqLt(nxt, snd.max);
        // New data may go as one TSO super-frame of whole segments (tcp_tso_autosize).
        const cap = !resend && this.env.tsoMax > mp ? Math.floor(this.env.tsoMax / mp) * mp : mp;
        let len = Math.min(avail, cap, usable);
        // Whole segments only, unless this is the end of the queued data and Nagle lets a partial
        // last segment go now (tcp_mss_split_point + tcp_nagle_check): a held tail joins the next
        // write's bytes instead of ending every super-frame with a small segment.
        if (len > mp && (len < avail || (!resend && this.nagleHolds()))) len -= len % mp;
        if (run < len) len = run;
        if (!resend && !this.forceSend && len > 0 && len < avail && cap > mp && this.tsoDefers(len, cap))
          break;
        if (len <= 0) {
          // Window-limited with nothing in flight: only the persist timer can get us going again.
          if (snd.flightSize === 0) this.startPersist();
          break;
        }
        // New data only: sender SWS avoidance (RFC 9293 §3.8.6.2.1; the persist timer is its
        // override), then Nagle (RFC 896) unless TCP_NODELAY. A resent segment goes out at
        // whatever size the holes leave.
        if (!resend && len < mp && !this.forceSend) {
          if (len < avail && len < this.maxSndWnd >> 1) {
            if (snd.flightSize === 0) this.startPersist();
            break;
          }
          if (this.nagleHolds()) break;
        }
        this.forceSend = false;
        const end = seqAdd(nxt, len);
        const fin = this.finQueued && end === snd.end && this.canSendFin();
        if (!this.transmit(nxt, len, fin)) break;
        continue;
      }
      if (this.finQueued && nxt === snd.end && (!this.finSent || nxt === this.finSeq) && this.canSendFin()) {
        this.transmit(nxt, 0, true);
      }
      break;
    }
  }

  /**
   * Whether new data the windows cut to `len` (< what is queued) should wait for the next ACK
   * instead of going as a small super-frame. Without it a cwnd-limited stream sends a frame the
   * size of each ACK's advance, and ACK clocking keeps them that small: after a loss with 2–4 MiB
   * buffers a stream stayed at 3.6 KB frames and 3.4 Gbps, one ACK per frame. It sends at once when
   * a full super-frame fits, when the room is a third of the window, in recovery, with nothing in
   * flight, or when the next ACK is far off (the oldest segment in flight left less than half an
   * RTT ago).
   * @mirrors tcp_output.c:tcp_tso_should_defer
   */
  private tsoDefers(len: number, cap: number): boolean {
    if (len >= cap || this.inRecovery || this.snd.flightSize === 0) return false;
    if (len >= Math.min(this.sndWnd, Math.floor(this.cc.cwnd)) / TSO_WIN_DIVISOR) return false;
    const q = this.rtxq;
    if (q.count === 0) return false;
    return this.now() - q.xmitTs(0) >= this.rto.srtt / 2;
  }

  /**
   * Nagle with Minshall's refinement, as Linux's tcp_nagle_check + tcp_minshall_check: a partial
   * segment waits only while an earlier partial segment is unacknowledged (unless NODELAY, FIN or a
   * forced send). Full segments in flight do not hold back the tail of a write (RFC 896 would).
   * @mirrors tcp_output.c:tcp_nagle_check
   */
  private nagleHolds(): boolean {
    if (this.noDelay || this.forceSend || this.finQueued || this.snd.flightSize === 0) return false;
    // tcp_minshall_check: snd_sml after SND.UNA and not after SND.NXT
    return seqGt(this.sndSml, this.snd.una) && !seqGt(this.sndSml, this.snd.nxt);
  }

  private canSendFin(): boolean {
    const s = this.state;
    return (
      s === 'ESTABLISHED' ||
      s === 'CLOSE-WAIT' ||
      (this.finSent && (s === 'FIN-WAIT-1' || s === 'CLOSING' || s === 'LAST-ACK'))
    );
  }

  /**
   * RFC 6675 §5 step (C): send while pipe leaves a segment of cwnd, choosing with NextSeg() over the
   * per-segment queue: (1) a segment judged lost, (2) new data, (3) an unSACKed segment below the
   * highest SACKed byte, (4) once per recovery, the rescue retransmission of the tail.
   */
  private sackRecoveryOutput(): void {
    const snd = this.snd;
    const q = this.rtxq;
    const mss = this.maxPayload;
    let pipe = q.pipe();
    for (let guard = 0; guard < 1024; guard++) {
      if (this.cc.cwnd - pipe < mss) break;
      if (!q.nextLost(mss)) {
        // Rule (2): new data, within the peer's window.
        const avail = seqDiff(snd.end, snd.max);
        const usable = seqDiff(seqAdd(snd.una, this.sndWnd), snd.max);
        const len = Math.min(avail, mss, usable);
        if (len > 0) {
          const fin = this.finQueued && seqAdd(snd.max, len) === snd.end && this.canSendFin();
          snd.nxt = snd.max;
          if (!this.transmit(snd.max, len, fin)) break;
          pipe += len;
          continue;
        }
        if (!q.nextUnsacked(this.scoreboard.highestSacked(snd.una), mss)) {
          // Rule (4): RescueRxt undefined or below HighACK; RescueRxt = RecoveryPoint, HighRxt
          // untouched (the queue tags the segment, so rule 3 still finds the holes below it).
          if (this.rescueRxtSet && !seqGt(snd.una, this.rescueRxt)) break;
          if (!q.lastUnsacked(mss)) break;
          this.rescueRxt = seqAdd(this.recoveryPoint, -1);
          this.rescueRxtSet = true;
          this.env.counters.rescueRetransmits++;
        }
      }
      const len = q.nextLen;
      if (!this.retransmit(q.nextSeq, len)) break;
      pipe += len;
    }
    if (this.finQueued && !this.finSent && snd.max === snd.end && this.canSendFin()) {
      snd.nxt = snd.max;
      this.transmit(snd.max, 0, true);
    }
  }

  /**
   * Loss-recovery retransmission of [seq, seq+len) (bounded to held data; FIN if it covers it),
   * never past SND.UNA + SND.WND (RFC 9293 §3.8.6.1): a receiver may have shrunk its window, and
   * __tcp_retransmit_skb() refuses a segment outside it. The exception, also Linux's, is SND.UNA
   * under a zero window: one byte of it goes as the window probe.
   */
  private retransmit(seq: number, len: number): boolean {
    const snd = this.snd;
    const room = seqDiff(seqAdd(snd.una, this.sndWnd), seq);
    if (room <= 0 && seq !== snd.una) return false;
    const dataLen = Math.max(0, Math.min(len, seqDiff(snd.end, seq), Math.max(room, 1)));
    const fin =
      this.finSent &&
      seqAdd(seq, dataLen) === this.finSeq &&
      seqLeq(seqAdd(seq, len), seqAdd(this.finSeq, 1));
    if (dataLen === 0 && !fin) return false;
    const flags = ACK | (fin ? FIN : 0) | (dataLen > 0 ? PSH : 0);
    if (!this.env.sendSegment(this, seq, flags, dataLen)) return false;
    const segLen = dataLen + (fin ? 1 : 0);
    snd.markRetransmit(segLen);
    this.countUndoRetrans();
    this.rtxq.retransmitted(seq, segLen, this.now());
    this.noteRetransmit(seq);
    this.env.counters.retransSegs++;
    this.rto.onRetransmit();
    this.afterSend();
    if (!this.rtxTimer.armed) this.rtxTimer.arm(this.rto.rto);
    return true;
  }

  /** Remembers when SND.UNA was last retransmitted (the stale-TSecr check in processAck). */
  private noteRetransmit(seq: number): void {
    if (seq !== this.snd.una) return;
    this.unaRtx = true;
    this.unaRtxTs = this.tsVal();
  }

  /** Sends data (and FIN) at `seq` as a first transmission or a go-back resend. */
  private transmit(seq: number, len: number, fin: boolean): boolean {
    const snd = this.snd;
    let flags = ACK;
    if (len > 0 && seqAdd(seq, len) === snd.end) flags |= PSH;
    if (fin) flags |= FIN;
    const resend = seqLt(seq, snd.max);
    // RFC 3168 §6.1.5/§6.1.2: new data goes ECT(0) (a retransmission never does), and the first
    // new data after an ECE-caused reduction carries CWR.
    const ect = this.ecnOk && len > 0 && !resend;
    if (ect && this.cwrPending) flags |= CWR;
    if (!this.env.sendSegment(this, seq, flags, len, ect ? ECN_ECT0 : 0)) return false;
    if ((flags & CWR) !== 0) this.cwrPending = false;
    const segLen = len + (fin ? 1 : 0);
    const now = this.now();
    const end = seqAdd(seq, segLen);
    if (resend) this.rtxq.retransmitted(seq, seqDiff(seqMin(end, snd.max), seq), now);
    if (seqGt(end, snd.max)) this.rtxq.sent(seqMax(seq, snd.max), seqDiff(end, seqMax(seq, snd.max)), now);
    if (resend) {
      this.env.counters.retransSegs++;
      this.countUndoRetrans();
      this.rto.onRetransmit();
      this.noteRetransmit(seq);
    } else {
      if (!this.tsOk) this.rto.startTiming(end, now);
      this.ptoDue = true;
    }
    snd.markSent(seq, segLen);
    // tcp_minshall_update: remember where the last small segment ends.
    if (len > 0 && len < this.maxPayload) this.sndSml = seqAdd(seq, len);
    if (fin && !this.finSent) {
      this.finSent = true;
      this.finSeq = seqAdd(seq, len);
      if (this.state === 'ESTABLISHED' || this.state === 'SYN-RECEIVED')
        this.setState('FIN-WAIT-1', 'FIN sent');
      else if (this.state === 'CLOSE-WAIT') this.setState('LAST-ACK', 'FIN sent');
    }
    this.afterSend();
    if (!this.rtxTimer.armed) this.rtxTimer.arm(this.rto.rto);
    return true;
  }

  /**
   * Any segment sent carries the current ACK. The delayed-ACK timer is left armed, as
   * inet_csk_clear_xmit_timer leaves the kernel's: with nothing owed it fires idle, and a request
   * and its answer no longer pay a timer insert and removal each.
   */
  private afterSend(): void {
    this.ackNow = false;
    this.ackPending = 0;
  }

  /**
   * Sequence number for segments without data: SND.MAX (the kernel's snd_nxt, which a
   * retransmission never moves back). SND.NXT would be wrong after an RTO go-back: the peer may
   * already hold those bytes and would drop the ACK as old.
   */
  acceptableSeq(): number {
    return this.snd.max;
  }

  /** A bare ACK now. */
  sendAck(): void {
    if (this.env.sendSegment(this, this.acceptableSeq(), ACK, 0)) this.afterSend();
  }

  /**
   * Zero-window probe (tcp_write_wakeup -> tcp_xmit_probe_skb): no data, SEG.SEQ = SND.UNA - 1.
   * The peer finds it old, drops it and answers with an ACK carrying its current window; nothing
   * is sent past the closed window. Only the probe uses the old sequence number: an ordinary ACK
   * sent while probing (for the peer's data) must carry SND.MAX or the peer drops it as old too.
   */
  private sendProbe(): void {
    if (this.env.sendSegment(this, seqAdd(this.snd.una, -1), ACK, 0)) this.afterSend();
  }

  private sendSyn(): void {
    // RFC 3168 §6.1.1: an ECN-setup SYN carries ECE and CWR, an ECN-setup SYN-ACK ECE alone.
    const flags =
      this.state === 'SYN-SENT'
        ? SYN | (this.ecnMode === 1 ? ECE | CWR : 0)
        : SYN | ACK | (this.ecnOk ? ECE : 0);
    this.env.sendSegment(this, this.iss, flags, 0);
    this.afterSend();
  }

  private startPersist(): void {
    if (this.persist) return;
    this.persist = true;
    this.rtxTimer.arm(this.rto.rto);
  }

  // ---------------------------------------------------------------- timers

  private onRtxTimer(now: number): void {
    const c = this.env.counters;
    switch (this.state) {
      case 'TIME-WAIT':
      case 'FIN-WAIT-2':
        // 2 MSL elapsed, or an orphan's FIN-WAIT-2 ran out of patience.
        this.finish('CLOSED', null, this.state === 'TIME-WAIT' ? '2 MSL elapsed' : 'FIN-WAIT-2 timeout');
        return;
      case 'SYN-SENT':
      case 'SYN-RECEIVED':
        if (++this.retries > this.synRetries) {
          c.attemptFails++;
          this.finish(
            'CLOSED',
            this.parent === null ? new NetError('ETIMEDOUT', 'connect') : null,
            `${this.retries - 1} SYN retransmissions unanswered`,
          );
          return;
        }
        c.timeouts++;
        if (tcpLog.enabled)
          tcpLog('%s %s timeout %d: SYN retransmitted', connName(this), this.state, this.retries);
        // An active open's first SYN retransmissions keep the initial timeout, exponential backoff
        // after them (tcp_retransmit_timer with net.ipv4.tcp_syn_linear_timeouts, 4 since 6.11).
        if (this.state !== 'SYN-SENT' || this.retries > SYN_LINEAR_TIMEOUTS) this.rto.backoff();
        this.sendSyn();
        this.rtxTimer.arm(this.rto.rto);
        return;
      case 'CLOSED':
      case 'LISTEN':
        return;
      default:
        break;
    }
    const snd = this.snd;
    if (this.persist) {
      this.persist = false;
      if (snd.unsent === 0) return;
      if (this.sndWnd > 0) {
        // A small window: the SWS override sends what fits.
        this.forceSend = true;
        this.output();
        this.forceSend = false;
        return;
      }
      // Zero-window probe (tcp_probe_timer), the timer doubling each time (RFC 9293 §3.8.6.1
      // wants exponential backoff; tcp_probe_timer backs off icsk_backoff the same way). A peer
      // that keeps answering with a zero window is probed for ever; one that answers none of
      // retryLimit() probes is dead (tcp_probe_timer: icsk_probes_out >= tcp_retries2 -> abort).
      if (this.probesOut >= this.retryLimit()) {
        this.finish(
          'CLOSED',
          new NetError('ETIMEDOUT', 'read'),
          `${this.probesOut} window probes unanswered`,
        );
        return;
      }
      this.probesOut++;
      this.persist = true;
      this.rto.backoff();
      this.env.counters.windowProbes++;
      this.sendProbe();
      this.rtxTimer.arm(this.rto.rto);
      return;
    }
    if (snd.flightSize === 0) return;
    if (this.sndWnd === 0) {
      // The peer shut its window under data in flight: the retransmission is a window probe, not a
      // congestion signal, and a live peer must not time out (tcp_retransmit_timer's special case).
      // A peer silent for longer than the largest RTO is gone (the same case's TCP_RTO_MAX test).
      if (now - this.lastRecv > this.rto.maxRto) {
        this.finish('CLOSED', new NetError('ETIMEDOUT', 'read'), 'peer silent under a zero window');
        return;
      }
      // Linux resends a whole MSS here; RFC 9293 §3.8.6.1 lets nothing past SND.UNA + SND.WND go,
      // so the probe carries the single byte at SND.UNA (retransmit() clips it).
      this.rto.backoff();
      this.env.counters.windowProbes++;
      this.retransmit(snd.una, 1);
      this.rtxTimer.arm(this.rto.rto);
      return;
    }
    const limit = this.retryLimit();
    if (++this.retries > limit) {
      this.finish('CLOSED', new NetError('ETIMEDOUT', 'read'), `${limit} retransmissions unanswered`);
      return;
    }
    // RFC 6298 (5.4)-(5.6) and RFC 5681 (4): back off, collapse cwnd, go back to SND.UNA.
    c.timeouts++;
    if (tcpLog.enabled)
      tcpLog(
        '%s retransmission timeout %d: rto %d ms, %d bytes in flight, cwnd %d',
        connName(this),
        this.retries,
        this.rto.rto,
        snd.flightSize,
        Math.floor(this.cc.cwnd),
      );
    // The first timeout of an episode may prove spurious (tcp_enter_loss -> tcp_init_undo).
    if (this.retries === 1) this.startUndo();
    this.cc.onRto(now, snd.flightSize);
    this.rto.backoff();
    this.inRecovery = false;
    this.postRtoRecovery = false;
    this.dupAcks = 0;
    this.recover = snd.max;
    this.rescueRxtSet = false;
    this.rack.tlpOut = false;
    this.tlpTimer.cancel();
    this.rtxq.markAllLost();
    snd.rewind();
    this.output();
    this.rtxTimer.arm(this.rto.rto);
  }

  /**
   * Nothing owed: a timer kept after the ACK left with data. Fired before the deadline of what is
   * owed now (it was armed for an earlier segment): re-armed there.
   * @mirrors tcp_timer.c:tcp_delack_timer_handler
   */
  private onDelackTimer(now: number): void {
    if (this.ackNow) this.sendAck();
    else if (this.ackPending === 0) return;
    else if (now < this.ackDeadline) this.delackTimer.armAt(this.ackDeadline);
    else this.sendAck();
  }

  private onKeepTimer(now: number): void {
    if (!this.keepAlive || this.state === 'CLOSED' || this.state === 'TIME-WAIT') return;
    const idleEnd = this.lastRecv + this.keepIdle;
    if (this.keepProbes === 0 && now < idleEnd) {
      this.keepTimer.armAt(idleEnd);
      return;
    }
    if (this.keepProbes >= this.keepCnt) {
      // tcp_keepalive_timer tells the peer, in case it is alive but unreachable one way.
      this.env.sendSegment(this, this.acceptableSeq(), RST | ACK, 0);
      this.env.counters.outRsts++;
      this.finish(
        'CLOSED',
        new NetError('ETIMEDOUT', 'read'),
        `${this.keepProbes} keepalive probes unanswered`,
      );
      return;
    }
    this.keepProbes++;
    // tcp_write_wakeup with nothing to send: SEG.SEQ = SND.UNA - 1 elicits an ACK.
    this.env.sendSegment(this, seqAdd(this.snd.una, -1), ACK, 0);
    this.keepTimer.arm(this.keepIntvl);
  }

  // ---------------------------------------------------------------- teardown

  /**
   * The socket let go of the connection (close(2) without abort): it finishes its FIN exchange
   * alone, and FIN-WAIT-2 is bounded by finTimeout since no application will ever read the peer's
   * FIN (Linux tcp_fin_timeout for orphans).
   */
  orphan(): void {
    this.user = null;
    this.orphaned = true;
    if (this.state === 'FIN-WAIT-2') this.rtxTimer.arm(this.finTimeout);
  }

  /**
   * Retransmissions (and unanswered window probes) allowed before the connection is given up:
   * tcp_retries2 (maxRetries), or for an orphan tcp_orphan_retries' default: 8 while the RTO still
   * grows ("sent something recently", over 100 s at the 200 ms floor), none once it has reached
   * its ceiling. No application waits on an orphan, and its memory would otherwise be held for
   * the ~15 minutes of tcp_retries2 by a peer that vanished.
   * @mirrors tcp_timer.c:tcp_orphan_retries
   */
  private retryLimit(): number {
    if (!this.orphaned) return this.maxRetries;
    return this.rto.rto < this.rto.maxRto ? Math.min(ORPHAN_RETRIES, this.maxRetries) : 0;
  }

  /** Ends TIME-WAIT early so that a new incarnation of the 4-tuple can start (see Tcp.timeWaitReuse). */
  recycle(): void {
    if (this.state === 'TIME-WAIT') this.finish('CLOSED', null, 'TIME-WAIT reused by a new SYN');
  }

  private enterTimeWait(): void {
    this.setState('TIME-WAIT');
    this.delackTimer.cancel();
    this.keepTimer.cancel();
    this.persist = false;
    this.rtxTimer.arm(2 * this.msl);
    this.notifyUser();
  }

  /**
   * The one place the state changes: a `ptnet:tcp` line per transition ("local-remote OLD -> NEW:
   * why"), never per segment.
   */
  private setState(s: TcpState, why?: string): void {
    if (tcpLog.enabled && s !== this.state)
      tcpLog('%s %s -> %s%s', connName(this), this.state, s, why === undefined ? '' : `: ${why}`);
    this.state = s;
  }

  /** What the handshake settled, for the ESTABLISHED line. */
  private optionSummary(): string {
    if (!tcpLog.enabled) return '';
    const ws = this.wsOk ? ` wscale ${this.sndWscale}/${this.rcvWscale}` : '';
    return `mss ${this.maxPayload}${this.tsOk ? ' ts' : ''}${this.sackOk ? ' sack' : ''}${ws}`;
  }

  /** Moves to a final state, stops timers, tells the user once. */
  private finish(state: 'CLOSED', err: NetError | null, why: string): void {
    if (tcpLog.enabled && this.state !== state) {
      const e = err ?? this.closeErr;
      this.setState(state, e === null ? why : `${why} (${e.code})`);
    }
    this.state = state;
    if (err !== null && this.closeErr === null) this.closeErr = err;
    this.rtxTimer.cancel();
    this.tlpTimer.cancel();
    this.reoTimer.cancel();
    this.delackTimer.cancel();
    this.keepTimer.cancel();
    this.persist = false;
    this.env.detach(this);
    this.notifyUser();
  }

  private notifyUser(): void {
    if (this.userNotified) return;
    this.userNotified = true;
    this.user?.onClose(this.closeErr);
  }

  /** A snapshot in the spirit of Linux struct tcp_info (getsockopt TCP_INFO); times in ms. */
  info(): TcpInfo {
    return {
      state: this.state,
      rto: this.rto.rto,
      srtt: this.rto.srtt,
      rttvar: this.rto.rttvar,
      sndMss: this.maxPayload,
      rcvMss: this.rcvMss,
      sndCwnd: this.cc.cwnd,
      sndSsthresh: this.cc.ssthresh,
      sndWnd: this.sndWnd,
      rcvWnd: this.rcv.window,
      unacked: this.snd.flightSize,
      sacked: this.sackOk ? this.scoreboard.ranges.bytes : 0,
      retransmits: this.retries,
      totalRetrans: this.snd.retransmits,
      backoff: this.rto.backoffs,
      congestion: this.cc.name,
      options: {
        timestamps: this.tsOk,
        sack: this.sackOk,
        wscale: this.wsOk ? [this.sndWscale, this.rcvWscale] : null,
        ecn: this.ecnOk,
      },
    };
  }

  // ---------------------------------------------------------------- snapshot (docs/SNAPSHOT.md)

  /** The options the connection was made with. */
  config(): TcbConfig {
    return {
      sndBuf: this.snd.capacity,
      rcvBuf: this.rcv.capacity,
      congestion: this.cc.name,
      noDelay: this.noDelay,
      minRto: this.rto.minRto,
      maxRto: this.rto.maxRto,
      msl: this.msl,
      finTimeout: this.finTimeout,
      maxRetries: this.maxRetries,
      synRetries: this.synRetries,
      delAck: this.delAck,
      timestamps: this.offerTs,
      windowScaling: this.offerWs,
      sack: this.offerSack,
      ecn: this.ecnMode,
      rack: this.useRack,
    };
  }

  /**
   * The connection's state as a snapshot carries it, as TCP_REPAIR reads it (tcp_repair options,
   * the send and receive queues): sequence space, windows, options, congestion and RTO state,
   * timers as remaining time, both queues. Loss-recovery episode state (SACK scoreboard, RACK,
   * undo, an out-of-order queue, a FIN seen beyond a hole) is left behind: docs/SNAPSHOT.md §4.
   */
  exportState(): TcbState {
    const now = this.now();
    const snd = this.snd;
    const rcv = this.rcv;
    const sndData = new Uint8Array(snd.length);
    if (snd.length > 0) snd.copyOut(snd.una, snd.length, sndData, 0);
    const rcvData = new Uint8Array(rcv.readable);
    rcv.peek(rcvData, 0);
    const left = (t: Timer): number => (t.armed ? Math.max(0, t.deadline - now) : -1);
    const laddr = new Uint8Array(16);
    const raddr = new Uint8Array(16);
    if (this.family === 6) {
      laddr.set(this.laddr6);
      raddr.set(this.raddr6);
    } else {
      set32(laddr, 0, this.laddr);
      set32(raddr, 0, this.raddr);
    }
    // Sequence numbers and TSvals leave in their unsigned form (docs/SNAPSHOT.md).
    return {
      family: this.family,
      laddr,
      raddr,
      lport: this.lport,
      rport: this.rport,
      state: this.state,
      config: this.config(),
      iss: seqU32(this.iss),
      irs: seqU32(this.irs),
      sndUna: seqU32(snd.una),
      sndNxt: seqU32(snd.nxt),
      sndMax: seqU32(snd.max),
      sndWnd: this.sndWnd,
      sndWl1: seqU32(this.sndWl1),
      sndWl2: seqU32(this.sndWl2),
      maxSndWnd: this.maxSndWnd,
      sndSml: seqU32(this.sndSml),
      rcvNxt: seqU32(rcv.rcvNxt),
      rcvAdvEdge: seqU32(this.rcvAdvEdge),
      lastAckSent: seqU32(this.lastAckSent),
      sendMss: this.sendMss,
      rcvMss: this.rcvMss,
      wsOk: this.wsOk,
      sndWscale: this.sndWscale,
      rcvWscale: this.rcvWscale,
      tsOk: this.tsOk,
      tsNow: seqU32(this.tsVal()),
      tsRecent: seqU32(this.ts.recent),
      tsRecentAge: this.ts.recentAge < 0 ? -1 : Math.max(0, now - this.ts.recentAge),
      sackOk: this.sackOk,
      ecnOk: this.ecnOk,
      ecnEcho: this.ecnEcho,
      cwrPending: this.cwrPending,
      ecnRecover: seqU32(this.ecnRecover),
      cc: this.cc.exportState(now),
      rto: this.rto.exportState(),
      recover: seqU32(this.recover),
      retries: this.retries,
      probesOut: this.probesOut,
      persist: this.persist,
      finQueued: this.finQueued,
      finSent: this.finSent,
      finSeq: seqU32(this.finSeq),
      rcvFin: this.rcvFin,
      keepAlive: this.keepAlive,
      keepIdle: this.keepIdle,
      keepIntvl: this.keepIntvl,
      keepCnt: this.keepCnt,
      keepProbes: this.keepProbes,
      lastRecvAge: Math.max(0, now - this.lastRecv),
      rtxTimer: left(this.rtxTimer),
      // Armed and owing an ACK: due at ackDeadline (a kept timer may be aimed earlier).
      delackTimer: this.ackPending > 0 && this.delackTimer.armed ? Math.max(0, this.ackDeadline - now) : -1,
      keepTimer: left(this.keepTimer),
      sndData,
      rcvData,
    };
  }

  /**
   * Takes a validated snapshot state into this fresh connection (made with `s.config`, addresses
   * and ports already set by the TCP layer), as TCP_REPAIR writes a socket back: the queues
   * refilled, the TS clock continued from `s.tsNow`, timers re-armed with their remaining time.
   * The bytes in flight form one record sent now; SACK and RACK start afresh.
   */
  importState(s: TcbState): void {
    const now = this.now();
    if (tcpLog.enabled) tcpLog('%s restored from a snapshot in %s', connName(this), s.state);
    this.state = s.state;
    // Sequence numbers and TSvals come in unsigned: into the stack's form (seq.ts).
    this.iss = seqOf(s.iss);
    this.irs = seqOf(s.irs);
    this.sndSml = seqOf(s.sndSml);
    const una = seqOf(s.sndUna);
    const snd = this.snd;
    snd.init(una);
    snd.write(s.sndData, 0, s.sndData.length);
    snd.max = seqOf(s.sndMax);
    snd.nxt = seqOf(s.sndNxt);
    const flight = seqDiff(s.sndMax, una);
    this.rtxq.reset(una);
    this.rtxq.sent(una, flight, now);
    this.rack.reset(una);
    const rcv = this.rcv;
    const readSeq = seqAdd(s.rcvNxt, -s.rcvData.length);
    rcv.init(readSeq);
    rcv.write(readSeq, s.rcvData, 0, s.rcvData.length);
    this.rcvAdvEdge = seqOf(s.rcvAdvEdge);
    this.lastAckSent = seqOf(s.lastAckSent);
    this.sndWnd = s.sndWnd;
    this.sndWl1 = seqOf(s.sndWl1);
    this.sndWl2 = seqOf(s.sndWl2);
    this.maxSndWnd = s.maxSndWnd;
    // Not in the snapshot: taken as at least a window, so the RFC 5961 §5.2 bound is MAX.SND.WND.
    this.bytesAcked = s.maxSndWnd;
    this.sendMss = s.sendMss;
    this.rcvMss = s.rcvMss;
    this.wsOk = s.wsOk;
    this.sndWscale = s.sndWscale;
    this.rcvWscale = s.rcvWscale;
    this.tsOk = s.tsOk;
    // The TS clock goes on from where it stood: the peer's PAWS never sees it go back.
    this.tsOffset = (s.tsNow - Math.floor(now)) | 0;
    this.ts.recent = seqOf(s.tsRecent);
    this.ts.recentAge = s.tsRecentAge < 0 ? -1 : now - s.tsRecentAge;
    this.sackOk = s.sackOk;
    this.ecnOk = s.ecnOk;
    this.ecnEcho = s.ecnEcho;
    this.cwrPending = s.cwrPending;
    this.ecnRecover = seqOf(s.ecnRecover);
    this.cc = createCongestionControl(s.config.congestion, this.maxPayload);
    this.cc.importState(s.cc, now);
    this.rto.importState(s.rto);
    this.recover = seqOf(s.recover);
    this.retries = s.retries;
    this.probesOut = s.probesOut;
    this.persist = s.persist;
    this.finQueued = s.finQueued;
    this.finSent = s.finSent;
    this.finSeq = seqOf(s.finSeq);
    this.rcvFin = s.rcvFin;
    this.rcvFinSeen = s.rcvFin;
    this.rcvFinSeq = s.rcvFin ? seqOf(s.rcvNxt) : 0;
    this.keepAlive = s.keepAlive;
    this.keepIdle = s.keepIdle;
    this.keepIntvl = s.keepIntvl;
    this.keepCnt = s.keepCnt;
    this.keepProbes = s.keepProbes;
    this.lastRecv = now - s.lastRecvAge;
    if (s.rtxTimer >= 0) this.rtxTimer.arm(s.rtxTimer);
    else if (flight > 0 || this.persist) this.rtxTimer.arm(this.rto.rto);
    if (s.delackTimer >= 0) this.delackTimer.arm(s.delackTimer);
    if (s.keepTimer >= 0) this.keepTimer.arm(s.keepTimer);
  }

  /**
   * After a restore: a window probe (SEG.SEQ = SND.UNA - 1) that the peer answers with an ACK
   * carrying its RCV.NXT and window, as the kernel sends when a socket leaves repair mode
   * (tcp_send_window_probe).
   * @mirrors tcp_output.c:tcp_send_window_probe
   */
  probeAfterRestore(): void {
    if (this.state === 'TIME-WAIT') return;
    this.sendProbe();
  }

  /** The node-style code the connection failed with, if any. */
  get errorCode(): NetErrorCode | null {
    return this.closeErr?.code ?? null;
  }
}
