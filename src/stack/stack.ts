// The stack instance: one NetIf, one IPv4 address, and the layers over it. Receive is NAPI-style
// (rxReady → poll with a budget); each frame is linearised, dispatched by EtherType (ARP, IPv4)
// and freed. Transmit builds frames in pool mbufs, resolves the next hop through the ARP
// neighbour cache, and keeps frames the interface refused ('busy') in a bounded backlog that
// txRestart drains (the qdisc's role in Linux).
import debug from 'debug';
import { META_F_DATA_VALID, META_F_NEEDS_CSUM, Mempool, type Mbuf } from '../mbuf/index.ts';
import type { NetIf } from '../netif/index.ts';
import {
  ARP_ETH_IPV4_LEN,
  ARP_HTYPE_ETHERNET,
  ArpOp,
  ArpView,
  ETH_HLEN,
  EthernetView,
  EtherType,
  getF64,
  ICMP_HLEN,
  IcmpType,
  IcmpUnreachCode,
  Icmpv4View,
  IpProto,
  IPV4_MIN_HLEN,
  Ipv4View,
  parseIpv4,
  parseIpv4Prefixed,
  set16,
  set32,
  setF64,
} from '../wire/index.ts';
import { csumFinish, csumPartial } from '../checksum/index.ts';
import { COPY_SITE, countCopy } from '../copycount/index.ts';
import { StackCounters } from './counters.ts';
import { NetError, StackError } from './errors.ts';
import type { Ipv4Output } from './l3.ts';
import { mbufTruesize, NeighbourCache, type NeighbourParams } from './neighbour.ts';
import { Icmp4Errors } from './icmp-errors.ts';
import { IcmpRateLimit } from './icmp-rate.ts';
import { Ipv4Frag } from './ipv4-frag.ts';
import { Ipv6Layer, type Ipv6Options } from './ipv6.ts';
import { PmtuCache } from './pmtu.ts';
import type { ReasmParams } from './reassembly.ts';
import { RouteTable4 } from './route.ts';
import { RealTimeDriver, type TimerHost } from './timer.ts';
import { Tcp } from './tcp/tcp.ts';
import type { TcbOptions } from './tcp/tcb.ts';
import { UdpLayer } from './udp.ts';
import { Net } from './socket.ts';

const log = debug('ptnet:ip');
const BROADCAST_MAC = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const RX_SCRATCH = 65536 + 14 + 60 + 4;
/** Largest IPv4 datagram. */
const IP_MAX = 65535;

export interface StackOptions {
  netif: NetIf;
  /** Our address with prefix length, "10.0.0.1/24". */
  ipv4: string;
  /** Default gateway (on-link). */
  gateway?: string;
  /** Timers: a VirtualClock for deterministic runs; default wall time. */
  time?: TimerHost;
  /** Packet buffers for transmit (default 4096 mbufs of 2 KiB). */
  pool?: Mempool;
  /** Defaults for every TCP connection. */
  tcp?: TcbOptions;
  /** RFC 6528 ISN key (default random). */
  isnKey?: Uint8Array;
  arp?: Partial<NeighbourParams>;
  /** Frames per poll turn (NAPI weight, default 64). */
  rxBudget?: number;
  /** Frames held while the interface is busy (default 4096). */
  txBacklog?: number;
  /** Do not send TSO super-frames even if the interface accepts them. */
  noTso?: boolean;
  /** Runs the next poll turn when one ended on budget (default setImmediate). */
  schedule?: (fn: () => void) => void;
  /** Enables IPv6 (link-local address from the MAC plus these options). */
  ipv6?: Ipv6Options;
  /** IPv4 reassembly limits. */
  reasm?: Partial<ReasmParams>;
  /**
   * Whether ref'd sockets and servers keep the process alive, as node:net handles do (default:
   * true on wall-clock time, false on a VirtualClock, where nothing runs by itself).
   */
  processRefs?: boolean;
}

type EchoWaiter = (rtt: number) => void;

