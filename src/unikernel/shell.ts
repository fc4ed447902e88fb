// The NIC "shell" of the Network Plugin Architecture idea (vmxnet3 NPA): the NetIf the stack holds
// for its whole life, in front of whichever ptnet NIC ("plugin") currently carries its traffic.
// Between plugins it refuses transmits with 'busy', so the stack's backlog keeps the frames (as a
// stopped qdisc keeps skbs), and it reports no received frames; attaching the next plugin restarts
// both directions. The MAC, MTU and offloads are the ones the stack was built with. The shell
// is control plane: it names the plugin to the stack (NetIfEvents.datapath) so frames go to the
// plugin directly, and its own transmit/poll/flush serve only a holder that does not listen.
import type { Mbuf } from '../mbuf/index.ts';
import type { DeliverFn, NetIf, NetIfEvents, NetIfOffloads, TxResult } from '../netif/index.ts';
import { UnikernelError } from './errors.ts';

/** What the stack's transmitted frames rely on (receive offloads only widen what a NIC delivers). */
const TX_OFFLOADS = ['txCsum', 'tso4', 'tso6', 'tsoEcn', 'uso'] as const;

export class NetIfShell implements NetIf {
  readonly name: string;
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly offloads: Readonly<NetIfOffloads>;
  private inner: NetIf | null;
  private events: NetIfEvents | null = null;

  /** `mac`: the address to keep instead of the first NIC's (a stack restored from a snapshot keeps its own). */
  constructor(first: NetIf, mac: Uint8Array = first.mac) {
    this.name = first.name;
    this.mac = Uint8Array.from(mac);
    this.mtu = first.mtu;
    this.offloads = { ...first.offloads };
    this.inner = first;
  }

  get concurrentPeer(): boolean {
    return this.inner?.concurrentPeer === true;
  }

  /** The NIC carrying traffic now, null between two. */
  get plugin(): NetIf | null {
    return this.inner;
  }

  transmit(m: Mbuf, more?: boolean): TxResult {
    return this.inner === null ? 'busy' : this.inner.transmit(m, more);
  }

  flush(): void {
    this.inner?.flush();
  }

  poll(budget: number, deliver: DeliverFn): number {
    return this.inner === null ? 0 : this.inner.poll(budget, deliver);
  }

  setEvents(events: NetIfEvents | null): void {
    this.events = events;
    this.inner?.setEvents(events);
    events?.datapath?.(this.inner);
  }

  /** Detaches the current plugin: no more transmits reach it, nor its notifications the stack. */
  unplug(): NetIf | null {
    const n = this.inner;
    n?.setEvents(null);
    this.inner = null;
    this.events?.datapath?.(null);
    return n;
  }

  /**
   * Puts `n` behind the shell and restarts both directions: the backlog drains into it
   * (txRestart) and a poll collects what already waits (rxReady). A plugin must offer at least the
   * offloads the stack was built with (a stack that sends NEEDS_CSUM frames cannot move to a NIC
   * without checksum offload), and the same MTU.
   */
  plug(n: NetIf): void {
    this.check(n);
    this.inner = n;
    const ev = this.events;
    n.setEvents(ev);
    ev?.datapath?.(n);
    ev?.txRestart();
    ev?.rxReady();
  }

  /** Throws a typed error unless `n` could be plugged (see plug); checks only, changes nothing. */
  check(n: NetIf): void {
    for (const k of TX_OFFLOADS) {
      if (this.offloads[k] && !n.offloads[k])
        throw new UnikernelError('BAD_OPTION', `the new NIC lacks offload ${k}`);
    }
    if (n.mtu !== this.mtu)
      throw new UnikernelError('BAD_OPTION', `the new NIC's MTU ${n.mtu} is not ${this.mtu}`);
  }
}
