// The link layer of the stack: NAPI-style receive (rxReady schedules a poll with a budget; each
// frame is checked and dispatched by EtherType, a chained one with its TCP payload left in the
// chain or else linearised), Ethernet output with a bounded
// backlog for frames the interface refused ('busy', drained on txRestart: the qdisc's role), the
// loopback (lo: frames to our own addresses come back through input in their own task), and the
// end of every turn, where the turn's transmit burst is flushed and deferred work runs.
import debug from 'debug';
import { COPY_SITE, countCopy } from '../../copycount/index.ts';
import { META_F_DATA_VALID, META_F_NEEDS_CSUM, type Mbuf, type Mempool } from '../../mbuf/index.ts';
import type { NetIf } from '../../netif/index.ts';
import { EtherType, EthernetView, ETH_HLEN } from '../../wire/index.ts';
import type { StackCounters } from '../counters.ts';
import { tcpHeadersInHead } from './rx-chain.ts';

const log = debug('ptnet:link');
const RX_SCRATCH = 65536 + 14 + 60 + 4;

/**
 * A network layer's receive entry: one packet at buf[off, off+len), checksum vouched for or not.
 * `chain` is null when all len bytes are in buf. Otherwise buf is chain.pool.data, the frame is the
 * chain, and only its first segment (every header, up to and including TCP's) is in buf: the
 * TCP payload is read from the chain (packet offsets), never from buf, and not after the call.
 */
export type L3Input = (
  buf: Uint8Array,
  off: number,
  len: number,
  csumOk: boolean,
  chain: Mbuf | null,
) => void;

/** What the network layers above need from the link: the narrow interface they send through. */
export interface LinkOutput {
  readonly mac: Uint8Array;
  readonly pool: Mempool;
  /** The turn being processed is the loopback's (127/8 and ::1 may appear only there). */
  readonly inLoopback: boolean;
  /** Writes the destination MAC, fills source MAC and EtherType, and transmits or queues. */
  xmit(m: Mbuf, ll: Uint8Array, etherType: number): void;
  /** Hands a frame to our own input in its own task (loopback_xmit → netif_rx). */
  loopback(m: Mbuf, etherType: number): void;
}

/** Receive handlers by EtherType and the multicast filter, set by the composition root. */
export interface LinkHandlers {
  ipv4: L3Input;
  arp: (buf: Uint8Array, off: number, len: number) => void;
  ipv6: L3Input | null;
  /** A multicast destination MAC at buf[d] the interface listens to (IPv6 groups). */
  acceptMulticast: ((buf: Uint8Array, d: number) => boolean) | null;
}

/**
 * A turn goes in the microtask queue as a resolved promise's reaction: node's queueMicrotask adds
 * an AsyncResource and a bound function per call (85 → 30 ns and ~450 B less per turn). Link.poll
 * never throws (a throwing socket handler is re-thrown in a microtask of its own, see input).
 */
const resolved = Promise.resolve();

/** Poll turns a task may run as microtasks before the next runs as a task (MAX_SOFTIRQ_RESTART). */
const SOFTIRQ_TURNS = 10;

export interface LinkOptions {
  /** Frames per poll turn (NAPI weight). */
  budget: number;
  /** Frames held while the interface is busy. */
  backlog: number;
  /** Runs the next turn as its own task. */
  schedule: (fn: () => void) => void;
  /** An interrupt's turn may run as a microtask (see Link.rxReady); false: always `schedule`. */
  softirq: boolean;
  /**
   * Brackets the processing of each received frame: what the layers queue meanwhile (socket
   * events) is delivered at leave(), once every layer returned; replies still join the turn's
   * transmit burst.
   */
  turn: { enter(): void; leave(): void };
}

