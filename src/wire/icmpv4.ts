// ICMPv4 (RFC 792, RFC 1191 next-hop MTU). The view's window is the whole ICMP message (the IP
// payload); the checksum covers all of it. Errors quote the offending IP header + 8 bytes: the
// quote starts at dataOff and is read with Ipv4View.checkHeader() (its tot_len exceeds the quote).
import { csumFinish, csumPartial } from '../checksum/index.ts';
import { ICMP_HLEN, IcmpType, IcmpUnreachCode } from './constants.ts';
import type { WireErrorCode } from './errors.ts';
import { IcmpHeaderView } from './icmp.ts';
import { inRange, needRoom } from './view.ts';
import { get16, set16, set32 } from './bytes.ts';

export class Icmpv4View extends IcmpHeaderView {
  check(): WireErrorCode | null {
    return this.fits(ICMP_HLEN) ? null : 'TRUNCATED';
  }
  /** Next-hop MTU of a fragmentation-needed message (bytes 6-7, RFC 1191). */
  get nextHopMtu(): number {
    return get16(this.buf, this.off + 6);
  }
  verifyChecksum(): boolean {
    return csumPartial(this.buf, this.off, this.len) === 0xffff;
  }
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = csumFinish(csumPartial(this.buf, this.off, this.len));
  }
}

export type Icmpv4Repr =
  | { kind: 'echoRequest' | 'echoReply'; ident: number; seq: number; data: Uint8Array }
  /** data: the quoted packet. nextHopMtu is meaningful for code FRAG_NEEDED, 0 otherwise. */
  | { kind: 'destUnreachable'; code: number; nextHopMtu: number; data: Uint8Array }
  | { kind: 'timeExceeded'; code: number; data: Uint8Array }
  /** Any other type, and the above with bytes the typed forms would not keep. */
  | { kind: 'other'; type: number; code: number; rest: number; data: Uint8Array };

function typeOf(r: Icmpv4Repr): number {
  switch (r.kind) {
    case 'echoRequest':
      return IcmpType.ECHO_REQUEST;
    case 'echoReply':
      return IcmpType.ECHO_REPLY;
    case 'destUnreachable':
      return IcmpType.DEST_UNREACH;
    case 'timeExceeded':
      return IcmpType.TIME_EXCEEDED;
    case 'other':
      return r.type;
  }
}

export const Icmpv4Repr = {
  parse(v: Icmpv4View): Icmpv4Repr {
    v.checked();
    const data = v.buf.slice(v.dataOff, v.off + v.len);
    const { type, code, rest } = v;
    if ((type === IcmpType.ECHO_REQUEST || type === IcmpType.ECHO_REPLY) && code === 0)
      return {
        kind: type === IcmpType.ECHO_REQUEST ? 'echoRequest' : 'echoReply',
        ident: v.ident,
        seq: v.seq,
        data,
      };
    if (
      type === IcmpType.DEST_UNREACH &&
      rest >>> 16 === 0 &&
      (code === IcmpUnreachCode.FRAG_NEEDED || rest === 0)
    )
      return { kind: 'destUnreachable', code, nextHopMtu: v.nextHopMtu, data };
    if (type === IcmpType.TIME_EXCEEDED && rest === 0) return { kind: 'timeExceeded', code, data };
    return { kind: 'other', type, code, rest, data };
  },
  bufferLen(r: Icmpv4Repr): number {
    return ICMP_HLEN + r.data.length;
  },
  /** Write the whole message (header, data, checksum) at buf[off]; returns its length. */
  emit(r: Icmpv4Repr, buf: Uint8Array, off: number): number {
    const n = Icmpv4Repr.bufferLen(r);
    const code = 'code' in r ? r.code : 0;
    let rest = 0;
    if (r.kind === 'echoRequest' || r.kind === 'echoReply') {
      inRange(r.ident, 0xffff, 'ident');
      inRange(r.seq, 0xffff, 'seq');
      rest = r.ident * 0x10000 + r.seq;
    } else if (r.kind === 'destUnreachable') {
      inRange(r.nextHopMtu, r.code === IcmpUnreachCode.FRAG_NEEDED ? 0xffff : 0, 'nextHopMtu');
      rest = r.nextHopMtu;
    } else if (r.kind === 'other') {
      inRange(r.rest, 0xffffffff, 'rest');
      rest = r.rest;
    }
    const type = typeOf(r);
    inRange(type, 255, 'type');
    inRange(code, 255, 'code');
    needRoom(buf, off, n);
    buf[off] = type;
    buf[off + 1] = code;
    set16(buf, off + 2, 0);
    set32(buf, off + 4, rest);
    buf.set(r.data, off + ICMP_HLEN);
    set16(buf, off + 2, csumFinish(csumPartial(buf, off, n)));
    return n;
  },
};
