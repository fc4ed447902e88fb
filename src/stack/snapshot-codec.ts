// The binary form of a StackSnapshot (docs/SNAPSHOT.md): network byte order, a 16-byte header
// (magic, version, section count, total length), a section table, the sections, and a CRC-32 over
// everything before it. decodeSnapshot validates every field into a plain StackSnapshot and throws
// a SnapshotError at the first fault; it never reads past the input and applies nothing.
import { crc32 } from '../checksum/index.ts';
import { get16, get32, getF64Be, parseIpv4, parseIpv6, set16, set32, setF64Be } from '../wire/index.ts';
import { SnapshotError } from './errors.ts';
import {
  SNAPSHOT_VERSION,
  type ConnSnapshot,
  type ListenerSnapshot,
  type NeighbourSnapshot,
  type StackSnapshot,
} from './snapshot.ts';
import type { SocketState } from './socket.ts';
import { seqAdd, seqDiff, seqEq } from './tcp/seq.ts';
import type { TcpState } from './tcp/state.ts';
import { SNAPSHOT_TCP_STATES, type TcbConfig, type TcbState } from './tcp/tcb-state.ts';
import type { UdpSocketState } from './udp.ts';

/** "PTNS". */
export const SNAPSHOT_MAGIC = 0x50544e53;
const HEADER_LEN = 16;
const ENTRY_LEN = 12;
const CRC_LEN = 4;

export const SECTION_IFACE = 1;
export const SECTION_TCP = 2;
export const SECTION_LISTEN = 3;
export const SECTION_UDP = 4;
export const SECTION_NEIGH = 5;
const SECTIONS = [SECTION_IFACE, SECTION_TCP, SECTION_LISTEN, SECTION_UDP, SECTION_NEIGH];

/** Largest send or receive buffer a snapshot may ask for (a hostile one could ask for 4 GiB). */
export const SNAPSHOT_MAX_BUFFER = 64 * 1024 * 1024;
/** Largest sum of the send and receive buffers of all connections (what a restore allocates). */
export const SNAPSHOT_MAX_TOTAL_BUFFERS = 1024 * 1024 * 1024;
/** Largest application queue (bytes a socket's streams held) per socket. */
export const SNAPSHOT_MAX_APP_QUEUE = 256 * 1024 * 1024;
/** Largest time a snapshot may carry (timers, ages): 30 days in ms. */
const MAX_MS = 30 * 24 * 3600 * 1000;
/** The largest scaled window (65535 << 14). */
const MAX_WND = 0xffff * 2 ** 14;

// Connection flags (u16).
const F_WS = 1;
const F_TS = 2;
const F_SACK = 4;
const F_ECN = 8;
const F_ECN_ECHO = 16;
const F_CWR = 32;
const F_PERSIST = 64;
const F_FIN_QUEUED = 128;
const F_FIN_SENT = 256;
const F_RCV_FIN = 512;
const F_KEEPALIVE = 1024;
const F_SOCKET = 2048;
const F_ALL = 4095;
// Config flags (u8).
const C_NODELAY = 1;
const C_TS = 2;
const C_WS = 4;
const C_SACK = 8;
const C_RACK = 16;
const C_ALL = 31;

// ------------------------------------------------------------------ writing

class Writer {
  buf = new Uint8Array(4096);
  len = 0;

  private room(n: number): number {
    if (this.len + n > this.buf.length) {
      const b = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
      b.set(this.buf.subarray(0, this.len));
      this.buf = b;
    }
    const o = this.len;
    this.len += n;
    return o;
  }
  // room() may replace buf: it runs before buf is read.
  u8(v: number): void {
    const o = this.room(1);
    this.buf[o] = v;
  }
  u16(v: number): void {
    const o = this.room(2);
    set16(this.buf, o, v);
  }
  u32(v: number): void {
    const o = this.room(4);
    set32(this.buf, o, v >>> 0);
  }
  f64(v: number): void {
    const o = this.room(8);
    setF64Be(this.buf, o, v);
  }
  raw(b: Uint8Array): void {
    const o = this.room(b.length);
    this.buf.set(b, o);
  }
  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.raw(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u8(b.length);
    this.raw(b);
  }
  /** Reserves a u32 to be filled with the length of what follows (patch). */
  mark(): number {
    return this.room(4);
  }
  patch(at: number): void {
    set32(this.buf, at, this.len - at - 4);
  }
}