export class Link implements LinkOutput {
  readonly mac: Uint8Array;
  readonly pool: Mempool;
  private handlers: LinkHandlers | null = null;
  private readonly eth = new EthernetView();
  private readonly rxScratch = new Uint8Array(RX_SCRATCH);
  private readonly backlog: (Mbuf | undefined)[];
  private blHead = 0;
  private blLen = 0;
  private polling = false;
  private pollScheduled = false;
  private readonly loQueue: Mbuf[] = [];
  private loScheduled = false;
  private inLo = false;
  /**
   * What transmit, flush and poll call: the NetIf itself, or the device it named as carrying its
   * frames (NetIfEvents.datapath), so a forwarding shell is not a per-packet hop.
   */
  private dev: NetIf;
  /** NetIf.concurrentPeer of `dev`: a turn's burst ends after each received frame. */
  private flushEach: boolean;
  private readonly deliver = (m: Mbuf): void => {
    this.input(m);
    if (this.flushEach) this.dev.flush();
  };
  private readonly loTurn = (): void => this.loopbackTurn();
  private readonly pollTurn = (): void => {
    this.pollScheduled = false;
    this.poll();
  };
  /** Poll turns run as microtasks since the last task boundary (see rxReady). */
  private softirqTurns = 0;
  private readonly softirqReset = (): void => {
    this.softirqTurns = 0;
  };
  /** Schedules one poll turn (NAPI's napi_schedule) as its own task. */
  readonly schedulePoll = (): void => {
    if (this.pollScheduled) return;
    this.pollScheduled = true;
    this.opts.schedule(this.pollTurn);
  };
  /**
   * rxReady (the interrupt): the turn runs as a microtask, as net_rx_action runs on the
   * interrupt's exit, sparing the event loop's round trip; after SOFTIRQ_TURNS such turns
   * within one task it runs as a task (__do_softirq hands over to ksoftirqd after
   * MAX_SOFTIRQ_RESTART rounds), so two stacks answering each other cannot starve timers, I/O
   * and other tasks by chaining microtasks.
   */
  private readonly rxReady = (): void => {
    if (this.pollScheduled) return;
    if (!this.opts.softirq || this.softirqTurns >= SOFTIRQ_TURNS) {
      this.schedulePoll();
      return;
    }
    // The first microtask turn of a task arms the reset at the next task boundary.
    if (this.softirqTurns++ === 0) this.opts.schedule(this.softirqReset);
    this.pollScheduled = true;
    void resolved.then(this.pollTurn);
  };

  constructor(
    readonly netif: NetIf,
    pool: Mempool,
    private readonly counters: StackCounters,
    private readonly opts: LinkOptions,
  ) {
    this.mac = netif.mac;
    this.dev = netif;
    this.flushEach = netif.concurrentPeer === true;
    this.pool = pool;
    this.backlog = new Array<Mbuf | undefined>(opts.backlog);
  }

  /** Starts receiving into `h`: frames that already wait get a turn. */
  start(h: LinkHandlers): void {
    this.handlers = h;
    this.netif.setEvents({
      rxReady: this.rxReady,
      txRestart: () => this.drainBacklog(),
      datapath: (dev) => {
        this.dev = dev ?? this.netif;
        this.flushEach = this.dev.concurrentPeer === true;
      },
    });
    // Frames may already wait (the NetIf arms rxReady only after a poll that ran dry).
    this.schedulePoll();
  }

  get inLoopback(): boolean {
    return this.inLo;
  }

  /**
   * One NAPI turn (net_rx_action → napi_poll); schedules another when the budget ran out. What the
   * turn transmits goes out as one burst: transmit(m, more = true) during the turn, then one flush,
   * so the interface publishes and kicks once per turn instead of once per frame. Toward a peer
   * that runs concurrently (NetIf.concurrentPeer) each received frame's replies are a burst of
   * their own: a turn of twelve 64 KiB frames held the sender's ACKs ~100 µs while its send
   * buffer was full (bench/README.md, "a thread each").
   * @mirrors dev.c:napi_poll
   */
  poll(): void {
    if (this.polling) return;
    this.polling = true;
    let n = 0;
    try {
      n = this.dev.poll(this.opts.budget, this.deliver);
    } finally {
      this.polling = false;
      this.dev.flush();
    }
    if (n === this.opts.budget) this.schedulePoll();
  }

