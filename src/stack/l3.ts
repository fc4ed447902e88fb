// The narrow interface transport protocols use to send: the IP layer below them. Transport code
// writes its header and payload at `l4Offset` in a fresh mbuf; the IP layer fills the IP and
// Ethernet headers in front, resolves the next hop and transmits (ip_queue_xmit's role).
import type { Mbuf, Mempool } from '../mbuf/index.ts';

export interface Ipv4Output {
  readonly pool: Mempool;
  /** Ethernet + IPv4 header bytes in front of the L4 header (no IP options are sent). */
  readonly l4Offset: number;
  /** Largest L4 segment in one frame: MTU - 20. */
  readonly l4Mtu: number;
  /** Largest L4 segment towards dst: min(link MTU, cached path MTU) - 20. */
  l4PathMtu(dst: number): number;
  /** The interface completes checksums (virtio NEEDS_CSUM). */
  readonly txCsum: boolean;
  /** The interface accepts TCPv4 super-frames. */
  readonly tso: boolean;
  /** Fills IPv4/Ethernet headers for an L4 payload of l4Len bytes at l4Offset and sends; m is consumed. */
  sendIpv4(m: Mbuf, src: number, dst: number, proto: number, l4Len: number): void;
  /** Our IPv4 address for a destination (the route's source), or -1 when unroutable. */
  sourceFor(dst: number): number;
}
