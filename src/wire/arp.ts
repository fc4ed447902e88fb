// ARP (RFC 826). The view reads the generic 8-byte header and sizes the packet from hlen/plen
// like arp_hdr_len(); the address accessors and the repr handle Ethernet/IPv4 only, as
// arp_process() does (other pairs are UNSUPPORTED, not malformed).
import { ARP_ETH_IPV4_LEN, ARP_HTYPE_ETHERNET, EtherType } from './constants.ts';
import { WireError, type WireErrorCode } from './errors.ts';
import { View, inRange, needRoom } from './view.ts';
import type { In4 } from './address.ts';
import { get16, get32, get48, getIn4, set16, set32, set48 } from './bytes.ts';

export class ArpView extends View {
  check(): WireErrorCode | null {
    if (!this.fits(8)) return 'TRUNCATED';
    if (this.len < this.packetLen) return this.fail('TRUNCATED', this.off + this.len);
    return null;
  }
  get htype(): number {
    return get16(this.buf, this.off);
  }
  get ptype(): number {
    return get16(this.buf, this.off + 2);
  }
  get hlen(): number {
    return this.buf[this.off + 4]!;
  }
  get plen(): number {
    return this.buf[this.off + 5]!;
  }
  get op(): number {
    return get16(this.buf, this.off + 6);
  }
  set op(v: number) {
    set16(this.buf, this.off + 6, v);
  }
  /** 8 + 2 * (hlen + plen). */
  get packetLen(): number {
    return 8 + 2 * (this.hlen + this.plen);
  }
  /** Writes the fixed fields of an Ethernet/IPv4 ARP packet (htype, ptype, hlen, plen). */
  initEthernetIpv4(): void {
    set16(this.buf, this.off, ARP_HTYPE_ETHERNET);
    set16(this.buf, this.off + 2, EtherType.IPV4);
    this.buf[this.off + 4] = 6;
    this.buf[this.off + 5] = 4;
  }
  get isEthernetIpv4(): boolean {
    return (
      this.htype === ARP_HTYPE_ETHERNET && this.ptype === EtherType.IPV4 && this.hlen === 6 && this.plen === 4
    );
  }
  // Ethernet/IPv4 layout from here on (check isEthernetIpv4 first).
  get senderHw(): number {
    return get48(this.buf, this.off + 8);
  }
  set senderHw(v: number) {
    set48(this.buf, this.off + 8, v);
  }
  get senderIp(): number {
    return get32(this.buf, this.off + 14);
  }
  set senderIp(v: number) {
    set32(this.buf, this.off + 14, v);
  }
  get targetHw(): number {
    return get48(this.buf, this.off + 18);
  }
  set targetHw(v: number) {
    set48(this.buf, this.off + 18, v);
  }
  get targetIp(): number {
    return get32(this.buf, this.off + 24);
  }
  set targetIp(v: number) {
    set32(this.buf, this.off + 24, v);
  }
  /** The sender's protocol address as the stack's In4. */
  get senderIn4(): In4 {
    return getIn4(this.buf, this.off + 14);
  }
  /** The target's protocol address as the stack's In4. */
  get targetIn4(): In4 {
    return getIn4(this.buf, this.off + 24);
  }
}

export interface ArpRepr {
  op: number;
  senderHw: number;
  senderIp: number;
  targetHw: number;
  targetIp: number;
}

export const ArpRepr = {
  /** Ethernet/IPv4 ARP only; anything else throws WireError UNSUPPORTED. */
  parse(v: ArpView): ArpRepr {
    v.checked();
    if (!v.isEthernetIpv4) throw new WireError('UNSUPPORTED', v.off, 'ARP other than Ethernet/IPv4');
    return {
      op: v.op,
      senderHw: v.senderHw,
      senderIp: v.senderIp,
      targetHw: v.targetHw,
      targetIp: v.targetIp,
    };
  },
  bufferLen(_r: ArpRepr): number {
    return ARP_ETH_IPV4_LEN;
  },
  emit(r: ArpRepr, buf: Uint8Array, off: number): number {
    inRange(r.op, 0xffff, 'op');
    inRange(r.senderHw, 0xffffffffffff, 'senderHw');
    inRange(r.targetHw, 0xffffffffffff, 'targetHw');
    inRange(r.senderIp, 0xffffffff, 'senderIp');
    inRange(r.targetIp, 0xffffffff, 'targetIp');
    needRoom(buf, off, ARP_ETH_IPV4_LEN);
    set16(buf, off, ARP_HTYPE_ETHERNET);
    set16(buf, off + 2, EtherType.IPV4);
    buf[off + 4] = 6;
    buf[off + 5] = 4;
    set16(buf, off + 6, r.op);
    set48(buf, off + 8, r.senderHw);
    set32(buf, off + 14, r.senderIp);
    set48(buf, off + 18, r.targetHw);
    set32(buf, off + 24, r.targetIp);
    return ARP_ETH_IPV4_LEN;
  },
};