function writeConfig(w: Writer, c: TcbConfig): void {
  w.u32(c.sndBuf);
  w.u32(c.rcvBuf);
  w.u8(c.congestion === 'cubic' ? 1 : 0);
  w.u8(
    (c.noDelay ? C_NODELAY : 0) |
      (c.timestamps ? C_TS : 0) |
      (c.windowScaling ? C_WS : 0) |
      (c.sack ? C_SACK : 0) |
      (c.rack ? C_RACK : 0),
  );
  w.u8(c.ecn);
  w.f64(c.minRto);
  w.f64(c.maxRto);
  w.f64(c.msl);
  w.f64(c.finTimeout);
  w.u16(c.maxRetries);
  w.u16(c.synRetries);
  w.f64(c.delAck);
}

function writeConn(w: Writer, c: ConnSnapshot): void {
  const t = c.tcb;
  const at = w.mark();
  w.u8(t.family);
  w.u8(SNAPSHOT_TCP_STATES.indexOf(t.state));
  w.u16(
    (t.wsOk ? F_WS : 0) |
      (t.tsOk ? F_TS : 0) |
      (t.sackOk ? F_SACK : 0) |
      (t.ecnOk ? F_ECN : 0) |
      (t.ecnEcho ? F_ECN_ECHO : 0) |
      (t.cwrPending ? F_CWR : 0) |
      (t.persist ? F_PERSIST : 0) |
      (t.finQueued ? F_FIN_QUEUED : 0) |
      (t.finSent ? F_FIN_SENT : 0) |
      (t.rcvFin ? F_RCV_FIN : 0) |
      (t.keepAlive ? F_KEEPALIVE : 0) |
      (c.socket !== null ? F_SOCKET : 0),
  );
  w.raw(t.laddr);
  w.raw(t.raddr);
  w.u16(t.lport);
  w.u16(t.rport);
  writeConfig(w, t.config);
  for (const v of [t.iss, t.irs, t.sndUna, t.sndNxt, t.sndMax, t.sndWnd, t.sndWl1, t.sndWl2, t.maxSndWnd])
    w.u32(v);
  for (const v of [t.sndSml, t.rcvNxt, t.rcvAdvEdge, t.lastAckSent]) w.u32(v);
  w.u16(t.sendMss);
  w.u16(t.rcvMss);
  w.u8(t.sndWscale);
  w.u8(t.rcvWscale);
  w.u32(t.tsNow);
  w.u32(t.tsRecent);
  w.f64(t.tsRecentAge);
  w.u32(t.ecnRecover);
  const cc = t.cc;
  for (const v of [cc.cwnd, cc.ssthresh, cc.wMax, cc.k, cc.wEst, cc.epochAge, cc.bytesAcked]) w.f64(v);
  const r = t.rto;
  for (const v of [r.srtt, r.rttvar, r.baseRto]) w.f64(v);
  w.u8(r.backoffs);
  w.u32(r.samples);
  w.u32(t.recover);
  w.u16(t.retries);
  w.u16(t.probesOut);
  w.u32(t.finSeq);
  w.f64(t.keepIdle);
  w.f64(t.keepIntvl);
  w.u16(t.keepCnt);
  w.u16(t.keepProbes);
  for (const v of [t.lastRecvAge, t.rtxTimer, t.delackTimer, t.keepTimer]) w.f64(v);
  w.bytes(t.sndData);
  w.bytes(t.rcvData);
  const s = c.socket;
  if (s !== null) {
    w.u8((s.allowHalfOpen ? 1 : 0) | (s.ended ? 2 : 0));
    w.bytes(s.appTx);
    w.bytes(s.appRx);
  }
  w.patch(at);
}

