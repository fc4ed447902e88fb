// The TCP layer: demultiplexing (tcp_v4_rcv / __inet_lookup), listeners with a bounded SYN and
// accept queue, segment formatting with options (tcp_options_write), RSTs for segments that
// match nothing (tcp_v4_send_reset), and ephemeral ports. Connections are Tcb objects.
import { COPY_SITE, countCopy } from '../../copycount/index.ts';
import { META_F_NEEDS_CSUM, META_GSO_TCPV4, META_GSO_TCPV6, type Mbuf } from '../../mbuf/index.ts';
import {
  EMPTY,
  IpProto,
  TcpFlags,
  TcpOptionWriter,
  TcpOptions,
  TcpView,
  ipv4ToString,
  ipv6ToString,
  getIn4,
  set32,
} from '../../wire/index.ts';
import { IpPairScratch, type IpPair, type L3Output } from '../l3.ts';
import type { TimerQueue } from '../timer.ts';
import { createHmac, randomBytes } from 'node:crypto';
import { IsnGenerator } from './isn.ts';
import { segLog, tcpLog } from './log.ts';
import { parseTcpOptionsLenient } from './options.ts';
import { seqAdd, seqGt, seqInRange, seqOf, seqU32 } from './seq.ts';
import { TcpCounters } from './state.ts';
import {
  COOKIE_MSS_V4,
  COOKIE_MSS_V6,
  SYNCOOKIE_VALID_MS,
  SynCookies,
  TS_OPT_SACK,
  TS_OPT_WSCALE_MASK,
  cookieMssIndex,
  cookieTsOptions,
  cookieTsval,
} from './syncookies.ts';
import { rcvBufOf, Tcb, TcpSegmentIn, type TcbOptions, type TcpEnv } from './tcb.ts';
import type { TcbState } from './tcb-state.ts';
import { tsOffsetFor, tsValue, windowScaleFor } from './timestamps.ts';

const { FIN, SYN, RST, ACK } = TcpFlags;
const TCP_HLEN = 20;

/** A listening port. */
export class TcpListener {
  /** Connections in SYN-RECEIVED (the SYN queue). */
  pending = 0;
  closed = false;
  /** When the SYN queue last overflowed (tcp_synq_overflow): cookie ACKs are checked for 2 min. */
  lastOverflow = -Infinity;
  /** The "possible SYN flooding" notice was logged (tcp_syn_flood_action warns once). */
  floodWarned = false;
  constructor(
    readonly port: number,
    /** SYN queue + accept bound (listen(2) backlog; SYN-flood bound). */
    readonly backlog: number,
    readonly opts: TcbOptions,
    /** A new connection reached ESTABLISHED. */
    readonly onConnection: (tcb: Tcb) => void,
  ) {}
}

