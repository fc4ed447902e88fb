// The data of the echo requests ping sends, for ICMPv4 and ICMPv6 alike.
import { ICMP_HLEN, setF64 } from '../wire/index.ts';

/**
 * Echo data behind the 8-byte ICMP header at b[l4]: the send time (a host-order double, read back
 * only by this host to compute the round trip), then a byte ramp, as ping(8) fills it.
 */
export function fillEchoData(b: Uint8Array, l4: number, size: number, now: number): void {
  setF64(b, l4 + ICMP_HLEN, now);
  for (let i = 8; i < size; i++) b[l4 + ICMP_HLEN + i] = i & 0xff;
}