function writeListener(w: Writer, l: ListenerSnapshot): void {
  w.u16(l.port);
  w.u16(l.backlog);
  w.u8((l.v4 ? 1 : 0) | (l.v6 ? 2 : 0) | (l.allowHalfOpen ? 4 : 0));
  writeConfig(w, l.config);
}

function writeUdp(w: Writer, u: UdpSocketState): void {
  w.u8((u.type === 'udp6' ? 1 : 0) | (u.broadcast ? 2 : 0));
  w.u16(u.port);
  w.str(u.address);
  w.u16(u.peerPort);
  w.str(u.peerAddress);
}

/** The snapshot's bytes (the inverse of decodeSnapshot for any snapshot it returns). */
export function encodeSnapshot(s: StackSnapshot): Uint8Array {
  const w = new Writer();
  const n = SECTIONS.length;
  w.u32(SNAPSHOT_MAGIC);
  w.u16(SNAPSHOT_VERSION);
  w.u16(n);
  const totalAt = w.mark();
  w.u32(0);
  const table = w.len;
  for (let i = 0; i < n * ENTRY_LEN; i++) w.u8(0);
  const sections: ((w: Writer) => void)[] = [
    (w) => {
      w.raw(s.mac);
      w.u16(s.mtu);
      w.f64(s.capturedAt);
      w.u16(s.ipIdent);
    },
    (w) => {
      w.u32(s.connections.length);
      for (const c of s.connections) writeConn(w, c);
    },
    (w) => {
      w.u32(s.listeners.length);
      for (const l of s.listeners) writeListener(w, l);
    },
    (w) => {
      w.u32(s.udp.length);
      for (const u of s.udp) writeUdp(w, u);
    },
    (w) => {
      w.u32(s.neighbours.length);
      for (const nb of s.neighbours) {
        w.u8(nb.family);
        w.raw(nb.addr);
        w.raw(nb.mac);
      }
    },
  ];
  for (let i = 0; i < n; i++) {
    const start = w.len;
    sections[i]!(w);
    const e = table + i * ENTRY_LEN;
    set16(w.buf, e, SECTIONS[i]!);
    set32(w.buf, e + 4, start);
    set32(w.buf, e + 8, w.len - start);
  }
  set32(w.buf, totalAt, w.len + CRC_LEN);
  const out = new Uint8Array(w.len + CRC_LEN);
  out.set(w.buf.subarray(0, w.len));
  set32(out, w.len, crc32(out.subarray(0, w.len)));
  return out;
}

// ------------------------------------------------------------------ reading

/**
 * Bounds-checked reads over b[pos, end), a section or a record: running out means its length was
 * wrong (BAD_LENGTH; a short input as a whole was refused as TRUNCATED before any section is read).
 */
class Reader {
  constructor(
    readonly b: Uint8Array,
    public pos: number,
    readonly end: number,
    private readonly what: string,
  ) {}

  need(n: number): number {
    if (n > this.end - this.pos) throw new SnapshotError('BAD_LENGTH', `${this.what} ends early`, this.pos);
    const o = this.pos;
    this.pos += n;
    return o;
  }
  u8(): number {
    return this.b[this.need(1)]!;
  }
  u16(): number {
    return get16(this.b, this.need(2));
  }
  u32(): number {
    return get32(this.b, this.need(4));
  }
  f64(): number {
    return getF64Be(this.b, this.need(8));
  }
  raw(n: number): Uint8Array {
    const o = this.need(n);
    return this.b.slice(o, o + n);
  }
  bytes(max: number, what: string): Uint8Array {
    const at = this.pos;
    const n = this.u32();
    if (n > max) throw new SnapshotError('BAD_LENGTH', `${what}: ${n} bytes, at most ${max}`, at);
    return this.raw(n);
  }
  str(what: string): string {
    const n = this.u8();
    const at = this.pos;
    const b = this.raw(n);
    const s = Buffer.from(b).toString('utf8');
    if (!Buffer.from(s, 'utf8').equals(b)) throw new SnapshotError('BAD_FIELD', `${what} is not UTF-8`, at);
    return s;
  }
  /** The section or record must be used up exactly. */
  done(): void {
    if (this.pos !== this.end)
      throw new SnapshotError(
        'BAD_LENGTH',
        `${this.end - this.pos} bytes left over in ${this.what}`,
        this.pos,
      );
  }
}

