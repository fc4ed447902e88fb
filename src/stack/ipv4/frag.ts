// IPv4 fragmentation (ip_fragment / ip_do_fragment) and reassembly glue (ip_defrag) over the shared
// Reassembler. A datagram over the path MTU with DF clear is linearised once into a scratch
// buffer and cut into 8-byte-aligned pieces, each a frame with a copy of the header (we send no
// options, so nothing is left out of later fragments). Reassembled datagrams are rebuilt in a
// scratch buffer with a fresh header and fed back to IPv4 input; a queue that times out after its
// first fragment arrived is answered with ICMP time exceeded, code 1 (ip_expire).
import { META_F_NEEDS_CSUM, type Mbuf, type Mempool } from '../../mbuf/index.ts';
import { ETH_HLEN, IpProto, IPV4_MIN_HLEN, Ipv4View, set16, type In4 } from '../../wire/index.ts';
import { csumFinish, csumPartial } from '../../checksum/index.ts';
import type { StackCounters } from '../counters.ts';
import { Reassembler, type ReasmParams, type ReasmQueue } from '../reassembly.ts';
import type { TimerHost } from '../timer.ts';

/** What IPv4 fragmentation and reassembly need from the IPv4 layer (it passes itself). */
export interface Ipv4FragHost {
  readonly time: TimerHost;
  readonly pool: Mempool;
  readonly counters: StackCounters;
  nextIpIdent(): number;
  /** Whether a datagram to dst has somewhere to go (loopback, broadcast or a route). */
  routable(dst: In4): boolean;
  /** Sends one finished frame (IPv4 header at ETH_HLEN) towards dst; m is consumed. */
  transmitFrame(m: Mbuf, dst: In4): void;
  /**
   * A reassembly queue timed out; `first` is its first fragment's header and 8 bytes (ip_expire).
   * Returns whether a time-exceeded message went out.
   */
  reasmExpired(first: Uint8Array): boolean;
}

/** Largest IPv4 datagram. */
const IP_MAX = 65535;

export class Ipv4FragCounters {
  /** Datagrams fragmented (FragOKs) and fragments made (FragCreates). */
  fragOks = 0;
  fragCreates = 0;
  /** Datagrams that could not be fragmented: no buffer, or no route for a fragment (FragFails). */
  fragFails = 0;
  /** Reassembled datagrams over 65535 bytes with their header. */
  reasmOversize = 0;
  /** ICMP time exceeded (reassembly) sent. */
  timeExceededOut = 0;
}

export class Ipv4Frag {
  readonly reasm: Reassembler;
  readonly counters = new Ipv4FragCounters();
  /** The last reassembled datagram (header + payload). */
  readonly out = new Uint8Array(IP_MAX);
  /**
   * Linearised outgoing datagram (20-byte header at 0). Callers building a datagram too large for
   * one buffer write its L4 bytes at IPV4_MIN_HLEN and call sendLinear.
   */
  readonly tx = new Uint8Array(IP_MAX);
  private readonly hdr = new Ipv4View();

  constructor(
    private readonly stack: Ipv4FragHost,
    params: Partial<ReasmParams> = {},
  ) {
    this.reasm = new Reassembler(stack.time.timers, (q) => this.expired(q), {
      maxPayload: IP_MAX - IPV4_MIN_HLEN,
      ...params,
    });
  }

  /**
   * One fragment addressed to us (ip_defrag). Returns the length of the reassembled datagram now
   * in `out` (its header has MF and offset cleared), or 0 when nothing is complete yet.
   */
  input(buf: Uint8Array, off: number, ip: Ipv4View): number {
    const hl = ip.headerLen;
    // Fragments are off the fast path: a string key per fragment is acceptable.
    const key = `${ip.src}-${ip.dst}-${ip.ident}-${ip.protocol}`;
    const more = ip.moreFrags;
    // A non-last fragment is cut down to a multiple of 8 bytes (ip_frag_queue: end &= ~7); one
    // left empty kills the datagram in the reassembler, as discard_qp does. IPv6 refuses instead.
    const fragLen = more ? ip.payloadLen & ~7 : ip.payloadLen;
    const r = this.reasm.add(
      key,
      ip.protocol,
      ip.fragOffset,
      more,
      buf,
      ip.payloadOff,
      fragLen,
      off,
      hl,
      // The header and 8 bytes of data: what the ICMP error on timeout quotes.
      hl + 8,
    );
    if (r !== 'complete') return 0;
    const q = this.reasm.done!;
    const first = q.first!;
    const o = this.out;
    const fhl = q.firstHdrLen;
    if (fhl + q.total > IP_MAX) {
      // Options in the first header push the datagram past 64 KiB (ip_frag_reasm's out_oversize).
      this.counters.reasmOversize++;
      this.reasm.release(q);
      return 0;
    }
    o.set(first.subarray(0, fhl), 0);
    o.set(q.data.subarray(0, q.total), fhl);
    const len = fhl + q.total;
    this.reasm.release(q);
    const h = this.hdr.reset(o, 0, fhl);
    h.totalLength = len;
    // Keep DF, clear MF and the offset.
    h.fragWord &= 0x4000;
    h.fillChecksum();
    return len;
  }