export class Stack implements Ipv4Output {
  readonly netif: NetIf;
  readonly time: TimerHost;
  readonly pool: Mempool;
  readonly counters = new StackCounters();
  readonly addr: number;
  readonly prefixLen: number;
  readonly mask: number;
  readonly gateway: number;
  readonly arp: NeighbourCache<number, Mbuf>;
  readonly tcp: Tcp;
  readonly udp: UdpLayer;
  /** node:net / node:dgram-like API. */
  readonly net: Net;
  readonly tcpDefaults: TcbOptions;
  readonly l4Offset = ETH_HLEN + IPV4_MIN_HLEN;
  readonly l4Mtu: number;
  readonly txCsum: boolean;
  readonly tso: boolean;
  /** IPv4 routes: the connected prefix and the default gateway. */
  readonly routes4 = new RouteTable4();
  readonly pmtu4: PmtuCache<number>;
  /** Shared ICMPv4/ICMPv6 error rate limit. */
  readonly icmpRate = new IcmpRateLimit();
  readonly frag4: Ipv4Frag;
  readonly icmp4Errors: Icmp4Errors;
  /** IPv6, when enabled by options.ipv6. */
  readonly ip6: Ipv6Layer | null;

  private readonly eth = new EthernetView();
  private readonly ip = new Ipv4View();
  private readonly arpView = new ArpView();
  private readonly icmp = new Icmpv4View();
  private readonly macScratch = new Uint8Array(6);
  private readonly rxScratch = new Uint8Array(RX_SCRATCH);
  private readonly budget: number;
  private readonly backlog: (Mbuf | undefined)[];
  private blHead = 0;
  private blLen = 0;
  private ipIdent = 0;
  private readonly schedule: (fn: () => void) => void;
  private polling = false;
  private readonly echoWaiters = new Map<number, EchoWaiter>();
  private echoIdent = 1;
  private readonly deliver = (m: Mbuf): void => this.input(m);
  private pollScheduled = false;
  // Loopback (the kernel's lo): frames to our own address, handed back to input() as a task.
  private readonly loQueue: Mbuf[] = [];
  private loScheduled = false;
  private inLo = false;
  private readonly loTurn = (): void => this.loopbackTurn();
  // Process refs: ref'd handles (servers, sockets, in-flight pings) and the host handle they hold.
  private processRefs: boolean;
  private refs = 0;
  private refHandle: ReturnType<typeof setInterval> | undefined;
  private readonly pollTurn = (): void => {
    this.pollScheduled = false;
    this.poll();
  };
  private readonly schedulePoll = (): void => {
    if (this.pollScheduled) return;
    this.pollScheduled = true;
    this.schedule(this.pollTurn);
  };