function field(ok: boolean, what: string, r: Reader): void {
  if (!ok) throw new SnapshotError('BAD_FIELD', what, r.pos);
}

/** A finite number in [lo, hi]. */
function num(r: Reader, v: number, lo: number, hi: number, what: string): number {
  field(Number.isFinite(v) && v >= lo && v <= hi, `${what} ${v} outside [${lo}, ${hi}]`, r);
  return v;
}

/** A time in ms, or -1 for "none". */
function msOrNone(r: Reader, what: string): number {
  const v = r.f64();
  return v === -1 ? -1 : num(r, v, 0, MAX_MS, what);
}

function readConfig(r: Reader): TcbConfig {
  const sndBuf = num(r, r.u32(), 1, SNAPSHOT_MAX_BUFFER, 'sndBuf');
  const rcvBuf = num(r, r.u32(), 1, SNAPSHOT_MAX_BUFFER, 'rcvBuf');
  const cc = r.u8();
  field(cc <= 1, `congestion algorithm ${cc}`, r);
  const f = r.u8();
  field((f & ~C_ALL) === 0, `config flags ${f}`, r);
  const ecn = r.u8();
  field(ecn <= 2, `ecn mode ${ecn}`, r);
  const minRto = num(r, r.f64(), 1, MAX_MS, 'minRto');
  const maxRto = num(r, r.f64(), minRto, MAX_MS, 'maxRto');
  return {
    sndBuf,
    rcvBuf,
    congestion: cc === 1 ? 'cubic' : 'newreno',
    noDelay: (f & C_NODELAY) !== 0,
    timestamps: (f & C_TS) !== 0,
    windowScaling: (f & C_WS) !== 0,
    sack: (f & C_SACK) !== 0,
    rack: (f & C_RACK) !== 0,
    ecn: ecn as 0 | 1 | 2,
    minRto,
    maxRto,
    msl: num(r, r.f64(), 0, MAX_MS, 'msl'),
    finTimeout: num(r, r.f64(), 0, MAX_MS, 'finTimeout'),
    maxRetries: r.u16(),
    synRetries: r.u16(),
    delAck: num(r, r.f64(), 0, MAX_MS, 'delAck'),
  };
}

function port(r: Reader, v: number, what: string): number {
  field(v >= 1 && v <= 65535, `${what} ${v}`, r);
  return v;
}

function addr16(r: Reader, family: 4 | 6, what: string): Uint8Array {
  const at = r.pos;
  const a = r.raw(16);
  if (family === 4) {
    for (let i = 4; i < 16; i++)
      if (a[i] !== 0) throw new SnapshotError('BAD_ADDRESS', `${what}: IPv4 with bytes past the fourth`, at);
    if (a[0] === 0 || a[0]! >= 224) throw new SnapshotError('BAD_ADDRESS', `${what}: not unicast`, at);
  } else if (a[0] === 0xff || a.every((x) => x === 0)) {
    throw new SnapshotError('BAD_ADDRESS', `${what}: not unicast`, at);
  }
  return a;
}

/** Which FIN flags each carried state implies (ours sent, the peer's received). */
const FIN_RULES: Record<string, [boolean, boolean]> = {
  ESTABLISHED: [false, false],
  'FIN-WAIT-1': [true, false],
  'FIN-WAIT-2': [true, false],
  'CLOSE-WAIT': [false, true],
  CLOSING: [true, true],
  'LAST-ACK': [true, true],
  'TIME-WAIT': [true, true],
};