  /**
   * Processes and frees one received frame (netif_receive_skb). Never throws.
   * @mirrors dev.c:__netif_receive_skb_core
   */
  input(m: Mbuf): void {
    const c = this.counters;
    c.rxFrames++;
    let buf = m.pool.data;
    let off = m.dataOffset;
    let chain: Mbuf | null = null;
    const len = m.length;
    const csumOk = (m.meta.flags & (META_F_DATA_VALID | META_F_NEEDS_CSUM)) !== 0;
    if (m.headLength < len) {
      if (csumOk && off + len <= buf.length && tcpHeadersInHead(buf, off, m.headLength)) {
        // A chained (e.g. GRO) TCP frame: headers parsed in the first segment, the payload copied
        // from the chain straight into the receive buffer. The layers' views check their window
        // against buf, hence the frame's length must fit in the pool's storage after its start.
        chain = m;
      } else if (len <= RX_SCRATCH) {
        // Anything else chained (a header past the first segment, a fragment, not TCP, a checksum
        // to verify in software): linearise once into the scratch buffer.
        m.copyTo(this.rxScratch, 0, 0, len);
        countCopy(COPY_SITE.linearise, len);
        c.rxLinearised++;
        buf = this.rxScratch;
        off = 0;
      } else {
        c.rxTooBig++;
        m.free();
        return;
      }
    }
    const turn = this.opts.turn;
    turn.enter();
    try {
      this.ethInput(buf, off, len, csumOk, chain);
    } catch (e) {
      // A bug must not take the datapath down: count it (tests assert this stays 0) and go on.
      c.rxExceptions++;
      if (log.enabled) log('input error %o', e);
    }
    m.free();
    try {
      // The frame's socket events: user code runs here, after every layer returned.
      turn.leave();
    } catch (e) {
      // A handler threw: reported as node reports a throwing event handler, without unwinding
      // the driver's receive loop.
      queueMicrotask(() => {
        throw e;
      });
    }
  }

  /** eth_type_trans + the protocol handlers (__netif_receive_skb_core). */
  private ethInput(buf: Uint8Array, off: number, len: number, csumOk: boolean, chain: Mbuf | null): void {
    const c = this.counters;
    const h = this.handlers;
    const eth = this.eth.reset(buf, off, len);
    if (h === null || eth.check() !== null || eth.vlanCount > 0) {
      c.rxEthErrors++;
      return;
    }
    const mac = this.mac;
    const d = eth.payloadOff - ETH_HLEN;
    let toUs = true;
    let bcast = true;
    for (let i = 0; i < 6; i++) {
      const b = buf[d + i]!;
      if (b !== mac[i]) toUs = false;
      if (b !== 0xff) bcast = false;
    }
    if (!toUs && !bcast && (h.acceptMulticast === null || !h.acceptMulticast(buf, d))) {
      c.rxOtherHost++;
      return;
    }
    const type = eth.etherType;
    if (type === EtherType.IPV4) h.ipv4(buf, eth.payloadOff, eth.payloadLen, csumOk, chain);
    else if (type === EtherType.IPV6 && h.ipv6 !== null)
      h.ipv6(buf, eth.payloadOff, eth.payloadLen, csumOk, chain);
    else if (type === EtherType.ARP) h.arp(buf, eth.payloadOff, eth.payloadLen);
    else c.rxUnknownProto++;
  }

  // ------------------------------------------------------------------ loopback (lo, loopback_xmit)

  /**
   * A frame to our own address never reaches the NIC: it comes back through input() in its own
   * task, as loopback_xmit hands it to netif_rx. A pending checksum (NEEDS_CSUM) stays pending
   * and input() trusts it, as CHECKSUM_PARTIAL on lo.
   * @mirrors loopback.c:loopback_xmit
   */
  loopback(m: Mbuf, etherType: number): void {
    this.writeEthernet(m, this.mac, etherType);
    this.counters.txFrames++;
    this.loQueue.push(m);
    if (this.loScheduled) return;
    this.loScheduled = true;
    this.opts.schedule(this.loTurn);
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
      this.dev.flush();
    }
  }

  // ------------------------------------------------------------------ output (dev_queue_xmit)

  private readonly ethOut = new EthernetView();

  /** Destination and source MAC and the EtherType, through the Ethernet view. */
  private writeEthernet(m: Mbuf, ll: Uint8Array, etherType: number): void {
    const b = this.pool.data;
    const o = m.dataOffset;
    b.set(ll, o);
    b.set(this.mac, o + 6);
    this.ethOut.reset(b, o, ETH_HLEN).etherType = etherType;
  }

  /**
   * Fills the Ethernet header and transmits, or queues behind earlier busy frames.
   * @mirrors dev.c:__dev_queue_xmit
   */
  xmit(m: Mbuf, ll: Uint8Array, etherType: number): void {
    this.writeEthernet(m, ll, etherType);
    this.counters.txFrames++;
    if (this.blLen === 0 && this.dev.transmit(m, this.polling) === 'ok') return;
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
      if (this.dev.transmit(m, this.blLen > 1) !== 'ok') return;
      this.backlog[this.blHead] = undefined;
      this.blHead = (this.blHead + 1) % this.backlog.length;
      this.blLen--;
    }
  }
}
