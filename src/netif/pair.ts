// Two NetIfs joined by an in-memory wire (a veth pair without a kernel): what one transmits, the
// other receives, in order, with the mbuf itself handed across (no copy). Deterministic: no timers;
// notifications go through a scheduler (queueMicrotask unless the test passes its own).
//
// Like veth, it checks what a real link would: runts and frames over the MTU are dropped, and so is
// offload metadata one side did not advertise (a stack bug or a test misconfiguration, counted so a
// test can assert on it) — the pair never segments or completes checksums itself.
import {
  META_F_DATA_VALID,
  META_F_NEEDS_CSUM,
  META_GSO_ECN,
  META_GSO_NONE,
  META_GSO_TCPV4,
  META_GSO_TCPV6,
  META_GSO_UDP_L4,
  type Mbuf,
} from '../mbuf/index.ts';
import { VNET_MAX_GSO_FRAME } from '../vnethdr/index.ts';
import { NetIfError } from './errors.ts';
import {
  NO_OFFLOADS,
  type DeliverFn,
  type NetIf,
  type NetIfEvents,
  type NetIfOffloads,
  type TxResult,
} from './netif.ts';

const ETH_HLEN = 14;
const VLAN_HLEN = 4;
const ETH_P_8021Q = 0x8100;

export interface NetIfPairSide {
  name?: string;
  mac?: Uint8Array;
  offloads?: Partial<NetIfOffloads>;
}

export interface NetIfPairOptions {
  /** MTU of both ends (default 1500). */
  mtu?: number;
  /** Frames in flight per direction before transmit says 'busy' (default: unbounded). */
  queueLimit?: number;
  a?: NetIfPairSide;
  b?: NetIfPairSide;
  /** Runs a notification later, outside transmit/poll (default queueMicrotask). */
  schedule?: (fn: () => void) => void;
}

export class MemNetIf implements NetIf {
  readonly name: string;
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly offloads: Readonly<NetIfOffloads>;

  txPackets = 0;
  txBytes = 0;
  /** transmit calls answered 'busy'. */
  txBusy = 0;
  rxPackets = 0;
  rxBytes = 0;
  /** Frames shorter than an Ethernet header. */
  dropRunt = 0;
  /** Non-GSO frames longer than the MTU allows, or super-frames over 64 KiB of payload. */
  dropOversize = 0;
  /** Offload metadata the sender or the receiver did not advertise. */
  dropOffload = 0;

  /** @internal */ peer!: MemNetIf;
  private readonly limit: number;
  private readonly schedule: (fn: () => void) => void;
  private events: NetIfEvents | null = null;
  // Receive queue: a ring of mbufs that grows only when unbounded.
  private q: (Mbuf | undefined)[];
  private qHead = 0;
  private qLen = 0;
  private rxArmed = true;
  private txStopped = false;
  /** The peer has frames queued by transmit(m, more = true) and no rxReady yet. */
  private notifyPending = false;

  constructor(
    side: NetIfPairSide,
    mtu: number,
    limit: number,
    schedule: (fn: () => void) => void,
    def: string,
  ) {
    this.name = side.name ?? def;
    this.mac = side.mac ?? new Uint8Array([0x02, 0, 0, 0, 0, def === 'a' ? 1 : 2]);
    if (this.mac.length !== 6) throw new NetIfError('BAD_CONFIG', `mac of ${this.name} is not 6 bytes`);
    this.mtu = mtu;
    this.offloads = Object.freeze({ ...NO_OFFLOADS, ...side.offloads });
    this.limit = limit;
    this.schedule = schedule;
    this.q = new Array<Mbuf | undefined>(Number.isFinite(limit) ? limit : 64);
  }

  /** Frames waiting in this end's receive queue. */
  get rxQueued(): number {
    return this.qLen;
  }

  setEvents(events: NetIfEvents | null): void {
    this.events = events;
  }

  transmit(m: Mbuf, more = false): TxResult {
    const peer = this.peer;
    let res: TxResult = 'ok';
    if (!this.admissible(m)) {
      m.pool.free(m);
    } else if (peer.qLen >= this.limit) {
      this.txBusy++;
      this.txStopped = true;
      res = 'busy';
    } else {
      m.meta.flags &= ~META_F_DATA_VALID; // device→driver only; meaningless on transmit
      this.txPackets++;
      this.txBytes += m.length;
      peer.enqueue(m);
      if (peer.rxArmed) {
        peer.rxArmed = false;
        this.notifyPending = true;
      }
    }
    if (!more && this.notifyPending) {
      this.notifyPending = false;
      this.schedule(peer.fireRxReady);
    }
    return res;
  }