  constructor(opts: StackOptions) {
    this.netif = opts.netif;
    // WireError BAD_ADDRESS for a malformed address or prefix; no prefix means a host route (/32).
    const own = parseIpv4Prefixed(opts.ipv4, 32);
    this.addr = own.addr;
    this.prefixLen = own.prefixLen;
    this.mask = this.prefixLen === 0 ? 0 : (0xffffffff << (32 - this.prefixLen)) >>> 0;
    this.gateway = opts.gateway === undefined ? -1 : parseIpv4(opts.gateway);
    this.time = opts.time ?? new RealTimeDriver();
    this.pool = opts.pool ?? new Mempool({ segments: 4096, segmentSize: 2048 });
    this.l4Mtu = this.netif.mtu - IPV4_MIN_HLEN;
    this.txCsum = this.netif.offloads.txCsum;
    // TSO frames must carry NEEDS_CSUM (virtio_net_hdr rules), so both offloads are needed.
    this.tso = this.txCsum && this.netif.offloads.tso4 && !opts.noTso;
    this.tcpDefaults = opts.tcp ?? {};
    this.budget = opts.rxBudget ?? 64;
    this.backlog = new Array<Mbuf | undefined>(opts.txBacklog ?? 4096);
    this.schedule = opts.schedule ?? setImmediate;
    this.processRefs = opts.processRefs ?? this.time instanceof RealTimeDriver;
    const timers = this.time.timers;
    this.arp = new NeighbourCache<number, Mbuf>(
      timers,
      {
        solicit: (ip, ll) => this.sendArp(ArpOp.REQUEST, ll ?? BROADCAST_MAC, ll, ip),
        flush: (_ip, m, ll) => this.xmitTo(m, ll),
        drop: (_ip, m) => {
          this.counters.ipOutDiscards++;
          m.free();
        },
        truesize: mbufTruesize,
      },
      opts.arp,
    );
    this.tcp = new Tcp(timers, this, opts.isnKey);
    this.udp = new UdpLayer(this);
    this.net = new Net(this);
    this.routes4.add(this.addr, this.prefixLen);
    if (this.gateway >= 0) this.routes4.add(0, 0, this.gateway);
    this.pmtu4 = new PmtuCache<number>(this.netif.mtu, false);
    this.frag4 = new Ipv4Frag(this, opts.reasm);
    this.icmp4Errors = new Icmp4Errors(this);
    this.ip6 =
      opts.ipv6 === undefined
        ? null
        : new Ipv6Layer(this, opts.ipv6, { isnKey: opts.isnKey, noTso: opts.noTso });
    // rxReady only schedules the poll (NAPI's softirq): the turn runs as its own task, so a busy
    // interface cannot starve timers and application callbacks by chaining microtasks.
    this.netif.setEvents({ rxReady: this.schedulePoll, txRestart: () => this.drainBacklog() });
    // Frames may already wait (the NetIf arms rxReady only after a poll that ran dry).
    this.schedulePoll();
  }

  now(): number {
    return this.time.timers.clock.now();
  }

  l4PathMtu(dst: number): number {
    return this.pmtu4.get(dst, this.now()) - IPV4_MIN_HLEN;
  }

  /**
   * Our address when `dst` is reachable (a route matches: on-link, a gateway, the default), else
   * -1. 127/8 is reached over the loopback from 127.0.0.1, as Linux's lo.
   */
  sourceFor(dst: number): number {
    if (isLoopback4(dst)) return LOOPBACK4;
    if (this.routes4.lookup(dst) !== undefined) return this.addr;
    return dst === this.addr ? this.addr : -1;
  }

  private isOurs(dst: number): boolean {
    return dst === this.addr || isLoopback4(dst);
  }

  /** Whether a datagram to `dst` goes over the loopback (our address or 127/8). @internal */
  isLocal4(dst: number): boolean {
    return this.isOurs(dst);
  }

  // ------------------------------------------------------------------ process refs

  /**
   * A handle (server, socket, pending ping) starts (+1) or stops (-1) keeping the process alive:
   * while any is ref'd, one ref'd host timer stays armed, as an active libuv handle would.
   * @internal
   */
  ref(delta: 1 | -1): void {
    this.refs += delta;
    if (!this.processRefs) return;
    if (this.refs > 0 && this.refHandle === undefined) {
      this.refHandle = setInterval(noop, 0x7fffffff);
    } else if (this.refs <= 0 && this.refHandle !== undefined) {
      clearInterval(this.refHandle);
      this.refHandle = undefined;
    }
  }

  /**
   * Stops holding the process alive, whatever handles are still open: the stack's interface is
   * gone (its unikernel shut down), so nothing those handles wait for can happen any more.
   */
  releaseProcess(): void {
    this.processRefs = false;
    if (this.refHandle !== undefined) {
      clearInterval(this.refHandle);
      this.refHandle = undefined;
    }
  }

  /** Ref'd handles open on this stack (what keeps the process alive). */
  get refCount(): number {
    return this.refs;
  }

  // ------------------------------------------------------------------ loopback (lo, loopback_xmit)

  /**
   * A frame to our own address never reaches the NIC: it comes back through input() in its own
   * task, as loopback_xmit hands it to netif_rx. A pending checksum (NEEDS_CSUM) stays pending
   * and input() trusts it, as CHECKSUM_PARTIAL on lo.
   */
  /** @internal */
  loopback(m: Mbuf): void {
    this.counters.txFrames++;
    this.pool.data.set(this.netif.mac, m.dataOffset);
    this.loQueue.push(m);
    if (this.loScheduled) return;
    this.loScheduled = true;
    this.schedule(this.loTurn);
  }