function readConn(r0: Reader): ConnSnapshot {
  const start = r0.pos;
  const len = r0.u32();
  if (len > r0.end - r0.pos)
    throw new SnapshotError('BAD_LENGTH', `connection record of ${len} bytes past its section`, start);
  const r = new Reader(r0.b, r0.pos, r0.pos + len, 'a connection record');
  r0.pos += len;
  const family = r.u8();
  field(family === 4 || family === 6, `family ${family}`, r);
  const fam = family as 4 | 6;
  const si = r.u8();
  if (si >= SNAPSHOT_TCP_STATES.length)
    throw new SnapshotError('BAD_STATE', `state ${si} is not carried`, r.pos);
  const state = SNAPSHOT_TCP_STATES[si] as TcpState;
  const f = r.u16();
  field((f & ~F_ALL) === 0, `connection flags ${f}`, r);
  const laddr = addr16(r, fam, 'local address');
  const raddr = addr16(r, fam, 'remote address');
  const lport = port(r, r.u16(), 'local port');
  const rport = port(r, r.u16(), 'remote port');
  const config = readConfig(r);
  const [iss, irs, sndUna, sndNxt, sndMax] = [r.u32(), r.u32(), r.u32(), r.u32(), r.u32()];
  const sndWnd = num(r, r.u32(), 0, MAX_WND, 'SND.WND');
  const [sndWl1, sndWl2] = [r.u32(), r.u32()];
  const maxSndWnd = num(r, r.u32(), 0, MAX_WND, 'MAX.SND.WND');
  const [sndSml, rcvNxt, rcvAdvEdge, lastAckSent] = [r.u32(), r.u32(), r.u32(), r.u32()];
  const sendMss = num(r, r.u16(), 48, 65535, 'send MSS');
  const rcvMss = num(r, r.u16(), 48, 65535, 'receive MSS');
  const sndWscale = num(r, r.u8(), 0, 14, 'send window scale');
  const rcvWscale = num(r, r.u8(), 0, 14, 'receive window scale');
  const tsNow = r.u32();
  const tsRecent = r.u32();
  const tsRecentAge = msOrNone(r, 'TS.Recent age');
  const ecnRecover = r.u32();
  const cwnd = num(r, r.f64(), 1, 2 ** 40, 'cwnd');
  const ssthreshRaw = r.f64();
  const ssthresh = ssthreshRaw === Infinity ? Infinity : num(r, ssthreshRaw, 1, 2 ** 40, 'ssthresh');
  const cc = {
    cwnd,
    ssthresh,
    wMax: num(r, r.f64(), 0, 2 ** 40, 'W_max'),
    k: num(r, r.f64(), 0, 2 ** 40, 'K'),
    wEst: num(r, r.f64(), 0, 2 ** 40, 'W_est'),
    epochAge: msOrNone(r, 'CUBIC epoch age'),
    bytesAcked: num(r, r.f64(), 0, 2 ** 40, 'bytes acked'),
  };
  const rto = {
    srtt: num(r, r.f64(), 0, MAX_MS, 'SRTT'),
    rttvar: num(r, r.f64(), 0, MAX_MS, 'RTTVAR'),
    baseRto: num(r, r.f64(), 0, MAX_MS, 'RTO'),
    backoffs: num(r, r.u8(), 0, 64, 'backoffs'),
    samples: r.u32(),
  };
  const recover = r.u32();
  const retries = r.u16();
  const probesOut = r.u16();
  const finSeq = r.u32();
  const keepIdle = num(r, r.f64(), 1, MAX_MS, 'keepalive idle');
  const keepIntvl = num(r, r.f64(), 1, MAX_MS, 'keepalive interval');
  const keepCnt = r.u16();
  const keepProbes = r.u16();
  const lastRecvAge = num(r, r.f64(), 0, MAX_MS, 'last receive age');
  const rtxTimer = msOrNone(r, 'retransmission timer');
  const delackTimer = msOrNone(r, 'delayed-ACK timer');
  const keepTimer = msOrNone(r, 'keepalive timer');
  const sndData = r.bytes(config.sndBuf, 'send queue');
  const rcvData = r.bytes(config.rcvBuf, 'receive queue');
  let socket: SocketState | null = null;
  if ((f & F_SOCKET) !== 0) {
    const sf = r.u8();
    field((sf & ~3) === 0, `socket flags ${sf}`, r);
    socket = {
      allowHalfOpen: (sf & 1) !== 0,
      ended: (sf & 2) !== 0,
      appTx: r.bytes(SNAPSHOT_MAX_APP_QUEUE, 'application send queue'),
      appRx: r.bytes(SNAPSHOT_MAX_APP_QUEUE, 'application receive queue'),
    };
  }
  r.done();
  const tcb: TcbState = {
    family: fam,
    laddr,
    raddr,
    lport,
    rport,
    state,
    config,
    iss,
    irs,
    sndUna,
    sndNxt,
    sndMax,
    sndWnd,
    sndWl1,
    sndWl2,
    maxSndWnd,
    sndSml,
    rcvNxt,
    rcvAdvEdge,
    lastAckSent,
    sendMss,
    rcvMss,
    wsOk: (f & F_WS) !== 0,
    sndWscale,
    rcvWscale,
    tsOk: (f & F_TS) !== 0,
    tsNow,
    tsRecent,
    tsRecentAge,
    sackOk: (f & F_SACK) !== 0,
    ecnOk: (f & F_ECN) !== 0,
    ecnEcho: (f & F_ECN_ECHO) !== 0,
    cwrPending: (f & F_CWR) !== 0,
    ecnRecover,
    cc,
    rto,
    recover,
    retries,
    probesOut,
    persist: (f & F_PERSIST) !== 0,
    finQueued: (f & F_FIN_QUEUED) !== 0,
    finSent: (f & F_FIN_SENT) !== 0,
    finSeq,
    rcvFin: (f & F_RCV_FIN) !== 0,
    keepAlive: (f & F_KEEPALIVE) !== 0,
    keepIdle,
    keepIntvl,
    keepCnt,
    keepProbes,
    lastRecvAge,
    rtxTimer,
    delackTimer,
    keepTimer,
    sndData,
    rcvData,
  };
  checkConn(tcb, start);
  return { tcb, socket };
}