function same16(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The port pair as one Map key, signed: V8 keeps it a small integer (an unsigned key from port
 * 32768 up would be a heap number made per lookup).
 */
function connKey(lport: number, rport: number): number {
  return (lport << 16) | rport;
}

export class Tcp implements TcpEnv {
  readonly counters = new TcpCounters();
  readonly isn: IsnGenerator;
  private readonly conns = new Map<number, Tcb[]>();
  private readonly listeners = new Map<number, TcpListener>();
  private readonly view = new TcpView();
  private readonly opts = new TcpOptionWriter();
  private readonly seg = new TcpSegmentIn(new TcpOptions());
  private readonly sackOut = new Int32Array(8);
  private readonly addrScratch = new Uint8Array(4);
  private readonly addrScratch2 = new Uint8Array(4);
  /** Addresses of the segment being processed: l = its destination (us), r = its source. */
  private readonly pair = new IpPairScratch();
  private challengeWindow = -Infinity;
  private challengeCount = 0;
  /** RFC 5961 §7 / Linux tcp_challenge_ack_limit: challenge ACKs per second. */
  challengeAckLimit = 1000;
  private nextEphemeral = 49152;
  /**
   * SYN cookies when a SYN queue is full (Linux tcp_syncookies = 1). Off: such SYNs are dropped
   * (listenDrops) and the peer must retry.
   */
  synCookies = true;
  private readonly cookies: SynCookies;
  private readonly cookieSrc = new Uint8Array(4);
  private readonly cookieDst = new Uint8Array(4);
  /** The address family, from the IP output below (tcp_v4 and tcp_v6 share this code). */
  readonly family: 4 | 6;

  /** One instance per address family, sending through that family's IP output. */
  constructor(
    readonly timers: TimerQueue,
    private readonly ip: L3Output,
    isnKey?: Uint8Array,
  ) {
    this.family = ip.family;
    this.isn = new IsnGenerator(timers, isnKey);
    // Cookie keys: derived from the ISN key when one is given (reproducible tests), else random.
    this.cookies = new SynCookies(
      isnKey !== undefined ? createHmac('sha256', isnKey).update('syncookies').digest() : randomBytes(16),
    );
    this.nextEphemeral = 49152 + Math.floor(Math.random() * 16384);
  }

  /** Connections held (all states but LISTEN). */
  get connectionCount(): number {
    let n = 0;
    for (const l of this.conns.values()) n += l.length;
    return n;
  }

  /**
   * The connection for (p.l:lport, p.r:rport), any state but LISTEN (__inet_lookup_established).
   * @mirrors inet_hashtables.c:__inet_lookup_established
   */
  lookup(p: IpPair, lport: number, rport: number): Tcb | undefined {
    const l = this.conns.get(connKey(lport, rport));
    if (l === undefined) return undefined;
    const v6 = this.family === 6;
    for (let i = 0; i < l.length; i++) {
      const t = l[i]!;
      if (
        v6
          ? same16(t.raddr6, p.raddr6) && same16(t.laddr6, p.laddr6)
          : t.raddr === p.raddr && t.laddr === p.laddr
      )
        return t;
    }
    return undefined;
  }

  /** Every connection held (all states but LISTEN). */
  connections(): Tcb[] {
    const out: Tcb[] = [];
    for (const l of this.conns.values()) out.push(...l);
    return out;
  }

  /** The listening ports. */
  listening(): TcpListener[] {
    return [...this.listeners.values()];
  }

  /** Whether `port` has a listener. */
  hasListener(port: number): boolean {
    return this.listeners.has(port);
  }

  /**
   * A connection of a validated snapshot (docs/SNAPSHOT.md), taken back into this table in its
   * state; the caller checked that its 4-tuple is free.
   */
  restore(s: TcbState): Tcb {
    const p = new IpPairScratch();
    if (this.family === 6) {
      p.laddr6.set(s.laddr);
      p.raddr6.set(s.raddr);
    } else {
      p.laddr = getIn4(s.laddr, 0);
      p.raddr = getIn4(s.raddr, 0);
    }
    const t = this.newTcb(s.config, p);
    t.lport = s.lport;
    t.rport = s.rport;
    t.importState(s);
    this.insert(t);
    return t;
  }

  private insert(t: Tcb): void {
    const k = connKey(t.lport, t.rport);
    const l = this.conns.get(k);
    if (l === undefined) this.conns.set(k, [t]);
    else l.push(t);
  }

  listen(
    port: number,
    backlog: number,
    opts: TcbOptions,
    onConnection: (tcb: Tcb) => void,
  ): TcpListener | null {
    if (this.listeners.has(port)) return null;
    const l = new TcpListener(port, Math.max(1, backlog), opts, onConnection);
    this.listeners.set(port, l);
    return l;
  }

  unlisten(l: TcpListener): void {
    l.closed = true;
    if (this.listeners.get(l.port) === l) this.listeners.delete(l.port);
  }

  /** An unused local port for (pair, rport), or -1. */
  ephemeralPort(pair: IpPair, rport: number): number {
    for (let i = 0; i < 16384; i++) {
      const p = this.nextEphemeral;
      this.nextEphemeral = p === 65535 ? 49152 : p + 1;
      if (!this.listeners.has(p) && this.lookup(pair, p, rport) === undefined) return p;
    }
    return -1;
  }

  /** An unused local port toward rport (any addresses), or -1. */
  ephemeralPortAny(rport: number): number {
    for (let i = 0; i < 16384; i++) {
      const p = this.nextEphemeral;
      this.nextEphemeral = p === 65535 ? 49152 : p + 1;
      if (!this.listeners.has(p) && !this.conns.has(connKey(p, rport))) return p;
    }
    return -1;
  }

  /** Active open from p.l:lport to p.r:rport. Returns the connection in SYN-SENT. */
  connect(p: IpPair, lport: number, rport: number, opts: TcbOptions): Tcb {
    const t = this.newTcb(opts, p);
    t.lport = lport;
    t.rport = rport;
    this.insert(t);
    t.connect(this.makeIsn(t), this.mtuMss(t));
    return t;
  }

  /** A connection of this family with p's addresses. */
  private newTcb(opts: TcbOptions, p: IpPair): Tcb {
    const t = new Tcb(this, opts);
    t.family = this.family;
    t.laddr = p.laddr;
    t.raddr = p.raddr;
    t.laddr6.set(p.laddr6);
    t.raddr6.set(p.raddr6);
    return t;
  }

  /**
   * The MSS the route allows: the path MTU (the link's, or lower when a fragmentation-needed /
   * packet-too-big report is cached) less the headers, as tcp_connect_init's tcp_sync_mss and the
   * advertised MSS (ipv4_default_advmss over the route's MTU) take it.
   */
  private mtuMss(p: IpPair): number {
    return this.ip.l4PathMtu(p) - TCP_HLEN;
  }

  private makeIsn(t: Tcb): number {
    if (t.family === 6) return this.isn.isn(t.laddr6, t.lport, t.raddr6, t.rport);
    const a = this.addrScratch;
    const b = this.addrScratch2;
    set32(a, 0, t.laddr);
    set32(b, 0, t.raddr);
    return this.isn.isn(a, t.lport, b, t.rport);
  }

  /**
   * An ICMP error quoted a segment of ours (tcp_v4_err / tcp_v6_err): `seq` from the quoted header
   * must lie in [SND.UNA, SND.MAX) or the report is ignored (RFC 5927 §4.1, blind-attack
   * protection). A fragmentation-needed / packet-too-big report with `mtu` > 0 shrinks the
   * connection's segments. Returns whether a connection took the report.
   */
  icmpError(p: IpPair, lport: number, rport: number, seq: number, mtu: number): boolean {
    const t = this.lookup(p, lport, rport);
    if (t === undefined || t.state === 'SYN-SENT' || t.state === 'SYN-RECEIVED') return false;
    if (!seqInRange(seq, t.snd.una, t.snd.max)) {
      this.counters.icmpOutOfWindow++;
      return false;
    }
    if (mtu > 0) t.mtuReduced(mtu, this.ip.ipHeaderLen);
    return true;
  }

  // ------------------------------------------------------------------ TcpEnv

  detach(t: Tcb): void {
    const k = connKey(t.lport, t.rport);
    const l = this.conns.get(k);
    if (l !== undefined) {
      const i = l.indexOf(t);
      if (i >= 0) {
        l[i] = l[l.length - 1]!;
        l.pop();
      }
      if (l.length === 0) this.conns.delete(k);
    }
    if (t.parent instanceof TcpListener) {
      t.parent.pending--;
      t.parent = null;
    }
  }

  established(t: Tcb): void {
    const l = t.parent as TcpListener;
    l.pending--;
    t.parent = null;
    if (l.closed) {
      t.abort();
      return;
    }
    l.onConnection(t);
  }

  challengeAckAllowed(now: number): boolean {
    if (now - this.challengeWindow >= 1000) {
      this.challengeWindow = now;
      this.challengeCount = 0;
    }
    return ++this.challengeCount <= this.challengeAckLimit;
  }

  /** Largest TSO super-frame payload, 0 without TSO (GSO_MAX_SIZE less the headers). */
  get tsoMax(): number {
    return this.ip.tso ? 65535 - 20 - 60 : 0;
  }

  sendSegment(t: Tcb, seq: number, flags: number, dataLen: number, ecn = 0): boolean {
    const ip = this.ip;
    const m = ip.pool.alloc();
    if (m === null) {
      this.counters.noBuffers++;
      return false;
    }
    const syn = (flags & SYN) !== 0;
    // Option bytes, laid out as Linux does (tcp_options_write).
    let optLen = 0;
    let sackN = 0;
    // On a SYN we offer what is configured; on a SYN-ACK we echo what the peer offered.
    const synSent = t.state === 'SYN-SENT';
    const ts = synSent ? t.offerTs : t.tsOk;
    const sack = synSent ? t.offerSack : t.sackOk;
    const ws = synSent ? t.offerWs : t.wsOk;
    if (syn) {
      optLen = 4 + (ts ? 12 : sack ? 4 : 0) + (ws ? 4 : 0);
    } else {
      if (t.tsOk) optLen += 12;
      if ((flags & RST) === 0 && t.sackBlockCount > 0) {
        sackN = t.sackBlocks(this.sackOut, t.tsOk ? 3 : 4);
        if (sackN > 0) optLen += 4 + 8 * sackN;
      }
    }
    const hl = TCP_HLEN + optLen;
    const l4Len = hl + dataLen;
    const total = ip.l4Offset + l4Len;
    // Headers must be contiguous; so must the whole segment when the checksum is computed here.
    // With checksum offload the payload is appended after the headers (SendBuffer.appendTo).
    const need = ip.txCsum ? ip.l4Offset + hl : total;
    if (!m.extend(need) || m.headLength < need) {
      m.free();
      this.counters.noBuffers++;
      return false;
    }
    const buf = ip.pool.data;
    const l4 = m.dataOffset + ip.l4Offset;
    const v = this.view.reset(buf, l4, l4Len);
    v.srcPort = t.lport;
    v.dstPort = t.rport;
    v.seq = seq;
    const ack = (flags & ACK) !== 0 ? t.rcvNxt : 0;
    v.ack = ack;
    v.headerLen = hl;
    // RFC 3168 §6.1.3: every segment but SYN and RST echoes a CE mark until the peer sends CWR.
    if (t.ecnEcho && (flags & (SYN | RST)) === 0) flags |= TcpFlags.ECE;
    v.flags = flags;
    v.window = syn ? t.synWindow() : (flags & RST) !== 0 ? 0 : t.windowToAdvertise();
    v.urgent = 0;
    // Options laid out as tcp_options_write does: NOP-padded words.
    const w = this.opts.reset(buf, l4 + TCP_HLEN);
    if (syn) {
      w.mss(t.rcvMss);
      if (ts) {
        if (sack) w.sackPermitted();
        else w.nop().nop();
        w.timestamp(t.tsVal(), t.ts.recent);
      } else if (sack) {
        w.nop().nop().sackPermitted();
      }
      if (ws) w.nop().windowScale(t.rcvWscale);
    } else {
      if (t.tsOk) w.nop().nop().timestamp(t.tsVal(), t.ts.recent);
      if (sackN > 0) w.nop().nop().sack(this.sackOut, sackN);
    }
    if (dataLen > 0) {
      // Payload straight from the send ring (or a zero-copy write's memory) into the mbuf:
      // appended in pieces that end where the ring's blocks do (checksum offload), or written
      // into the one segment the software checksum sums.
      const snd = t.snd;
      if (ip.txCsum) {
        if (!snd.appendTo(m, seq, dataLen)) {
          m.free();
          this.counters.noBuffers++;
          return false;
        }
      } else {
        snd.writeInto(m, ip.l4Offset + hl, seq, dataLen);
      }
      countCopy(COPY_SITE.sndbufOut, dataLen);
    }
    const mp = t.maxPayload;
    if (dataLen > mp) {
      // A TSO super-frame: the interface cuts it into mp-byte segments (virtio GSO_TCPV4).
      const meta = m.meta;
      meta.gsoType = META_GSO_TCPV4;
      meta.gsoSize = mp;
      meta.hdrLen = ip.l4Offset + hl;
    }
    if (dataLen > mp && t.family === 6) m.meta.gsoType = META_GSO_TCPV6;
    this.finishChecksum(m.meta, v, this.ip.pseudo(t, IpProto.TCP, l4Len));
    t.lastAckSent = ack;
    this.counters.outSegs++;
    if (segLog.enabled)
      segLog(
        '%d>%d %s seq=%d ack=%d len=%d',
        t.lport,
        t.rport,
        flagStr(flags),
        seqU32(seq),
        seqU32(ack),
        dataLen,
      );
    this.ip.output(m, t, IpProto.TCP, l4Len, ecn);
    return true;
  }

  /** Software checksum, or the virtio NEEDS_CSUM contract: the field holds the pseudo-header sum. */
  private finishChecksum(
    meta: { flags: number; csumStart: number; csumOffset: number },
    v: TcpView,
    ps: number,
  ): void {
    if (this.ip.txCsum) {
      v.checksum = ps;
      meta.flags |= META_F_NEEDS_CSUM;
      meta.csumStart = this.ip.l4Offset;
      meta.csumOffset = 16;
    } else {
      v.fillChecksum(ps);
    }
  }

  // ------------------------------------------------------------------ input

  /**
   * One TCP segment at buf[off, off+len) from p.r to p.l (tcp_v4_rcv / tcp_v6_rcv); the pair is
   * copied, the caller may reuse it. `csumOk`: the interface vouched for the checksum
   * (DATA_VALID / NEEDS_CSUM), so it is not recomputed.
   */
  input(
    buf: Uint8Array,
    off: number,
    len: number,
    p: IpPair,
    csumOk: boolean,
    ecn = 0,
    chain: Mbuf | null = null,
  ): void {
    if (!this.parse(buf, off, len, csumOk ? -1 : this.ip.pseudo(p, IpProto.TCP, len))) return;
    const seg = this.seg;
    seg.ecn = ecn;
    if (chain !== null) {
      // The payload stays in the chain: packet offsets from the frame's first byte.
      seg.src = chain;
      seg.dataOff -= chain.dataOffset;
    }
    const pair = this.pair.copy(p, this.family);
    this.deliver(this.lookup(pair, this.view.dstPort, this.view.srcPort), seg);
    // The frame is freed once the layers return: keep no reference to it.
    if (chain !== null) seg.src = EMPTY;
  }

  /** Validates and parses into this.seg; `pseudo` < 0 when the checksum was vouched for. */
  private parse(buf: Uint8Array, off: number, len: number, pseudo: number): boolean {
    const c = this.counters;
    const v = this.view.reset(buf, off, len);
    // checkHeader, not check: the latter also refuses a malformed option list, which is accepted.
    if (v.checkHeader() !== null) {
      c.inErrs++;
      return false;
    }
    if (pseudo >= 0 && !v.verifyChecksum(pseudo)) {
      c.csumErrors++;
      return false;
    }
    const seg = this.seg;
    // Lenient like tcp_parse_options(): a malformed option ends the walk, the segment stays.
    if (parseTcpOptionsLenient(buf, v.optionsOff, off + v.headerLen, seg.opts) >= 0) c.badOptions++;
    seg.seq = v.seqS32;
    seg.ack = v.ackS32;
    seg.flags = v.flags;
    seg.wnd = v.window;
    seg.src = buf;
    seg.dataOff = v.payloadOff;
    seg.dataLen = v.payloadLen;
    return true;
  }

  private deliver(t: Tcb | undefined, seg: TcpSegmentIn): void {
    const c = this.counters;
    const sport = this.view.srcPort;
    const dport = this.view.dstPort;
    if (segLog.enabled)
      segLog(
        '%d<%d %s seq=%d ack=%d len=%d win=%d',
        dport,
        sport,
        flagStr(seg.flags),
        seqU32(seg.seq),
        seqU32(seg.ack),
        seg.dataLen,
        seg.wnd,
      );
    if (t !== undefined) {
      if (!(t.state === 'TIME-WAIT' && this.timeWaitReuse(t, seg))) {
        t.input(seg);
        return;
      }
    }
    const l = this.listeners.get(dport);
    if (l !== undefined && !l.closed) {
      this.listenInput(l, seg, sport, dport);
      return;
    }
    c.noPort++;
    this.resetFor(seg, sport, dport);
  }

  /**
   * A new SYN for a 4-tuple in TIME-WAIT (tcp_timewait_state_process): acceptable when its sequence
   * number is beyond what the old connection used (RFC 9293 §3.6.1) and, with timestamps, its TSval
   * is newer (RFC 6191). The TIME-WAIT connection is then dropped and the SYN goes to the listener.
   */
  private timeWaitReuse(t: Tcb, seg: TcpSegmentIn): boolean {
    if ((seg.flags & (SYN | ACK | RST)) !== SYN || !this.listeners.has(t.lport)) return false;
    const newer =
      t.tsOk && seg.opts.hasTimestamp ? seqGt(seg.opts.tsVal, t.ts.recent) : seqGt(seg.seq, t.rcvNxt);
    if (!newer) return false;
    t.recycle();
    return true;
  }

  /** RFC 9293 §3.10.7.2 LISTEN. */
  private listenInput(l: TcpListener, seg: TcpSegmentIn, sport: number, dport: number): void {
    const f = seg.flags;
    if ((f & RST) !== 0) return;
    if ((f & ACK) !== 0) {
      // tcp_v4_cookie_check: a bare ACK to a listener that sent cookies lately may complete one.
      if (
        (f & SYN) === 0 &&
        this.synCookies &&
        this.timers.now() - l.lastOverflow < SYNCOOKIE_VALID_MS &&
        this.cookieAck(l, seg, sport, dport)
      )
        return;
      this.resetFor(seg, sport, dport);
      return;
    }
    if ((f & SYN) === 0) return;
    if (l.pending >= l.backlog) {
      // The SYN queue is full (tcp_conn_request, inet_csk_reqsk_queue_is_full).
      if (!this.synCookies) {
        this.counters.listenDrops++;
        if (segLog.enabled) segLog('%d<%d SYN dropped: listen queue full', dport, sport);
        return;
      }
      l.lastOverflow = this.timers.now();
      if (!l.floodWarned) {
        // tcp_syn_flood_action's one-time notice.
        l.floodWarned = true;
        if (tcpLog.enabled) tcpLog('possible SYN flooding on port %d: sending cookies', l.port);
      }
      this.sendCookieSynAck(l, seg, sport, dport);
      return;
    }
    const t = this.childOf(l, sport, dport);
    t.accept(seg, this.makeIsn(t), this.mtuMss(t));
  }

  /** The segment's addresses as cookie hash input (IPv4 In4s into scratch bytes, IPv6 as they are). */
  private cookieAddrs(): [Uint8Array, Uint8Array] {
    if (this.family === 6) return this.cookieTuple6;
    set32(this.cookieSrc, 0, this.pair.raddr);
    set32(this.cookieDst, 0, this.pair.laddr);
    return this.cookieTuple;
  }
  private readonly cookieTuple: [Uint8Array, Uint8Array] = [this.cookieSrc, this.cookieDst];
  private readonly cookieTuple6: [Uint8Array, Uint8Array] = [this.pair.raddr6, this.pair.laddr6];

  /**
   * A SYN-ACK whose ISN is a SYN cookie and no state kept (tcp_conn_request with want_cookie,
   * cookie_v4_init_sequence, cookie_init_timestamp). Without timestamps in the SYN, window scale
   * and SACK cannot be remembered and are not offered (tcp_clear_options).
   */
  /** A passive connection of listener `l` for this segment's 4-tuple, inserted (inet_csk_clone_lock). */
  private childOf(l: TcpListener, sport: number, dport: number): Tcb {
    const t = this.newTcb(l.opts, this.pair);
    t.lport = dport;
    t.rport = sport;
    t.parent = l;
    l.pending++;
    this.insert(t);
    return t;
  }

  private sendCookieSynAck(l: TcpListener, seg: TcpSegmentIn, sport: number, dport: number): void {
    const ip = this.ip;
    const o = seg.opts;
    const now = this.timers.now();
    const table = this.family === 6 ? COOKIE_MSS_V6 : COOKIE_MSS_V4;
    const mssIdx = cookieMssIndex(table, o.mss > 0 ? o.mss : 536);
    const [sa, da] = this.cookieAddrs();
    const cookie = seqOf(this.cookies.make(sa, da, sport, dport, seg.seq, mssIdx, now));
    const ts = (l.opts.timestamps ?? true) && o.hasTimestamp;
    const sack = ts && (l.opts.sack ?? true) && o.sackPermitted;
    const ws = ts && (l.opts.windowScaling ?? true) && o.wscale >= 0;
    const rcvBuf = rcvBufOf(l.opts);
    const optLen = 4 + (ts ? 12 : 0) + (ws ? 4 : 0);
    const hl = TCP_HLEN + optLen;
    const m = this.replyMbuf(hl);
    if (m === null) return;
    const buf = ip.pool.data;
    const l4 = m.dataOffset + ip.l4Offset;
    const v = this.view.reset(buf, l4, hl);
    v.srcPort = dport;
    v.dstPort = sport;
    v.seq = cookie;
    v.ack = seqAdd(seg.seq, 1);
    v.headerLen = hl;
    v.flags = SYN | ACK;
    v.window = Math.min(rcvBuf, 0xffff);
    v.urgent = 0;
    const mss = this.mtuMss(this.pair);
    const w = this.opts.reset(buf, l4 + TCP_HLEN).mss(mss);
    if (ts) {
      if (sack) w.sackPermitted();
      else w.nop().nop();
      const tsNow = tsValue(now, tsOffsetFor(cookie));
      w.timestamp(cookieTsval(tsNow, ws ? o.wscale : -1, sack), o.tsVal);
    }
    if (ws) w.nop().windowScale(windowScaleFor(rcvBuf));
    this.counters.syncookiesSent++;
    this.counters.outSegs++;
    if (segLog.enabled) segLog('%d>%d S. cookie=%d mss=%d', dport, sport, seqU32(cookie), mss);
    this.finishChecksum(m.meta, v, ip.pseudo(this.pair, IpProto.TCP, hl));
    ip.output(m, this.pair, IpProto.TCP, hl);
  }

  /**
   * cookie_v4_check: an ACK whose SEG.ACK - 1 is a valid cookie for its 4-tuple and SEG.SEQ - 1
   * recreates the connection. Returns false (the caller resets) when it is no cookie of ours.
   */
  private cookieAck(l: TcpListener, seg: TcpSegmentIn, sport: number, dport: number): boolean {
    const c = this.counters;
    const now = this.timers.now();
    const table = this.family === 6 ? COOKIE_MSS_V6 : COOKIE_MSS_V4;
    const cookie = seqAdd(seg.ack, -1);
    const [sa, da] = this.cookieAddrs();
    const idx = this.cookies.check(sa, da, sport, dport, seqAdd(seg.seq, -1), cookie, now);
    if (idx < 0 || idx >= table.length) {
      c.syncookiesFailed++;
      if (segLog.enabled) segLog('%d<%d ACK is no valid SYN cookie', dport, sport);
      return false;
    }
    // cookie_timestamp_decode: without an echoed timestamp nothing but the MSS is known.
    let sack = false;
    let wscale = -1;
    if (seg.opts.hasTimestamp && (l.opts.timestamps ?? true)) {
      const bits = cookieTsOptions(seg.opts.tsEcr);
      sack = (bits & TS_OPT_SACK) !== 0;
      const w = bits & TS_OPT_WSCALE_MASK;
      if (w !== TS_OPT_WSCALE_MASK) wscale = w;
      if (
        wscale > 14 ||
        (sack && !(l.opts.sack ?? true)) ||
        (wscale >= 0 && !(l.opts.windowScaling ?? true))
      ) {
        c.syncookiesFailed++;
        return false;
      }
    }
    c.syncookiesRecv++;
    // The connection's own lines (SYN-RECEIVED from the cookie, ESTABLISHED) follow from acceptCookie.
    const t = this.childOf(l, sport, dport);
    t.acceptCookie(seg, cookie, this.mtuMss(t), table[idx]!, sack, wscale);
    return true;
  }

  /** RST for a segment that matches no connection (RFC 9293 §3.10.7.1), never in answer to a RST. */
  /**
   * An mbuf for a reply the stack makes up by itself (RST, cookie SYN-ACK): room for the IP and
   * TCP headers, `hl` bytes of TCP header contiguous; null (counted) when the pool is out.
   */
  private replyMbuf(hl: number): Mbuf | null {
    const ip = this.ip;
    const m = ip.pool.alloc();
    if (m === null || !m.extend(ip.l4Offset + hl) || m.headLength < ip.l4Offset + hl) {
      m?.free();
      this.counters.noBuffers++;
      return null;
    }
    return m;
  }

  private resetFor(seg: TcpSegmentIn, sport: number, dport: number): void {
    const f = seg.flags;
    if ((f & RST) !== 0) return;
    const ip = this.ip;
    const m = this.replyMbuf(TCP_HLEN);
    if (m === null) return;
    const buf = ip.pool.data;
    const l4 = m.dataOffset + ip.l4Offset;
    const v = this.view.reset(buf, l4, TCP_HLEN);
    v.srcPort = dport;
    v.dstPort = sport;
    v.headerLen = TCP_HLEN;
    if ((f & ACK) !== 0) {
      v.seq = seg.ack;
      v.ack = 0;
      v.flags = RST;
    } else {
      const segLen = seg.dataLen + ((f & SYN) !== 0 ? 1 : 0) + ((f & FIN) !== 0 ? 1 : 0);
      v.seq = 0;
      v.ack = seqAdd(seg.seq, segLen);
      v.flags = RST | ACK;
    }
    v.window = 0;
    v.urgent = 0;
    this.counters.outRsts++;
    this.counters.outSegs++;
    if (tcpLog.enabled) {
      const pr = this.pair;
      const d = this.family === 6 ? `[${ipv6ToString(pr.laddr6)}]` : ipv4ToString(pr.laddr);
      const r = this.family === 6 ? `[${ipv6ToString(pr.raddr6)}]` : ipv4ToString(pr.raddr);
      tcpLog('%s:%d-%s:%d RST sent: no connection (%s)', d, dport, r, sport, flagStr(f));
    }
    this.finishChecksum(m.meta, v, ip.pseudo(this.pair, IpProto.TCP, TCP_HLEN));
    ip.output(m, this.pair, IpProto.TCP, TCP_HLEN);
  }
}

function flagStr(f: number): string {
  let s = '';
  if (f & SYN) s += 'S';
  if (f & FIN) s += 'F';
  if (f & RST) s += 'R';
  if (f & ACK) s += '.';
  return s;
}
