// The stack instance, the composition root of its layers: one NetIf under a link layer (NAPI poll,
// Ethernet, the backlog, the loopback), IPv4 (with ARP, ICMP and fragmentation) and optionally
// IPv6 (with ICMPv6, NDP and fragmentation) beside each other in the same shape, TCP per family
// and one UDP socket table over the family-neutral L3Output, and the node:net-like API. Each layer
// gets the narrow interface it needs, never the Stack; the Stack only wires them and answers the
// socket API's questions (which TCP, which IP output, process refs).
import { Mempool } from '../mbuf/index.ts';
import type { NetIf } from '../netif/index.ts';
import { in4, in4U32, parseIn4, parseIpv4Prefixed, type In4 } from '../wire/index.ts';
import { StackCounters } from './counters.ts';
import { NetError } from './errors.ts';
import { EventQueue } from './events.ts';
import { IcmpRateLimit } from './icmp-rate.ts';
import { Ipv4Layer } from './ipv4/ipv4.ts';
import { Ipv6Layer, type Ipv6Options } from './ipv6/ipv6.ts';
import type { L3Output } from './l3.ts';
import { Link } from './link/link.ts';
import type { NeighbourParams } from './neighbour.ts';
import type { ReasmParams } from './reassembly.ts';
import { type NetHost, Net } from './socket.ts';
import { RealTimeDriver, type TimerHost } from './timer.ts';
import { Tcp } from './tcp/tcp.ts';
import type { TcbOptions } from './tcp/tcb.ts';
import { UdpLayer } from './udp.ts';

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
  /**
   * Runs poll turns as tasks (default setImmediate). Without it, the turn an interrupt asks for
   * runs as a microtask (softirq on irq exit, at most 10 per task); with it, every turn goes
   * through it, so a caller that drives the turns itself sees all of them.
   */
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

export class Stack implements NetHost {
  readonly netif: NetIf;
  readonly time: TimerHost;
  readonly pool: Mempool;
  readonly counters = new StackCounters();
  readonly link: Link;
  readonly ipv4: Ipv4Layer;
  /** IPv6, when enabled by options.ipv6. */
  readonly ip6: Ipv6Layer | null;
  /** TCP over IPv4 (tcp_v4) and over IPv6 (tcp_v6, when IPv6 is on): one code, one table each. */
  readonly tcp: Tcp;
  readonly tcp6: Tcp | null;
  readonly udp: UdpLayer;
  /** node:net / node:dgram-like API. */
  readonly net: Net;
  readonly tcpDefaults: TcbOptions;
  /** Shared ICMPv4/ICMPv6 error rate limit. */
  readonly icmpRate = new IcmpRateLimit();
  /** Socket events raised during a turn, delivered when it ends. */
  readonly events = new EventQueue();
  // Process refs: ref'd handles (servers, sockets, in-flight pings) and the host handle they hold.
  private processRefs: boolean;
  private refs = 0;
  private refHandle: ReturnType<typeof setInterval> | undefined;

  constructor(opts: StackOptions) {
    this.netif = opts.netif;
    // WireError BAD_ADDRESS for a malformed address or prefix; no prefix means a host route (/32).
    const own = parseIpv4Prefixed(opts.ipv4, 32);
    this.time = opts.time ?? new RealTimeDriver();
    this.pool = opts.pool ?? new Mempool({ segments: 4096, segmentSize: 2048 });
    this.tcpDefaults = opts.tcp ?? {};
    this.processRefs = opts.processRefs ?? this.time instanceof RealTimeDriver;
    const nif = this.netif;
    // TSO frames must carry NEEDS_CSUM (virtio_net_hdr rules), so both offloads are needed.
    const txCsum = nif.offloads.txCsum;
    this.link = new Link(nif, this.pool, this.counters, {
      budget: opts.rxBudget ?? 64,
      backlog: opts.txBacklog ?? 4096,
      schedule: opts.schedule ?? setImmediate,
      softirq: opts.schedule === undefined,
      turn: this.frameTurn(),
    });
    this.ipv4 = new Ipv4Layer(this.link, this.counters, this.time, this.icmpRate, {
      addr: in4(own.addr),
      prefixLen: own.prefixLen,
      gateway: opts.gateway === undefined ? null : parseIn4(opts.gateway),
      mtu: nif.mtu,
      txCsum,
      tso: txCsum && nif.offloads.tso4 && !opts.noTso,
      arp: opts.arp,
      reasm: opts.reasm,
    });
    this.ip6 =
      opts.ipv6 === undefined
        ? null
        : new Ipv6Layer(
            this.link,
            this.counters,
            this.time,
            this.icmpRate,
            { mtu: nif.mtu, txCsum, tso: txCsum && nif.offloads.tso6 && !opts.noTso },
            opts.ipv6,
          );
    const timers = this.time.timers;
    this.tcp = new Tcp(timers, this.ipv4, opts.isnKey);
    this.tcp6 = this.ip6 === null ? null : new Tcp(timers, this.ip6, opts.isnKey);
    this.udp = new UdpLayer(this);
    this.net = new Net(this);
    this.ipv4.attach({ tcp: this.tcp, udp: this.udp });
    if (this.ip6 !== null && this.tcp6 !== null) this.ip6.attach({ tcp: this.tcp6, udp: this.udp });
    const ip6 = this.ip6;
    this.link.start({
      ipv4: (b, o, l, c, m) => this.ipv4.input(b, o, l, c, false, m),
      arp: (b, o, l) => this.ipv4.arp.input(b, o, l),
      ipv6: ip6 === null ? null : (b, o, l, c, m) => ip6.input(b, o, l, c, false, m),
      acceptMulticast: ip6 === null ? null : (b, d) => ip6.acceptMac(b, d),
    });
  }