/** The rules between a connection's fields (docs/SNAPSHOT.md §5). */
function checkConn(t: TcbState, at: number): void {
  const [finSent, rcvFin] = FIN_RULES[t.state]!;
  if (t.finSent !== finSent || t.rcvFin !== rcvFin || (t.finSent && !t.finQueued))
    throw new SnapshotError('BAD_STATE', `${t.state} with these FIN flags`, at);
  const len = t.sndData.length;
  const flight = seqDiff(t.sndMax, t.sndUna);
  // Sequence space held: the queue, and our FIN once sent and not yet acknowledged.
  // The snapshot's numbers are unsigned and seqAdd's signed (tcp/seq.ts): compared as sequence numbers.
  const finOut = t.finSent && seqEq(seqAdd(t.sndUna, len), t.finSeq);
  const finAcked = t.finSent && len === 0 && seqEq(t.sndUna, seqAdd(t.finSeq, 1));
  if (t.finSent && !finOut && !finAcked)
    throw new SnapshotError('BAD_SEQ', 'FIN sequence is not at the end of the send queue', at);
  if (flight < 0 || flight > len + (finOut ? 1 : 0))
    throw new SnapshotError('BAD_SEQ', 'SND.MAX outside [SND.UNA, end of the queue]', at);
  const nxt = seqDiff(t.sndNxt, t.sndUna);
  if (nxt < 0 || nxt > flight) throw new SnapshotError('BAD_SEQ', 'SND.NXT outside [SND.UNA, SND.MAX]', at);
  const edge = seqDiff(t.rcvAdvEdge, t.rcvNxt);
  if (edge < 0 || edge > MAX_WND)
    throw new SnapshotError('BAD_SEQ', 'advertised right edge outside the window of RCV.NXT', at);
}