  private loopbackTurn(): void {
    this.loScheduled = false;
    const q = this.loQueue.splice(0, this.loQueue.length);
    this.polling = true;
    this.inLo = true;
    try {
      for (const m of q) this.input(m);
    } finally {
      this.inLo = false;
      this.polling = false;
      this.netif.flush();
    }
    this.time.poke();
  }

  /** @internal */
  isBroadcast4(dst: number): boolean {
    return this.isBroadcast(dst);
  }

  private isBroadcast(dst: number): boolean {
    return (
      dst === 0xffffffff ||
      (this.prefixLen < 31 &&
        (dst | this.mask) >>> 0 === 0xffffffff &&
        (dst & this.mask) >>> 0 === (this.addr & this.mask) >>> 0)
    );
  }

  // ------------------------------------------------------------------ receive

  /**
   * One NAPI turn; schedules another when the budget ran out. What the turn transmits (ACKs, data
   * the ACKs released, answers) goes out as one burst: transmit(m, more = true) during the turn,
   * then one flush, so the interface publishes and kicks once per turn instead of once per frame.
   */
  poll(): void {
    if (this.polling) return;
    this.polling = true;
    let n: number;
    try {
      n = this.netif.poll(this.budget, this.deliver);
    } finally {
      this.polling = false;
      this.netif.flush();
    }
    this.time.poke();
    if (n === this.budget) this.schedulePoll();
  }

  /** Processes and frees one received frame. Never throws. */
  input(m: Mbuf): void {
    const c = this.counters;
    c.rxFrames++;
    let buf: Uint8Array;
    let off: number;
    const len = m.length;
    if (m.headLength >= len) {
      buf = m.pool.data;
      off = m.dataOffset;
    } else if (len <= RX_SCRATCH) {
      // A chained (e.g. GRO) frame: linearise once into the scratch buffer.
      m.copyTo(this.rxScratch, 0, 0, len);
      countCopy(COPY_SITE.linearise, len);
      buf = this.rxScratch;
      off = 0;
    } else {
      c.rxTooBig++;
      m.free();
      return;
    }
    const csumOk = (m.meta.flags & (META_F_DATA_VALID | META_F_NEEDS_CSUM)) !== 0;
    try {
      this.ethInput(buf, off, len, csumOk);
    } catch (e) {
      // A bug must not take the datapath down: count it (tests assert this stays 0) and go on.
      c.rxExceptions++;
      if (log.enabled) log('input error %o', e);
    }
    m.free();
  }

  private ethInput(buf: Uint8Array, off: number, len: number, csumOk: boolean): void {
    const c = this.counters;
    const eth = this.eth.reset(buf, off, len);
    if (eth.check() !== null || eth.vlanCount > 0) {
      c.rxEthErrors++;
      return;
    }
    const mac = this.netif.mac;
    const d = eth.payloadOff - ETH_HLEN;
    let toUs = true;
    let bcast = true;
    for (let i = 0; i < 6; i++) {
      const b = buf[d + i]!;
      if (b !== mac[i]) toUs = false;
      if (b !== 0xff) bcast = false;
    }
    if (!toUs && !bcast && (this.ip6 === null || !this.ip6.acceptMac(buf, d))) {
      c.rxOtherHost++;
      return;
    }
    const type = eth.etherType;
    if (type === EtherType.IPV4) this.ipv4Input(buf, eth.payloadOff, eth.payloadLen, csumOk);
    else if (type === EtherType.IPV6 && this.ip6 !== null)
      this.ip6.input(buf, eth.payloadOff, eth.payloadLen, csumOk);
    else if (type === EtherType.ARP) this.arpInput(buf, eth.payloadOff, eth.payloadLen);
    else c.rxUnknownProto++;
  }

  // ------------------------------------------------------------------ ARP (arp_process)