  flush(): void {
    if (!this.notifyPending) return;
    this.notifyPending = false;
    this.schedule(this.peer.fireRxReady);
  }

  poll(budget: number, deliver: DeliverFn): number {
    let n = 0;
    while (n < budget && this.qLen > 0) {
      const m = this.q[this.qHead]!;
      this.q[this.qHead] = undefined;
      this.qHead = this.qHead + 1 === this.q.length ? 0 : this.qHead + 1;
      this.qLen--;
      this.rxPackets++;
      this.rxBytes += m.length;
      m.meta.rxQueue = 0;
      deliver(m);
      n++;
    }
    const peer = this.peer;
    if (n > 0 && peer.txStopped && this.qLen < peer.limit) {
      peer.txStopped = false;
      this.schedule(peer.fireTxRestart);
    }
    if (n < budget) this.rxArmed = true;
    return n;
  }

  /** Checks a frame against both ends' capabilities; counts and returns false for drops. */
  private admissible(m: Mbuf): boolean {
    const len = m.length;
    if (len < ETH_HLEN) {
      this.dropRunt++;
      return false;
    }
    const vlan = len >= ETH_HLEN + VLAN_HLEN && m.getU16(12) === ETH_P_8021Q ? VLAN_HLEN : 0;
    const meta = m.meta;
    const tx = this.offloads;
    const rx = this.peer.offloads;
    if ((meta.flags & META_F_NEEDS_CSUM) !== 0 && !(tx.txCsum && rx.rxCsum)) {
      this.dropOffload++;
      return false;
    }
    if (meta.gsoType !== META_GSO_NONE) {
      const t = meta.gsoType & ~META_GSO_ECN;
      const ok =
        (t === META_GSO_TCPV4 ? tx.tso4 : t === META_GSO_TCPV6 ? tx.tso6 : t === META_GSO_UDP_L4 && tx.uso) &&
        ((meta.gsoType & META_GSO_ECN) === 0 || tx.tsoEcn) &&
        (meta.flags & META_F_NEEDS_CSUM) !== 0 &&
        meta.gsoSize > 0 &&
        rx.rxGso;
      if (!ok) {
        this.dropOffload++;
        return false;
      }
      if (len > VNET_MAX_GSO_FRAME + vlan) {
        this.dropOversize++;
        return false;
      }
      return true;
    }
    if (len > ETH_HLEN + vlan + this.mtu) {
      this.dropOversize++;
      return false;
    }
    return true;
  }

  private enqueue(m: Mbuf): void {
    if (this.qLen === this.q.length) {
      // Only an unbounded queue gets here: unroll the ring into one twice as large.
      const bigger = new Array<Mbuf | undefined>(this.q.length * 2);
      for (let i = 0; i < this.qLen; i++) bigger[i] = this.q[(this.qHead + i) % this.q.length];
      this.q = bigger;
      this.qHead = 0;
    }
    this.q[(this.qHead + this.qLen) % this.q.length] = m;
    this.qLen++;
  }

  // Bound once, so scheduling a notification allocates no closure.
  private readonly fireRxReady = (): void => {
    this.events?.rxReady();
  };

  private readonly fireTxRestart = (): void => {
    this.events?.txRestart();
  };
}

/** Two NetIfs on one wire: `a.transmit` arrives at `b.poll` and vice versa. */
export function createNetIfPair(opts: NetIfPairOptions = {}): { a: MemNetIf; b: MemNetIf } {
  const mtu = opts.mtu ?? 1500;
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new NetIfError('BAD_CONFIG', `mtu ${mtu}`);
  const limit = opts.queueLimit ?? Infinity;
  if (limit !== Infinity && (!Number.isInteger(limit) || limit < 1)) {
    throw new NetIfError('BAD_CONFIG', `queueLimit ${limit}`);
  }
  const schedule = opts.schedule ?? queueMicrotask;
  const a = new MemNetIf(opts.a ?? {}, mtu, limit, schedule, 'a');
  const b = new MemNetIf(opts.b ?? {}, mtu, limit, schedule, 'b');
  a.peer = b;
  b.peer = a;
  return { a, b };
}
