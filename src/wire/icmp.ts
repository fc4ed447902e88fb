// The 8-byte header ICMPv4 (RFC 792) and ICMPv6 (RFC 4443 §2.1) share: type, code, checksum, and
// a word whose meaning depends on the type (echo identifier and sequence, MTU, pointer, NDP fields).
import { ICMP_HLEN } from './constants.ts';
import { View } from './view.ts';
import { get16, get32, set16, set32 } from './bytes.ts';

export abstract class IcmpHeaderView extends View {
  get type(): number {
    return this.buf[this.off]!;
  }
  set type(v: number) {
    this.buf[this.off] = v;
  }
  get code(): number {
    return this.buf[this.off + 1]!;
  }
  set code(v: number) {
    this.buf[this.off + 1] = v;
  }
  get checksum(): number {
    return get16(this.buf, this.off + 2);
  }
  set checksum(v: number) {
    set16(this.buf, this.off + 2, v);
  }
  /** Bytes 4-7 as one word. */
  get rest(): number {
    return get32(this.buf, this.off + 4);
  }
  set rest(v: number) {
    set32(this.buf, this.off + 4, v);
  }
  /** Echo identifier (bytes 4-5). */
  get ident(): number {
    return get16(this.buf, this.off + 4);
  }
  set ident(v: number) {
    set16(this.buf, this.off + 4, v);
  }
  /** Echo sequence number (bytes 6-7). */
  get seq(): number {
    return get16(this.buf, this.off + 6);
  }
  set seq(v: number) {
    set16(this.buf, this.off + 6, v);
  }
  /** The message body after the 8-byte header (an error's quoted packet, echo data). */
  get dataOff(): number {
    return this.off + ICMP_HLEN;
  }
  get dataLen(): number {
    return this.len - ICMP_HLEN;
  }
}
