// Received ICMPv4 errors (icmp_unreach): destination unreachable / time exceeded quoting one of our
// datagrams. "Fragmentation needed" lowers the path MTU towards the quoted destination (RFC 1191,
// Linux ip_rt_update_pmtu); a zero next-hop MTU from an RFC 792 router is replaced by the plateau
// below the quoted datagram's length (RFC 1191 §7). Errors that quote a datagram we did not send
// (wrong source, malformed quote) are dropped and counted.
import {
  get16,
  getS32,
  IcmpType,
  IcmpUnreachCode,
  IpProto,
  Ipv4View,
  type Icmpv4View,
  type In4,
} from '../../wire/index.ts';
import { IpPairScratch, type IpPair } from '../l3.ts';
import type { PmtuCache } from '../pmtu.ts';

/** What the ICMPv4 error handler needs from the IPv4 layer (it passes itself). */
export interface Icmp4ErrorsHost {
  /** Our IPv4 address: a quoted datagram must come from it. */
  readonly addr: In4;
  now(): number;
  readonly pmtu: PmtuCache<In4>;
  /** TCP's tcp_v4_err: a report about the quoted segment (p.l:lport → p.r:rport). */
  tcpError(p: IpPair, lport: number, rport: number, seq: number, mtu: number): void;
}

/** RFC 1191 §7 table of common MTU plateaus. */
const PLATEAUS = [32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68];

export class Icmp4ErrorCounters {
  /** Destination unreachable / time exceeded received. */
  destUnreachIn = 0;
  timeExceededIn = 0;
  /** Fragmentation needed that lowered a path MTU. */
  fragNeededApplied = 0;
  /** Errors whose quoted datagram is malformed or was not sent by us. */
  notOurs = 0;
}

export class Icmp4Errors {
  readonly counters = new Icmp4ErrorCounters();
  private readonly quoted = new Ipv4View();
  private readonly pair = new IpPairScratch();

  constructor(private readonly stack: Icmp4ErrorsHost) {}

  /** The ICMP message v (checksum already verified) is an error; handle it. */
  input(v: Icmpv4View): void {
    const c = this.counters;
    const type = v.type;
    if (type === IcmpType.DEST_UNREACH) c.destUnreachIn++;
    else if (type === IcmpType.TIME_EXCEEDED) c.timeExceededIn++;
    else return;
    const q = this.quoted.reset(v.buf, v.dataOff, v.dataLen);
    if (q.checkHeader() !== null || v.dataLen < q.headerLen + 8 || q.srcIn4 !== this.stack.addr) {
      c.notOurs++;
      return;
    }
    if (type !== IcmpType.DEST_UNREACH || v.code !== IcmpUnreachCode.FRAG_NEEDED) return;
    let mtu = v.nextHopMtu;
    if (mtu === 0) {
      const tot = q.totalLength;
      mtu = PLATEAUS.find((p) => p < tot) ?? 68;
    }
    const st = this.stack;
    const now = st.now();
    const dst = q.dstIn4;
    if (st.pmtu.update(dst, mtu, now) > 0) c.fragNeededApplied++;
    // TCP shrinks its segments only for a quoted segment inside its window (tcp_v4_err).
    const l4 = q.off + q.headerLen;
    if (q.protocol === IpProto.TCP && q.fragOffset === 0) {
      const b = q.buf;
      const p = this.pair;
      p.laddr = q.srcIn4;
      p.raddr = dst;
      st.tcpError(p, get16(b, l4), get16(b, l4 + 2), getS32(b, l4 + 4), st.pmtu.get(dst, now));
    }
  }
}