function readListener(r: Reader): ListenerSnapshot {
  const p = port(r, r.u16(), 'listening port');
  const backlog = num(r, r.u16(), 1, 65535, 'backlog');
  const f = r.u8();
  field((f & ~7) === 0 && (f & 3) !== 0, `listener flags ${f}`, r);
  return {
    port: p,
    backlog,
    v4: (f & 1) !== 0,
    v6: (f & 2) !== 0,
    allowHalfOpen: (f & 4) !== 0,
    config: readConfig(r),
  };
}

function ipString(r: Reader, s: string, v6: boolean, what: string): void {
  const at = r.pos;
  try {
    if (v6 || s.includes(':')) parseIpv6(s);
    else parseIpv4(s);
  } catch {
    throw new SnapshotError('BAD_ADDRESS', `${what} ${JSON.stringify(s)}`, at);
  }
}

function readUdp(r: Reader): UdpSocketState {
  const f = r.u8();
  field((f & ~3) === 0, `UDP flags ${f}`, r);
  const v6 = (f & 1) !== 0;
  const p = port(r, r.u16(), 'UDP port');
  const address = r.str('bind address');
  if (address !== '') ipString(r, address, false, 'bind address');
  const peerPort = r.u16();
  const peerAddress = r.str('peer address');
  if (peerPort !== 0) ipString(r, peerAddress, v6, 'peer address');
  else field(peerAddress === '', 'a peer address without a port', r);
  return { type: v6 ? 'udp6' : 'udp4', port: p, address, broadcast: (f & 2) !== 0, peerAddress, peerPort };
}

function readNeighbour(r: Reader): NeighbourSnapshot {
  const family = r.u8();
  field(family === 4 || family === 6, `neighbour family ${family}`, r);
  const addr = addr16(r, family as 4 | 6, 'neighbour address');
  const at = r.pos;
  const mac = r.raw(6);
  if ((mac[0]! & 1) !== 0) throw new SnapshotError('BAD_ADDRESS', 'neighbour MAC is not unicast', at);
  return { family: family as 4 | 6, addr, mac };
}

/** A count of records each at least `min` bytes long that must fit the section. */
function count(r: Reader, min: number, what: string): number {
  const at = r.pos;
  const n = r.u32();
  if (n * min > r.end - r.pos) throw new SnapshotError('BAD_LENGTH', `${n} ${what} cannot fit`, at);
  return n;
}

function tupleKey(t: TcbState): string {
  return `${t.family} ${Buffer.from(t.laddr).toString('hex')} ${t.lport} ${Buffer.from(t.raddr).toString('hex')} ${t.rport}`;
}

/**
 * Decodes and validates `b` into a StackSnapshot; throws SnapshotError (with the code of the first
 * rule broken and its byte offset) for anything else. Never reads outside `b`.
 */
