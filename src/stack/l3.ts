// The narrow interface transport protocols use to send, one shape for both address families (the
// role of Linux's inet_connection_sock_af_ops: ipv4_specific and ipv6_specific behind one table).
// Transport code writes its header and payload at `l4Offset` in a pool mbuf; the IP layer fills the
// IP and Ethernet headers in front, resolves the next hop and transmits (ip_queue_xmit /
// inet6_csk_xmit). Addresses travel as an IpPair, so TCP and UDP carry no per-family branches.
import type { Mbuf, Mempool } from '../mbuf/index.ts';
import { IN4_ANY, type In4 } from '../wire/index.ts';

/**
 * The two endpoints of a datagram or connection, seen from this host: `l` is ours, `r` the peer.
 * Family 4 uses the In4s, family 6 the 16-byte arrays; the other pair is ignored.
 */
export interface IpPair {
  laddr: In4;
  raddr: In4;
  readonly laddr6: Uint8Array;
  readonly raddr6: Uint8Array;
}

/** A reusable IpPair (the IP layers fill one per received packet; no allocation per packet). */
export class IpPairScratch implements IpPair {
  laddr = IN4_ANY;
  raddr = IN4_ANY;
  readonly laddr6 = new Uint8Array(16);
  readonly raddr6 = new Uint8Array(16);

  /** Copies `p`'s addresses of `family` (the other family's fields are left as they are). */
  copy(p: IpPair, family: 4 | 6): this {
    if (family === 4) {
      this.laddr = p.laddr;
      this.raddr = p.raddr;
    } else {
      this.laddr6.set(p.laddr6);
      this.raddr6.set(p.raddr6);
    }
    return this;
  }
}

/** Why no source address could be chosen (node:net error codes). */
export type SourceError = 'ENETUNREACH' | 'EADDRNOTAVAIL';

/** The family-neutral IP output that TCP and UDP send through (one per family). */
export interface L3Output {
  readonly family: 4 | 6;
  readonly pool: Mempool;
  /** Ethernet + IP header bytes in front of the L4 header (no IP options or extension headers). */
  readonly l4Offset: number;
  /** The IP header length this family sends (20 or 40). */
  readonly ipHeaderLen: number;
  /** Largest L4 datagram in one link frame: link MTU - IP header. */
  readonly l4Mtu: number;
  /** The interface completes checksums (virtio NEEDS_CSUM). */
  readonly txCsum: boolean;
  /** The interface accepts TCP super-frames of this family. */
  readonly tso: boolean;
  /** Largest L4 segment towards p's remote: min(link MTU, cached path MTU) - IP header. */
  l4PathMtu(p: IpPair): number;
  /** The pseudo-header sum (not folded, not complemented) for an L4 datagram from l to r. */
  pseudo(p: IpPair, proto: number, l4Len: number): number;
  /**
   * Picks our source address towards p's remote and writes it into p's local field (the routing
   * decision's source: inet_select_addr, ipv6_dev_get_saddr). null when one was found, else why
   * not: no route (ENETUNREACH) or no usable address yet, e.g. IPv6 DAD running (EADDRNOTAVAIL).
   */
  selectSource(p: IpPair): SourceError | null;
  /** L4 bytes that fit one pool buffer behind the headers (larger datagrams go through `large`). */
  readonly inlineMax: number;
  /** A pool mbuf with room for the headers and l4Len bytes, or null (counted). */
  allocL4(l4Len: number): Mbuf | null;
  /** Whether p's remote is a broadcast address of ours (never for IPv6). */
  isBroadcast(p: IpPair): boolean;
  /** Fills the IP/Ethernet headers for l4Len bytes at l4Offset, from l to r, and sends; m is consumed. */
  output(m: Mbuf, p: IpPair, proto: number, l4Len: number, ecn?: number): void;
  /**
   * Scratch for an L4 datagram too large for one pool buffer: write it at [ipHeaderLen, +l4Len)
   * and call outputLarge, which sends it as fragments.
   */
  readonly large: Uint8Array;
  /** Sends the datagram written in `large` (fragmented to the path MTU); false when it cannot. */
  outputLarge(p: IpPair, proto: number, l4Len: number): boolean;
}

/** TCP as the IP layers see it (tcp_v4_rcv / tcp_v6_rcv and the ICMP error hooks). */
export interface TcpInput {
  /**
   * One segment from p.r to p.l; p may be reused by the caller after the call. `ecn` is the ECN
   * field of its IP header (RFC 3168 §5: 0 not-ECT, 1 / 2 ECT, 3 CE). A non-null `chain` is the
   * received frame (buf is chain.pool.data, only the headers are in buf): the payload is read from
   * it, during the call only.
   */
  input(
    buf: Uint8Array,
    off: number,
    len: number,
    p: IpPair,
    csumOk: boolean,
    ecn: number,
    chain: Mbuf | null,
  ): void;
  /** An ICMP error about a segment we sent from p.l:lport to p.r:rport. */
  icmpError(p: IpPair, lport: number, rport: number, seq: number, mtu: number): boolean;
}

/** UDP as the IP layers see it: one socket table for both families (udp_rcv / udpv6_rcv). */
export interface UdpInput {
  /** One datagram; false when no socket is bound to its port (the caller may send port unreachable). */
  input(buf: Uint8Array, off: number, len: number, p: IpPair, family: 4 | 6, csumOk: boolean): boolean;
}

/** The transport protocols an IP layer delivers to (its part of the inet protocol table). */
export interface TransportInputs {
  readonly tcp: TcpInput;
  readonly udp: UdpInput;
}