  private arpInput(buf: Uint8Array, off: number, len: number): void {
    const c = this.counters;
    const a = this.arpView.reset(buf, off, len);
    c.arpIn++;
    if (a.check() !== null || !a.isEthernetIpv4) {
      c.arpErrors++;
      return;
    }
    const op = a.op;
    const spa = a.senderIp;
    const tpa = a.targetIp;
    const sha = this.macScratch;
    sha.set(buf.subarray(off + 8, off + 14));
    // A sender hardware address that is multicast/broadcast is bogus (arp_process drops it).
    if ((sha[0]! & 1) !== 0 || (op !== ArpOp.REQUEST && op !== ArpOp.REPLY)) {
      c.arpErrors++;
      return;
    }
    const now = this.now();
    if (tpa === this.addr && spa !== 0) {
      if (op === ArpOp.REQUEST) {
        this.arp.learned(spa, sha);
        this.sendArp(ArpOp.REPLY, sha, sha, spa);
      } else {
        this.arp.advertisement(spa, sha, true, true, false, now);
      }
      return;
    }
    if (tpa === this.addr && spa === 0 && op === ArpOp.REQUEST) {
      // RFC 5227 probe for our address: defend it.
      this.sendArp(ArpOp.REPLY, sha, sha, 0);
      return;
    }
    // Gratuitous ARP or traffic for others: refresh an existing entry only (arp_accept = 0).
    if (spa !== 0 && this.arp.get(spa) !== undefined)
      this.arp.advertisement(spa, sha, false, true, false, now);
  }

  /** Sends an ARP packet to `ethDst`; tha is the target hardware address (zeros when null). */
  private sendArp(op: number, ethDst: Uint8Array, tha: Uint8Array | null, tpa: number): void {
    const m = this.pool.alloc();
    if (m === null || !m.extend(ETH_HLEN + ARP_ETH_IPV4_LEN)) {
      m?.free();
      this.counters.txNoBuffers++;
      return;
    }
    const buf = this.pool.data;
    const o = m.dataOffset;
    buf.set(this.netif.mac, o + 6);
    set16(buf, o + 12, EtherType.ARP);
    const a = o + ETH_HLEN;
    set16(buf, a, ARP_HTYPE_ETHERNET);
    set16(buf, a + 2, EtherType.IPV4);
    buf[a + 4] = 6;
    buf[a + 5] = 4;
    set16(buf, a + 6, op);
    buf.set(this.netif.mac, a + 8);
    set32(buf, a + 14, this.addr);
    if (tha === null) buf.fill(0, a + 18, a + 24);
    else buf.set(tha, a + 18);
    set32(buf, a + 24, tpa);
    if (op === ArpOp.REQUEST) this.counters.arpRequestsOut++;
    else this.counters.arpRepliesOut++;
    this.xmitTo(m, ethDst);
  }

  /** Announces our address (gratuitous ARP request, RFC 5227 §3). */
  announce(): void {
    this.sendArp(ArpOp.REQUEST, BROADCAST_MAC, null, this.addr);
  }

  // ------------------------------------------------------------------ IPv4 (ip_rcv, ip_local_deliver)

