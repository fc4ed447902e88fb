// The state of one connection as a stack snapshot carries it (docs/SNAPSHOT.md): what Linux's
// TCP_REPAIR lets CRIU read and write back (sequence numbers, windows, negotiated options, the
// queues), plus what this stack keeps beside it (congestion and RTO estimator state, timers as
// remaining time). Plain data only: tcb.ts exports and imports it, the codec validates it.
import type { CcState, CongestionAlgorithm } from './cc.ts';
import type { RtoState } from './rto.ts';
import type { TcpState } from './state.ts';

/** The per-connection settings a connection was made with (TcbOptions, defaults resolved). */
export interface TcbConfig {
  sndBuf: number;
  rcvBuf: number;
  congestion: CongestionAlgorithm;
  noDelay: boolean;
  minRto: number;
  maxRto: number;
  msl: number;
  finTimeout: number;
  maxRetries: number;
  synRetries: number;
  delAck: number;
  timestamps: boolean;
  windowScaling: boolean;
  sack: boolean;
  ecn: 0 | 1 | 2;
  rack: boolean;
}

/** Connection states a snapshot carries: the synchronized ones (RFC 9293 §3.3.2). */
export const SNAPSHOT_TCP_STATES: readonly TcpState[] = [
  'ESTABLISHED',
  'FIN-WAIT-1',
  'FIN-WAIT-2',
  'CLOSE-WAIT',
  'CLOSING',
  'LAST-ACK',
  'TIME-WAIT',
];

export interface TcbState {
  family: 4 | 6;
  /** Addresses as 16 bytes (IPv4 in the first four). */
  laddr: Uint8Array;
  raddr: Uint8Array;
  lport: number;
  rport: number;
  state: TcpState;
  config: TcbConfig;
  iss: number;
  irs: number;
  /** SND.UNA, SND.NXT, SND.MAX (highest sent + 1), SND.WND (scaled), SND.WL1, SND.WL2, MAX.SND.WND. */
  sndUna: number;
  sndNxt: number;
  sndMax: number;
  sndWnd: number;
  sndWl1: number;
  sndWl2: number;
  maxSndWnd: number;
  /** End of the last sub-MSS segment (Minshall's Nagle). */
  sndSml: number;
  /** RCV.NXT without the peer's FIN, the right edge last advertised, the ACK field last sent. */
  rcvNxt: number;
  rcvAdvEdge: number;
  lastAckSent: number;
  sendMss: number;
  rcvMss: number;
  wsOk: boolean;
  sndWscale: number;
  rcvWscale: number;
  tsOk: boolean;
  /** TSval of a segment sent at the capture (the TS clock), TS.Recent and its age in ms (-1: none). */
  tsNow: number;
  tsRecent: number;
  tsRecentAge: number;
  sackOk: boolean;
  ecnOk: boolean;
  ecnEcho: boolean;
  cwrPending: boolean;
  ecnRecover: number;
  cc: CcState;
  rto: RtoState;
  /** RFC 6582 `recover`. */
  recover: number;
  retries: number;
  probesOut: number;
  persist: boolean;
  finQueued: boolean;
  finSent: boolean;
  finSeq: number;
  /** The peer's FIN was received (it sits at rcvNxt). */
  rcvFin: boolean;
  keepAlive: boolean;
  keepIdle: number;
  keepIntvl: number;
  keepCnt: number;
  keepProbes: number;
  /** ms since the last acceptable segment. */
  lastRecvAge: number;
  /** Remaining time of the retransmission (or persist / 2 MSL / FIN-WAIT-2), delayed-ACK and keepalive timers, ms; -1 when not armed. */
  rtxTimer: number;
  delackTimer: number;
  keepTimer: number;
  /** The send queue [SND.UNA, SND.UNA + length): unacknowledged, then unsent bytes. */
  sndData: Uint8Array;
  /** In-order received bytes the application has not read: [rcvNxt - length, rcvNxt). */
  rcvData: Uint8Array;
}
