// NetIf: the one door between the stack and any network interface (the ptnet driver's
// network-interface mode, the in-memory pair below, a TAP later). The shape follows Linux's
// net_device contract: ndo_start_xmit with NETDEV_TX_BUSY for transmit, NAPI for receive.
//
// Why receive is a budgeted poll (NAPI) and not a push callback: the ptnet driver already works
// that way (ptnet_rx_poll, weight 64; interrupt → schedule → poll until the budget or the ring runs
// out → re-arm), so the interface never has to hold a packet the stack cannot take, the stack
// decides how much work one turn of its loop does (fairness between interfaces, timers, TX), and
// notifications stay rare under load because none is raised while the consumer is still polling.
//
// Ownership rules:
// - transmit(m) === 'ok': the interface owns m from then on and frees it (into m.pool) when done.
//   transmit(m) === 'busy': nothing happened; the caller still owns m and retries after txRestart.
// - poll(budget, deliver): each delivered mbuf belongs to the callee of deliver, which must free it
//   (or hand it on). deliver runs synchronously inside poll and must not call poll again.
// - Notifications are edge-triggered and never delivered re-entrantly from inside transmit/poll.
import type { Mbuf } from '../mbuf/index.ts';

/** What the interface can do with offload metadata (PacketMeta, virtio_net_hdr semantics). */
export interface NetIfOffloads {
  /** transmit accepts META_F_NEEDS_CSUM: the checksum from csumStart is completed downstream. */
  txCsum: boolean;
  /** receive may deliver META_F_NEEDS_CSUM (partial, to be trusted) and META_F_DATA_VALID packets. */
  rxCsum: boolean;
  /** transmit accepts TCPv4 super-frames (META_GSO_TCPV4). */
  tso4: boolean;
  /** transmit accepts TCPv6 super-frames (META_GSO_TCPV6). */
  tso6: boolean;
  /** transmit accepts super-frames with META_GSO_ECN (CWR set on the first segment). */
  tsoEcn: boolean;
  /** transmit accepts UDP segmentation super-frames (META_GSO_UDP_L4). */
  uso: boolean;
  /** receive may deliver GSO super-frames up to 64 KiB of payload (LRO/GRO acceptance). */
  rxGso: boolean;
}

export const NO_OFFLOADS: Readonly<NetIfOffloads> = Object.freeze({
  txCsum: false,
  rxCsum: false,
  tso4: false,
  tso6: false,
  tsoEcn: false,
  uso: false,
  rxGso: false,
});

export type TxResult = 'ok' | 'busy';

/** Receives one packet from poll; the callee owns it. Create it once, not per poll. */
export type DeliverFn = (m: Mbuf) => void;

/** Notifications from the interface; each is raised once per arming, never re-entrantly. */
export interface NetIfEvents {
  /** Packets are waiting and nobody is polling: call poll until it returns less than the budget. */
  rxReady(): void;
  /** A transmit returned 'busy' earlier and there is room again. */
  txRestart(): void;
  /**
   * Raised by a NetIf that only forwards to another (the unikernel's shell in front of a
   * replaceable NIC): `dev` carries the frames from now on, so transmit, flush and poll may call
   * it directly instead of through the forwarder; null: call the forwarder again (it refuses with
   * 'busy' and polls nothing between two NICs). The receiver still holds the forwarder for the
   * interface's identity (name, MAC, MTU, offloads). A pure forwarding hop then costs nothing per
   * packet, as Linux's static_call_update() repoints a call site at its new target.
   */
  datapath?(dev: NetIf | null): void;
}

export interface NetIf {
  readonly name: string;
  /** Ethernet address, 6 bytes. */
  readonly mac: Uint8Array;
  /** Largest L3 packet without GSO (Ethernet payload, excluding the 14-byte header and VLAN tags). */
  readonly mtu: number;
  readonly offloads: Readonly<NetIfOffloads>;
  /**
   * What the interface transmits is taken by something that runs while this thread does and may
   * be waiting on it: a sync loop in a worker thread, a peer guest in another thread. The stack
   * then ends a receive turn's burst after each received frame instead of at the turn's end, so
   * the peer acts on an ACK while the turn goes on, as Linux sends it from the receive path at
   * once. Absent or false: holding the turn's replies to one kick costs the peer nothing (an
   * inline sync loop whose peers share this thread).
   */
  readonly concurrentPeer?: boolean;

  /**
   * Queues one Ethernet frame (with its meta) for transmission. `more` = more frames follow at once
   * (skb->xmit_more): the interface may delay publication and the doorbell until a call with
   * more = false. 'busy' = no room; the caller keeps m and waits for txRestart.
   */
  transmit(m: Mbuf, more?: boolean): TxResult;

  /**
   * Ends a burst of transmit(m, more = true) calls whose last frame the caller could not know in
   * advance (a stack learns where a NAPI turn's replies end only after the turn): publishes what
   * the interface held back and raises the peer's notification or rings the doorbell if needed.
   * What xmit_more = false on the last skb does in Linux; a no-op when nothing is held.
   */
  flush(): void;

  /**
   * Delivers up to `budget` received frames through `deliver`, returns how many. A result below the
   * budget means the queue ran empty and rxReady is armed again; a result equal to the budget means
   * more may be waiting and no rxReady will come until the caller polls again (NAPI contract).
   */
  poll(budget: number, deliver: DeliverFn): number;

  /** Installs (or removes, with null) the notification handlers. */
  setEvents(events: NetIfEvents | null): void;
}