  private ipv4Input(buf: Uint8Array, off: number, len: number, csumOk: boolean, reassembled = false): void {
    const c = this.counters;
    // InReceives counts what ip_rcv sees: each fragment once; the reassembled datagram goes on
    // to ip_local_deliver without passing ip_rcv again.
    if (!reassembled) c.ipInReceives++;
    const ip = this.ip.reset(buf, off, len);
    if (ip.check() !== null || !ip.verifyChecksum()) {
      c.ipInHdrErrors++;
      return;
    }
    const dst = ip.dst;
    const bcast = this.isBroadcast(dst);
    // 127/8 from the wire, as source or destination, is martian (ip_route_input_slow): only the
    // loopback carries it.
    const martian = !this.inLo && (isLoopback4(dst) || isLoopback4(ip.src));
    if ((!this.isOurs(dst) && !bcast) || martian) {
      c.ipInAddrErrors++;
      return;
    }
    if (ip.isFragment) {
      // Reassembled datagrams come back through here with a fresh header (ip_defrag).
      const n = this.frag4.input(buf, off, ip);
      if (n > 0) this.ipv4Input(this.frag4.out, 0, n, false, true);
      return;
    }
    const src = ip.src;
    const proto = ip.protocol;
    const l4 = ip.payloadOff;
    const l4Len = ip.payloadLen;
    if (proto === IpProto.TCP) {
      if (!bcast) this.tcp.input(buf, l4, l4Len, src, dst, csumOk);
    } else if (proto === IpProto.UDP) {
      if (!this.udp.input(buf, l4, l4Len, src, dst, csumOk) && !bcast) {
        this.icmpError(buf, off, IcmpType.DEST_UNREACH, IcmpUnreachCode.PORT);
      }
    } else if (proto === IpProto.ICMP) {
      this.icmpInput(buf, l4, l4Len, src, bcast);
    } else {
      c.ipInUnknownProtos++;
      if (!bcast) this.icmpError(buf, off, IcmpType.DEST_UNREACH, IcmpUnreachCode.PROTOCOL);
    }
  }

  sendIpv4(m: Mbuf, src: number, dst: number, proto: number, l4Len: number): void {
    const c = this.counters;
    const buf = this.pool.data;
    const o = m.dataOffset;
    const ih = o + ETH_HLEN;
    buf[ih] = 0x45;
    buf[ih + 1] = 0;
    set16(buf, ih + 2, IPV4_MIN_HLEN + l4Len);
    set16(buf, ih + 4, this.ipIdent);
    this.ipIdent = (this.ipIdent + 1) & 0xffff;
    // DF on TCP, as Linux does with path-MTU discovery (IP_PMTUDISC_WANT).
    set16(buf, ih + 6, proto === IpProto.TCP ? 0x4000 : 0);
    buf[ih + 8] = 64;
    buf[ih + 9] = proto;
    set16(buf, ih + 10, 0);
    set32(buf, ih + 12, src);
    set32(buf, ih + 16, dst);
    set16(buf, ih + 10, csumFinish(csumPartial(buf, ih, IPV4_MIN_HLEN)));
    buf.set(this.netif.mac, o + 6);
    set16(buf, o + 12, EtherType.IPV4);
    c.ipOutRequests++;
    if (this.isOurs(dst)) {
      this.loopback(m);
      return;
    }
    if (this.isBroadcast(dst)) {
      this.xmitTo(m, BROADCAST_MAC);
      return;
    }
    // Over the path MTU with DF clear: fragment (ip_finish_output_gso / ip_fragment).
    if (proto !== IpProto.TCP && IPV4_MIN_HLEN + l4Len > this.pmtu4.get(dst, this.now())) {
      this.frag4.fragmentFrame(m, this.pmtu4.get(dst, this.now()), dst);
      return;
    }
    const hop = this.routes4.nextHop(dst);
    if (hop < 0) {
      c.ipOutNoRoutes++;
      m.free();
      return;
    }
    const ll = this.arp.resolve(hop, m, this.now());
    if (ll !== null) this.xmitTo(m, ll);
  }

  // ------------------------------------------------------------------ ICMP (icmp_rcv, icmp_echo)