  now(): number {
    return this.time.timers.now();
  }

  /** Our IPv4 address, as a u32. */
  get addr(): number {
    return in4U32(this.ipv4.addr);
  }

  get txCsum(): boolean {
    return this.ipv4.txCsum;
  }

  get tso(): boolean {
    return this.ipv4.tso;
  }

  // ------------------------------------------------------------------ NetHost

  tcpOf(family: 4 | 6): Tcp | null {
    return family === 4 ? this.tcp : this.tcp6;
  }

  l3(family: 4 | 6): L3Output | null {
    return family === 4 ? this.ipv4 : this.ip6;
  }

  isLocal4(addr: In4): boolean {
    return this.ipv4.isOurs(addr);
  }

  // ------------------------------------------------------------------ receive

  /**
   * What brackets each received frame: the clock is read once for every layer the frame crosses
   * (TimerQueue.now), and its socket events go out when it ends. The clock's turn ends first, so
   * the handlers the events run (user code, which may write) read a fresh time.
   */
  private frameTurn(): { enter(): void; leave(): void } {
    const timers = this.time.timers;
    const events = this.events;
    return {
      enter(): void {
        timers.enterTurn();
        events.enter();
      },
      leave(): void {
        timers.leaveTurn();
        events.leave();
      },
    };
  }

  /** One NAPI turn of the link (tests and the unikernel drive it directly). */
  poll(): void {
    this.link.poll();
  }

  /** Processes and frees one received frame. Never throws. */
  input(m: Parameters<Link['input']>[0]): void {
    this.link.input(m);
  }

  /**
   * Announces our addresses where we are now: a gratuitous ARP request (RFC 5227 §3) and, with
   * IPv6, unsolicited neighbour advertisements (RFC 4861 §7.2.6).
   */
  announce(): void {
    this.ipv4.arp.announce();
    this.ip6?.ndp.announce(this.ip6.addresses);
  }

  // ------------------------------------------------------------------ ping

  /**
   * Sends one ICMP or ICMPv6 echo request with `size` data bytes (at least 8: the send time) and
   * resolves with the round-trip time in ms, or rejects with ETIMEDOUT after `timeout` ms.
   */
  ping(host: string, opts: { timeout?: number; size?: number } = {}): Promise<number> {
    // A host that does not parse rejects the promise rather than throwing (an async API). The
    // send is one turn: the stamp in the data, the timeout and the route share one clock read.
    let p: Promise<number>;
    const timers = this.time.timers;
    timers.enterTurn();
    try {
      if (host.includes(':')) {
        p =
          this.ip6 === null
            ? Promise.reject(new NetError('ENETUNREACH', 'ping'))
            : this.ip6.icmp.ping(host, opts);
      } else {
        p = this.ipv4.icmp.ping(parseIn4(host), opts);
      }
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    } finally {
      timers.leaveTurn();
    }
    // An echo in flight keeps the process alive (as a pending request would).
    this.ref(1);
    const done = (): void => this.ref(-1);
    p.then(done, done);
    return p;
  }

  // ------------------------------------------------------------------ process refs

  /**
   * A handle (server, socket, pending ping) starts (+1) or stops (-1) keeping the process alive:
   * while any is ref'd, one host timer is ref'd, as an active libuv handle would be. The timer is
   * armed once and then only ref'd and unref'd (uv_ref/uv_unref): arming and clearing one per
   * ping cost a timer allocation and a libuv timer start and stop per echo.
   * @internal
   */
  ref(delta: 1 | -1): void {
    this.refs += delta;
    if (!this.processRefs) return;
    if (this.refs > 0) {
      if (this.refHandle === undefined) this.refHandle = setInterval(noop, 0x7fffffff);
      else if (!this.refHandle.hasRef()) this.refHandle.ref();
    } else if (this.refHandle?.hasRef() === true) {
      this.refHandle.unref();
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
}

const noop = (): void => {};