export function decodeSnapshot(b: Uint8Array): StackSnapshot {
  if (b.length < 4) throw new SnapshotError('TRUNCATED', `${b.length} bytes`, 0);
  if (get32(b, 0) !== SNAPSHOT_MAGIC)
    throw new SnapshotError('BAD_MAGIC', 'not a ptnet-ts stack snapshot', 0);
  if (b.length < HEADER_LEN + CRC_LEN) throw new SnapshotError('TRUNCATED', `${b.length} bytes`, 0);
  const version = get16(b, 4);
  if (version !== SNAPSHOT_VERSION)
    throw new SnapshotError('BAD_VERSION', `version ${version}, this code reads ${SNAPSHOT_VERSION}`, 4);
  const total = get32(b, 8);
  if (total > b.length) throw new SnapshotError('TRUNCATED', `${b.length} of ${total} bytes`, 8);
  if (total < b.length) throw new SnapshotError('BAD_LENGTH', `${b.length - total} bytes past the end`, 8);
  if (get32(b, total - CRC_LEN) !== crc32(b.subarray(0, total - CRC_LEN)))
    throw new SnapshotError('BAD_CHECKSUM', 'CRC-32 mismatch', total - CRC_LEN);
  const n = get16(b, 6);
  const tableEnd = HEADER_LEN + n * ENTRY_LEN;
  if (get32(b, 12) !== 0) throw new SnapshotError('BAD_FIELD', 'reserved header word is not 0', 12);
  if (tableEnd > total - CRC_LEN) throw new SnapshotError('BAD_LENGTH', `${n} sections cannot fit`, 6);
  const body = total - CRC_LEN;
  const found = new Map<number, Reader>();
  const spans: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const e = HEADER_LEN + i * ENTRY_LEN;
    const type = get16(b, e);
    const off = get32(b, e + 4);
    const len = get32(b, e + 8);
    if (!SECTIONS.includes(type) || found.has(type) || get16(b, e + 2) !== 0)
      throw new SnapshotError('BAD_SECTION', `section ${type} unknown or repeated`, e);
    if (off < tableEnd || len > body - off || off > body)
      throw new SnapshotError('BAD_LENGTH', `section ${type} outside the snapshot`, e);
    for (const [o, l] of spans)
      if (off < o + l && o < off + len) throw new SnapshotError('BAD_SECTION', `section ${type} overlaps`, e);
    spans.push([off, len]);
    found.set(type, new Reader(b, off, off + len, `section ${type}`));
  }
  for (const t of SECTIONS)
    if (!found.has(t)) throw new SnapshotError('BAD_SECTION', `section ${t} is missing`, HEADER_LEN);
  const ir = found.get(SECTION_IFACE)!;
  const mac = ir.raw(6);
  if ((mac[0]! & 1) !== 0) throw new SnapshotError('BAD_ADDRESS', 'the MAC is not unicast', ir.pos - 6);
  const mtu = num(ir, ir.u16(), 576, 65535, 'MTU');
  const capturedAt = num(ir, ir.f64(), 0, 2 ** 53, 'capture time');
  const ipIdent = ir.u16();
  ir.done();
  const tr = found.get(SECTION_TCP)!;
  const connections: ConnSnapshot[] = [];
  const tuples = new Set<string>();
  let buffers = 0;
  for (let i = count(tr, 4, 'connections'); i > 0; i--) {
    const at = tr.pos;
    const c = readConn(tr);
    buffers += c.tcb.config.sndBuf + c.tcb.config.rcvBuf;
    if (buffers > SNAPSHOT_MAX_TOTAL_BUFFERS)
      throw new SnapshotError(
        'BAD_LENGTH',
        `connection buffers past ${SNAPSHOT_MAX_TOTAL_BUFFERS} bytes in all`,
        at,
      );
    const k = tupleKey(c.tcb);
    if (tuples.has(k)) throw new SnapshotError('DUPLICATE_TUPLE', 'two connections with one 4-tuple', at);
    tuples.add(k);
    connections.push(c);
  }
  tr.done();
  const lr = found.get(SECTION_LISTEN)!;
  const listeners: ListenerSnapshot[] = [];
  for (let i = count(lr, 5, 'listeners'); i > 0; i--) {
    const at = lr.pos;
    const l = readListener(lr);
    if (listeners.some((x) => x.port === l.port && ((x.v4 && l.v4) || (x.v6 && l.v6))))
      throw new SnapshotError('DUPLICATE_TUPLE', `two listeners on port ${l.port}`, at);
    listeners.push(l);
  }
  lr.done();
  const ur = found.get(SECTION_UDP)!;
  const udp: UdpSocketState[] = [];
  for (let i = count(ur, 7, 'UDP sockets'); i > 0; i--) {
    const at = ur.pos;
    const u = readUdp(ur);
    if (udp.some((x) => x.port === u.port))
      throw new SnapshotError('DUPLICATE_TUPLE', `two UDP sockets on port ${u.port}`, at);
    udp.push(u);
  }
  ur.done();
  const nr = found.get(SECTION_NEIGH)!;
  const neighbours: NeighbourSnapshot[] = [];
  for (let i = count(nr, 23, 'neighbours'); i > 0; i--) neighbours.push(readNeighbour(nr));
  nr.done();
  return { version, mac, mtu, capturedAt, ipIdent, connections, listeners, udp, neighbours };
}