  private icmpInput(buf: Uint8Array, off: number, len: number, src: number, bcast: boolean): void {
    const c = this.counters;
    c.icmpInMsgs++;
    const v = this.icmp.reset(buf, off, len);
    if (v.check() !== null || !v.verifyChecksum()) {
      c.icmpInErrors++;
      return;
    }
    const type = v.type;
    if (type === IcmpType.ECHO_REQUEST && v.code === 0) {
      c.icmpInEchos++;
      // icmp_echo_ignore_broadcasts = 1.
      if (bcast) return;
      if (len > this.inlineMax) {
        // A reassembled large echo: the reply is built in the fragmentation scratch and leaves
        // as fragments (Linux's icmp_reply appends it to a fragment list the same way).
        const tx = this.frag4.tx;
        const l4 = IPV4_MIN_HLEN;
        tx.set(buf.subarray(off, off + len), l4);
        tx[l4] = IcmpType.ECHO_REPLY;
        set16(tx, l4 + 2, 0);
        set16(tx, l4 + 2, csumFinish(csumPartial(tx, l4, len)));
        c.icmpOutMsgs++;
        this.frag4.sendLinear(this.addr, src, IpProto.ICMP, len);
        return;
      }
      const m = this.allocL4(len);
      if (m === null) return;
      const pb = this.pool.data;
      const l4 = m.dataOffset + this.l4Offset;
      pb.set(buf.subarray(off, off + len), l4);
      pb[l4] = IcmpType.ECHO_REPLY;
      set16(pb, l4 + 2, 0);
      set16(pb, l4 + 2, csumFinish(csumPartial(pb, l4, len)));
      c.icmpOutMsgs++;
      this.sendIpv4(m, this.addr, src, IpProto.ICMP, len);
      return;
    }
    if (type === IcmpType.ECHO_REPLY && v.code === 0) {
      c.icmpInEchoReps++;
      const key = ((v.ident << 16) | v.seq) >>> 0;
      const w = this.echoWaiters.get(key);
      if (w !== undefined && len >= ICMP_HLEN + 8) {
        this.echoWaiters.delete(key);
        const sent = getF64(buf, off + ICMP_HLEN);
        w(this.now() - sent);
      }
    } else if (type === IcmpType.DEST_UNREACH || type === IcmpType.TIME_EXCEEDED) {
      this.icmp4Errors.input(v);
    }
  }

  /** ICMP error quoting the IP header + 8 bytes of the packet at ipOff (icmp_send), rate-limited. */
  private icmpError(buf: Uint8Array, ipOff: number, type: number, code: number): void {
    if (!this.icmpRate.allow(this.now())) return;
    const ip = this.ip.reset(buf, ipOff, buf.length - ipOff);
    const quote = Math.min(ip.headerLen + 8, ip.totalLength);
    const len = ICMP_HLEN + quote;
    const src = ip.src;
    const m = this.allocL4(len);
    if (m === null) return;
    const pb = this.pool.data;
    const l4 = m.dataOffset + this.l4Offset;
    pb[l4] = type;
    pb[l4 + 1] = code;
    set16(pb, l4 + 2, 0);
    set32(pb, l4 + 4, 0);
    pb.set(buf.subarray(ipOff, ipOff + quote), l4 + ICMP_HLEN);
    set16(pb, l4 + 2, csumFinish(csumPartial(pb, l4, len)));
    this.counters.icmpOutMsgs++;
    this.sendIpv4(m, this.addr, src, IpProto.ICMP, len);
  }

