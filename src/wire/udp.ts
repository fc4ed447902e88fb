// UDP header (RFC 768). check() drops like Linux __udp4_lib_rcv(): length below 8 or past the data.
import { csumFinish, csumPartial } from '../checksum/index.ts';
import { IpProto, UDP_HLEN } from './constants.ts';
import type { WireErrorCode } from './errors.ts';
import { pseudoSum, type IpAddr } from './pseudo.ts';
import { View, inRange, needRoom } from './view.ts';
import { get16, set16 } from './bytes.ts';

export class UdpView extends View {
  check(): WireErrorCode | null {
    if (!this.fits(UDP_HLEN)) return 'TRUNCATED';
    const l = this.length;
    if (l < UDP_HLEN) return this.fail('BAD_LENGTH', this.off + 4);
    if (l > this.len) return this.fail('TRUNCATED', this.off + this.len);
    return null;
  }
  get srcPort(): number {
    return get16(this.buf, this.off);
  }
  set srcPort(v: number) {
    set16(this.buf, this.off, v);
  }
  get dstPort(): number {
    return get16(this.buf, this.off + 2);
  }
  set dstPort(v: number) {
    set16(this.buf, this.off + 2, v);
  }
  /** The length field: header + payload. */
  get length(): number {
    return get16(this.buf, this.off + 4);
  }
  set length(v: number) {
    set16(this.buf, this.off + 4, v);
  }
  get checksum(): number {
    return get16(this.buf, this.off + 6);
  }
  set checksum(v: number) {
    set16(this.buf, this.off + 6, v);
  }
  get payloadOff(): number {
    return this.off + UDP_HLEN;
  }
  get payloadLen(): number {
    return this.length - UDP_HLEN;
  }
  /**
   * Sum over the datagram (length field bytes) plus `pseudo` verifies. A zero field over IPv4 means
   * "no checksum" and is the caller's call (udp4_csum_init accepts it, IPv6 forbids it).
   */
  verifyChecksum(pseudo: number): boolean {
    return csumPartial(this.buf, this.off, this.length, pseudo) === 0xffff;
  }
  /** Fill the checksum over length-field bytes; a computed 0 is sent as 0xFFFF (RFC 768). */
  fillChecksum(pseudo: number): void {
    this.checksum = 0;
    this.checksum = csumFinish(csumPartial(this.buf, this.off, this.length, pseudo)) || 0xffff;
  }
}

export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  payloadLen: number;
}

export const UdpRepr = {
  parse(v: UdpView): UdpRepr {
    v.checked();
    return { srcPort: v.srcPort, dstPort: v.dstPort, payloadLen: v.payloadLen };
  },
  bufferLen(_r: UdpRepr): number {
    return UDP_HLEN;
  },
  /**
   * Write the header at buf[off]; the payload must already sit at buf[off+8, off+8+payloadLen).
   * The checksum covers it with the pseudo-header of src/dst. With `partial` (checksum offload) the
   * field gets only the folded pseudo-header sum, as udp4_hwcsum() leaves it, and the payload need
   * not be in buf. Returns 8.
   */
  emit(r: UdpRepr, buf: Uint8Array, off: number, src: IpAddr, dst: IpAddr, partial = false): number {
    inRange(r.srcPort, 0xffff, 'srcPort');
    inRange(r.dstPort, 0xffff, 'dstPort');
    inRange(r.payloadLen, 0xffff - UDP_HLEN, 'payloadLen');
    const l = UDP_HLEN + r.payloadLen;
    needRoom(buf, off, partial ? UDP_HLEN : l);
    set16(buf, off, r.srcPort);
    set16(buf, off + 2, r.dstPort);
    set16(buf, off + 4, l);
    set16(buf, off + 6, 0);
    const pseudo = pseudoSum(src, dst, IpProto.UDP, l);
    set16(buf, off + 6, partial ? pseudo : csumFinish(csumPartial(buf, off, l, pseudo)) || 0xffff);
    return UDP_HLEN;
  },
};
