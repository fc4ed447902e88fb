// TCP connection states (RFC 9293 §3.3.2) and the per-stack counters every drop is charged to
// (named after the kernel's LINUX_MIB_* / TCP_MIB_* counters where one exists).

export type TcpState =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN-SENT'
  | 'SYN-RECEIVED'
  | 'ESTABLISHED'
  | 'FIN-WAIT-1'
  | 'FIN-WAIT-2'
  | 'CLOSE-WAIT'
  | 'CLOSING'
  | 'LAST-ACK'
  | 'TIME-WAIT';

export class TcpCounters {
  /** Segments received / sent (TCP_MIB_INSEGS / OUTSEGS). */
  inSegs = 0;
  outSegs = 0;
  /** Segments carrying retransmitted data (TCP_MIB_RETRANSSEGS). */
  retransSegs = 0;
  /** Malformed headers (TCP_MIB_INERRS); a malformed option list is badOptions, not a drop. */
  inErrs = 0;
  /**
   * Segments whose option list was malformed (a length below 2 or past the header): accepted with
   * the options before the fault, as tcp_parse_options() does.
   */
  badOptions = 0;
  /** Bad checksum (TCP_MIB_CSUMERRORS). */
  csumErrors = 0;
  /** RSTs sent (TCP_MIB_OUTRSTS). */
  outRsts = 0;
  /** Segments to a port with no listener or connection. */
  noPort = 0;
  /** Segments outside the receive window (LINUX_MIB_TCPOFODROP-like "not acceptable"). */
  outOfWindow = 0;
  /** PAWS rejections (LINUX_MIB_PAWSESTABREJECTED). */
  pawsRejected = 0;
  /** RFC 5961 challenge ACKs sent (LINUX_MIB_TCPCHALLENGEACK) and those suppressed by the rate limit. */
  challengeAcks = 0;
  challengeAckLimited = 0;
  /** ACKs for data never sent (LINUX_MIB_TCPACKSKIPPEDSEQ-like). */
  ackTooNew = 0;
  /** ACKs older than SND.UNA - MAX.SND.WND (RFC 5961 §5.2). */
  ackTooOld = 0;
  /** Out-of-order segments dropped because the reassembly map was full (LINUX_MIB_TCPOFODROP). */
  oooDrops = 0;
  /** SYNs dropped because the listen queue was full (LINUX_MIB_LISTENDROPS). */
  listenDrops = 0;
  /**
   * SYN cookies sent, ACKs that completed one, ACKs to a cookie-sending listener that held none
   * (LINUX_MIB_SYNCOOKIESSENT / SYNCOOKIESRECV / SYNCOOKIESFAILED).
   */
  syncookiesSent = 0;
  syncookiesRecv = 0;
  syncookiesFailed = 0;
  /** Fast retransmits, SACK-based recoveries and RTO expiries (TCPFastRetrans, TCPSackRecovery, TCPTimeouts). */
  fastRetrans = 0;
  sackRecovery = 0;
  renoRecovery = 0;
  /**
   * RFC 8985 tail loss probes sent, and those whose ACK showed they repaired a loss
   * (LINUX_MIB_TCPLOSSPROBES / TCPLOSSPROBERECOVERY).
   */
  tlpProbes = 0;
  tlpRecoveries = 0;
  /**
   * RFC 2883 D-SACK blocks sent for duplicate data, D-SACKs received, and cwnd reductions undone
   * because every retransmission of the episode proved spurious (D-SACK or the RFC 3522 timestamp
   * test) (LINUX_MIB_TCPDSACKOLDSENT+OFOSENT, TCPDSACKRECV, TCPDSACKUNDO + TCPSPURIOUSRTOS).
   */
  dsacksSent = 0;
  dsacksRecv = 0;
  spuriousUndos = 0;
  /**
   * RFC 3168: segments received CE-marked, and cwnd reductions made for an ECE
   * (LINUX_MIB_TCPDELIVEREDCE-like, and the tcp_enter_cwr calls an ECE causes).
   */
  ecnCeRecv = 0;
  ecnCwr = 0;
  /** RFC 6675 rescue retransmissions (NextSeg rule 4). */
  rescueRetransmits = 0;
  /** Retransmissions found lost after an RTO and resent without waiting for another RTO. */
  lostRetransmits = 0;
  timeouts = 0;
  /** ICMP errors quoting a sequence number outside [SND.UNA, SND.MAX) (LINUX_MIB_OUTOFWINDOWICMPS). */
  icmpOutOfWindow = 0;
  /** Zero-window probes sent by the persist timer (LINUX_MIB_TCPWINPROBE). */
  windowProbes = 0;
  /** Segments that could not be sent because no mbuf was free. */
  noBuffers = 0;
  /**
   * Connections opened actively / passively (TCP_MIB_ACTIVEOPENS, PASSIVEOPENS); synchronized
   * connections reset by a RST received or by our abort (TCP_MIB_ESTABRESETS; an RST answering a
   * segment for no connection is only in outRsts); connection attempts that failed.
   */
  activeOpens = 0;
  passiveOpens = 0;
  estabResets = 0;
  attemptFails = 0;
}