  /**
   * Sends one ICMP echo request with `size` data bytes (at least 8: the send time) and resolves
   * with the round-trip time in ms, or rejects with ETIMEDOUT after `timeout` ms.
   */
  ping(host: string, opts: { timeout?: number; size?: number } = {}): Promise<number> {
    // A host that does not parse rejects the promise rather than throwing (an async API).
    let p: Promise<number>;
    try {
      p = this.ping1(host, opts);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    // An echo in flight keeps the process alive (as a pending request would).
    this.ref(1);
    const done = (): void => this.ref(-1);
    p.then(done, done);
    return p;
  }

  private ping1(host: string, opts: { timeout?: number; size?: number }): Promise<number> {
    if (host.includes(':')) {
      if (this.ip6 === null) return Promise.reject(new NetError('ENETUNREACH', 'ping'));
      return this.ip6.ping(host, opts);
    }
    const dst = parseIpv4(host);
    const size = Math.max(8, opts.size ?? 56);
    if (size > IP_MAX - IPV4_MIN_HLEN - ICMP_HLEN)
      return Promise.reject(new StackError('STACK_ARG', `ping size ${size}`));
    const timeout = opts.timeout ?? 1000;
    return new Promise<number>((resolve, reject) => {
      const ident = this.echoIdent;
      this.echoIdent = (this.echoIdent + 1) & 0xffff;
      const key = ((ident << 16) | 1) >>> 0;
      const timer = this.time.timers.timer(() => {
        this.echoWaiters.delete(key);
        reject(new NetError('ETIMEDOUT', 'ping'));
      });
      this.echoWaiters.set(key, (rtt) => {
        timer.cancel();
        resolve(rtt);
      });
      timer.arm(timeout);
      const len = ICMP_HLEN + size;
      if (len > this.inlineMax) {
        // Larger than one buffer: built in the fragmentation scratch and sent as fragments.
        const tx = this.frag4.tx;
        const l4 = IPV4_MIN_HLEN;
        fillEcho(tx, l4, ident, size, this.now());
        this.counters.icmpOutMsgs++;
        this.frag4.sendLinear(this.addr, dst, IpProto.ICMP, len);
        this.time.poke();
        return;
      }
      const m = this.allocL4(len);
      if (m === null) {
        timer.cancel();
        this.echoWaiters.delete(key);
        reject(new StackError('STACK_FULL', 'no packet buffer for ping'));
        return;
      }
      fillEcho(this.pool.data, m.dataOffset + this.l4Offset, ident, size, this.now());
      this.counters.icmpOutMsgs++;
      this.sendIpv4(m, this.addr, dst, IpProto.ICMP, len);
      this.time.poke();
    });
  }

  /** The next IPv4 identification (for fragments built outside sendIpv4). */
  nextIpIdent(): number {
    const id = this.ipIdent;
    this.ipIdent = (id + 1) & 0xffff;
    return id;
  }

  /** L4 bytes that fit one packet buffer behind Ethernet + IPv4 (larger ones go through frag4.tx). */
  get inlineMax(): number {
    const p = this.pool;
    return p.segmentSize - p.headroom - this.l4Offset;
  }

  /** An mbuf sized for an L4 payload of `l4Len` bytes behind Ethernet + IPv4, or null (counted). */
  allocL4(l4Len: number): Mbuf | null {
    const m = this.pool.alloc();
    const total = this.l4Offset + l4Len;
    if (m === null || !m.extend(total) || m.headLength < total) {
      m?.free();
      this.counters.txNoBuffers++;
      return null;
    }
    return m;
  }

  // ------------------------------------------------------------------ link output

  /** Writes the destination MAC and transmits, or queues behind earlier busy frames. @internal */
  xmitTo(m: Mbuf, ll: Uint8Array): void {
    this.pool.data.set(ll, m.dataOffset);
    this.counters.txFrames++;
    if (this.blLen === 0 && this.netif.transmit(m, this.polling) === 'ok') return;
    if (this.blLen === this.backlog.length) {
      this.counters.txDrops++;
      m.free();
      return;
    }
    this.counters.txBusy++;
    this.backlog[(this.blHead + this.blLen) % this.backlog.length] = m;
    this.blLen++;
  }

  private drainBacklog(): void {
    while (this.blLen > 0) {
      const m = this.backlog[this.blHead]!;
      if (this.netif.transmit(m, this.blLen > 1) !== 'ok') return;
      this.backlog[this.blHead] = undefined;
      this.blHead = (this.blHead + 1) % this.backlog.length;
      this.blLen--;
    }
  }
}

const LOOPBACK4 = 0x7f000001;
const noop = (): void => {};

/** 127.0.0.0/8 (RFC 1122 §3.2.1.3). */
function isLoopback4(a: number): boolean {
  return a >>> 24 === 127;
}

/** An ICMP echo request (sequence 1) with `size` data bytes: the send time, then a byte ramp. */
function fillEcho(b: Uint8Array, l4: number, ident: number, size: number, now: number): void {
  b[l4] = IcmpType.ECHO_REQUEST;
  b[l4 + 1] = 0;
  set16(b, l4 + 2, 0);
  set16(b, l4 + 4, ident);
  set16(b, l4 + 6, 1);
  setF64(b, l4 + ICMP_HLEN, now);
  for (let i = 8; i < size; i++) b[l4 + ICMP_HLEN + i] = i & 0xff;
  set16(b, l4 + 2, csumFinish(csumPartial(b, l4, ICMP_HLEN + size)));
}