  private expired(q: ReasmQueue): void {
    const first = q.first;
    if (first === null || first.length < IPV4_MIN_HLEN) return;
    if (this.stack.reasmExpired(first)) this.counters.timeExceededOut++;
  }

  /**
   * Fragments the frame in m (Ethernet + IPv4 header without options + payload; DF clear) into
   * pieces that fit `mtu` and sends them to `dst`; m is consumed. A pending NEEDS_CSUM is
   * completed first (skb_checksum_help), since the receiver checks the sum over the whole datagram.
   */
  fragmentFrame(m: Mbuf, mtu: number, dst: In4): void {
    const ipLen = m.length - ETH_HLEN;
    const tx = this.tx;
    if (ipLen > IP_MAX) {
      this.counters.fragFails++;
      m.free();
      return;
    }
    m.copyTo(tx, 0, ETH_HLEN, ipLen);
    if ((m.meta.flags & META_F_NEEDS_CSUM) !== 0) {
      const cs = m.meta.csumStart - ETH_HLEN;
      const at = cs + m.meta.csumOffset;
      // The field holds the pseudo-header sum: summing over it completes the checksum.
      const v = csumFinish(csumPartial(tx, cs, ipLen - cs));
      set16(tx, at, tx[9] === IpProto.UDP ? v || 0xffff : v);
    }
    m.free();
    this.sendFragments(ipLen, mtu, dst);
  }

  /**
   * Sends the L4 bytes at tx[20, 20 + l4Len) (checksum already filled) as one datagram cut into
   * fragments that fit `mtu`: the path for messages larger than one packet buffer (a big ICMP echo
   * or its reply, a big UDP datagram: ip_push_pending_frames over a fragment list). False when it
   * cannot be sent.
   */
  sendLinear(src: In4, dst: In4, proto: number, l4Len: number, mtu: number): boolean {
    if (IPV4_MIN_HLEN + l4Len > IP_MAX) return false;
    const ip = this.hdr.reset(this.tx, 0, IPV4_MIN_HLEN);
    ip.headerLen = IPV4_MIN_HLEN;
    ip.tos = 0;
    ip.totalLength = IPV4_MIN_HLEN + l4Len;
    ip.ident = this.stack.nextIpIdent();
    ip.fragWord = 0;
    ip.ttl = 64;
    ip.protocol = proto;
    ip.src = src;
    ip.dst = dst;
    this.stack.counters.ipOutRequests++;
    return this.sendFragments(IPV4_MIN_HLEN + l4Len, mtu, dst);
  }

  /**
   * Cuts the datagram in tx[0, ipLen) (20-byte header) into fragments of at most mtu bytes, or
   * sends it whole when it fits. Each frame's payload is appended to its header, chaining segments
   * when an MTU exceeds one buffer.
   */
  private sendFragments(ipLen: number, mtu: number, dst: In4): boolean {
    const st = this.stack;
    const c = this.counters;
    const tx = this.tx;
    const hl = IPV4_MIN_HLEN;
    const payload = ipLen - hl;
    const whole = ipLen <= mtu;
    const step = whole ? payload : (mtu - hl) & ~7;
    if (!whole && step < 8) {
      c.fragFails++;
      return false;
    }
    if (!st.routable(dst)) {
      c.fragFails++;
      return false;
    }
    const first = this.hdr.reset(tx, 0, hl);
    const baseFrag = first.fragOffset;
    const baseMf = first.moreFrags;
    for (let at = 0; at < payload; at += step) {
      const n = Math.min(step, payload - at);
      const m = st.pool.alloc();
      const h = ETH_HLEN + hl;
      if (m === null || !m.extend(h) || m.headLength < h || !m.append(tx, hl + at, n)) {
        m?.free();
        st.counters.txNoBuffers++;
        c.fragFails++;
        return false;
      }
      const pb = st.pool.data;
      const ih = m.dataOffset + ETH_HLEN;
      pb.set(tx.subarray(0, hl), ih);
      const ip = this.hdr.reset(pb, ih, hl);
      ip.totalLength = hl + n;
      const more = at + n < payload || baseMf;
      ip.fragWord = ((baseFrag + at) >>> 3) | (more ? 0x2000 : 0);
      ip.fillChecksum();
      if (!whole) c.fragCreates++;
      st.transmitFrame(m, dst);
    }
    if (!whole) c.fragOks++;
    return true;
  }
}
