// TCP GRO over Ethernet frames, following Linux dev_gro_receive → inet_gro_receive /
// ipv6_gro_receive → tcp_gro_receive, and the header a TAP reader then gets from
// virtio_net_hdr_from_skb: a merged super-frame carries NEEDS_CSUM with the pseudo-header sum in
// the TCP checksum field (tcp4/6_gro_complete), gso_type TCPV4/TCPV6 (|ECN when the head has CWR),
// gso_size = the first segment's payload length, hdr_len = the header length. Frames that are not
// merged pass unchanged: DATA_VALID when GRO checked their TCP checksum, a zero header otherwise.
import { csumFold, csumPartial } from '../checksum/index.ts';
import {
  VIRTIO_NET_HDR_F_DATA_VALID,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_ECN,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
} from '../vnethdr/constants.ts';
import type { GsoHeader } from './constants.ts';
import { EtherType, IpProto, TcpFlags } from '../wire/constants.ts';

/** MAX_GRO_SKBS: flows held at once; the oldest is flushed to make room. */
const MAX_FLOWS = 8;
/** skb_gro_receive refuses to grow a packet (IP header onward) to 64 KiB or more. */
const GRO_MAX_SIZE = 65536;
const MAX_FRAME = 14 + 8 + GRO_MAX_SIZE + 64;
/** Flags that end a GRO packet (tcp_gro_receive's out_check_final). */
const FLUSH_FLAGS = TcpFlags.URG | TcpFlags.PSH | TcpFlags.RST | TcpFlags.SYN | TcpFlags.FIN;

/** Frames handed to the reader, each with its virtio-net header fields. */
export class GroOutput {
  data = new Uint8Array(4 * MAX_FRAME);
  count = 0;
  private offsets = new Uint32Array(65);
  /** flags, gsoType, hdrLen, gsoSize, csumStart, csumOffset per frame. */
  private hdrs = new Uint16Array(64 * 6);

  clear(): void {
    this.count = 0;
    this.offsets[0] = 0;
  }

  /** Appends a frame (copied) with its header fields. */
  push(src: Uint8Array, off: number, len: number, h: GsoHeader): void {
    const start = this.offsets[this.count]!;
    if (start + len > this.data.length) {
      const d = new Uint8Array(Math.max(this.data.length * 2, start + len));
      d.set(this.data.subarray(0, start));
      this.data = d;
    }
    if (this.count + 1 >= this.offsets.length) {
      const o = new Uint32Array(this.offsets.length * 2);
      o.set(this.offsets);
      this.offsets = o;
      const hh = new Uint16Array(this.hdrs.length * 2);
      hh.set(this.hdrs);
      this.hdrs = hh;
    }
    this.data.set(off === 0 && len === src.length ? src : src.subarray(off, off + len), start);
    const k = this.count * 6;
    this.hdrs[k] = h.flags;
    this.hdrs[k + 1] = h.gsoType;
    this.hdrs[k + 2] = h.hdrLen;
    this.hdrs[k + 3] = h.gsoSize;
    this.hdrs[k + 4] = h.csumStart;
    this.hdrs[k + 5] = h.csumOffset;
    this.count++;
    this.offsets[this.count] = start + len;
  }

  start(i: number): number {
    return this.offsets[i]!;
  }

  length(i: number): number {
    return this.offsets[i + 1]! - this.offsets[i]!;
  }

  /** Header fields of frame i, written into `h` (no allocation). */
  header(i: number, h: GsoHeader): GsoHeader {
    const k = i * 6;
    h.flags = this.hdrs[k]!;
    h.gsoType = this.hdrs[k + 1]!;
    h.hdrLen = this.hdrs[k + 2]!;
    h.gsoSize = this.hdrs[k + 3]!;
    h.csumStart = this.hdrs[k + 4]!;
    h.csumOffset = this.hdrs[k + 5]!;
    return h;
  }

  /** A view of frame i (allocates a view; for tests and tools). */
  frame(i: number): Uint8Array {
    return this.data.subarray(this.offsets[i]!, this.offsets[i + 1]!);
  }
}

/** Parsed TCP segment (reused). */
interface Seg {
  nh: number;
  th: number;
  thlen: number;
  v6: boolean;
  payload: number;
  flags: number;
}

/** A held GRO packet of one flow. */
class Flow {
  readonly buf = new Uint8Array(MAX_FRAME);
  len = 0;
  count = 0;
  nh = 0;
  th = 0;
  thlen = 0;
  v6 = false;
  mss = 0;
  nextSeq = 0;
}

function be16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

function be32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v & 0xff;
}

function equal(a: Uint8Array, ao: number, b: Uint8Array, bo: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

export interface GroCounters {
  /** Frames received. */
  frames: number;
  /** Segments merged into an earlier one. */
  merged: number;
  /** Super-frames (count ≥ 2) handed out. */
  superFrames: number;
}

const PLAIN: GsoHeader = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
const VALID: GsoHeader = {
  flags: VIRTIO_NET_HDR_F_DATA_VALID,
  gsoType: 0,
  hdrLen: 0,
  gsoSize: 0,
  csumStart: 0,
  csumOffset: 0,
};

export class GroEngine {
  readonly counters: GroCounters = { frames: 0, merged: 0, superFrames: 0 };
  private readonly flows: Flow[] = [];
  private readonly free: Flow[] = [];
  private readonly seg: Seg = { nh: 0, th: 0, thlen: 0, v6: false, payload: 0, flags: 0 };
  private readonly hdr: GsoHeader = { ...PLAIN };

  /**
   * Receives one frame; frames that leave GRO now are appended to `out`. Never throws.
   * @mirrors gro.c:dev_gro_receive
   * @mirrors tcp_offload.c:tcp_gro_receive
   */
  receive(f: Uint8Array, out: GroOutput): void {
    this.counters.frames++;
    const s = this.seg;
    if (!this.parse(f, s)) {
      out.push(f, 0, f.length, PLAIN);
      return;
    }
    const flow = this.lookup(f, s);
    if (flow !== null) {
      if (this.canMerge(flow, f, s)) {
        this.merge(flow, f, s);
        if (s.flags & FLUSH_FLAGS || s.payload < flow.mss) this.complete(flow, out);
        return;
      }
      this.complete(flow, out);
    }
    // A new GRO packet, unless tcp_gro_receive already asks to flush it (mss 1 for a first segment).
    if (s.payload === 0 || s.flags & FLUSH_FLAGS) {
      out.push(f, 0, f.length, VALID);
      return;
    }
    this.hold(f, s, out);
  }

  /** Ends the burst: every held packet goes out (napi_gro_flush). */
  flush(out: GroOutput): void {
    while (this.flows.length > 0) this.complete(this.flows[0]!, out);
  }

  /**
   * The GRO-able shape: Ethernet (+ tags) / IPv4 without options and not fragmented, or IPv6 with
   * TCP right after the fixed header; the length fields exact; a valid TCP checksum.
   */
  private parse(f: Uint8Array, s: Seg): boolean {
    const len = f.length;
    if (len < 14) return false;
    let o = 12;
    let type = be16(f, o);
    while (type === EtherType.VLAN || type === EtherType.QINQ) {
      o += 4;
      if (o + 2 > len) return false;
      type = be16(f, o);
    }
    const nh = o + 2;
    s.nh = nh;
    let l4len: number;
    let sum: number;
    if (type === EtherType.IPV4) {
      // inet_gro_receive: 0x45 only, tot_len exact, no fragment, valid header checksum.
      if (nh + 20 > len || f[nh] !== 0x45 || f[nh + 9] !== IpProto.TCP) return false;
      if (be16(f, nh + 2) !== len - nh || (be16(f, nh + 6) & 0x3fff) !== 0) return false;
      if (csumPartial(f, nh, 20) !== 0xffff) return false;
      s.v6 = false;
      s.th = nh + 20;
      l4len = len - s.th;
      sum = csumPartial(f, nh + 12, 8);
    } else if (type === EtherType.IPV6) {
      if (nh + 40 > len || f[nh + 6] !== IpProto.TCP || be16(f, nh + 4) !== len - nh - 40) return false;
      s.v6 = true;
      s.th = nh + 40;
      l4len = len - s.th;
      sum = csumPartial(f, nh + 8, 32);
    } else return false;
    if (l4len < 20) return false;
    const thlen = (f[s.th + 12]! >>> 4) * 4;
    if (thlen < 20 || thlen > l4len) return false;
    // skb_gro_checksum_validate: a bad checksum is not GRO'd (the segment passes as it is).
    sum = csumFold(sum + IpProto.TCP + (l4len >>> 16) + (l4len & 0xffff));
    if (csumPartial(f, s.th, l4len, sum) !== 0xffff) return false;
    s.thlen = thlen;
    s.payload = l4len - thlen;
    s.flags = f[s.th + 13]!;
    return true;
  }

  /** gro_list_prepare + tcp_gro_lookup: same MAC header (and tags), addresses and ports. */
  private lookup(f: Uint8Array, s: Seg): Flow | null {
    for (const fl of this.flows) {
      if (fl.nh !== s.nh || fl.v6 !== s.v6) continue;
      const b = fl.buf;
      if (!equal(b, 0, f, 0, s.nh)) continue;
      const a = s.v6 ? s.nh + 8 : s.nh + 12;
      if (!equal(b, a, f, a, s.v6 ? 32 : 8)) continue;
      if (!equal(b, fl.th, f, s.th, 4)) continue;
      return fl;
    }
    return null;
  }

  /** The flush conditions of inet/ipv6_gro_receive, tcp_gro_receive and skb_gro_receive. */
  private canMerge(fl: Flow, f: Uint8Array, s: Seg): boolean {
    const b = fl.buf;
    const nh = s.nh;
    if (s.v6) {
      // Version, traffic class, flow label and hop limit must match.
      if (!equal(b, nh, f, nh, 4) || b[nh + 7] !== f[nh + 7]) return false;
    } else {
      // TOS, TTL and DF equal; the IP id the next one of the run (no fixed-id runs here).
      if (b[nh + 1] !== f[nh + 1] || b[nh + 8] !== f[nh + 8]) return false;
      if ((b[nh + 6]! & 0x40) !== (f[nh + 6]! & 0x40)) return false;
      if (((be16(b, nh + 4) + fl.count) & 0xffff) !== be16(f, nh + 4)) return false;
    }
    const t = s.th;
    const bt = fl.th;
    if (s.flags & TcpFlags.CWR) return false;
    // Flag word (doff, flags but CWR/FIN/PSH, window), ack and options must be identical.
    if (
      b[bt + 12] !== f[t + 12] ||
      ((b[bt + 13]! ^ s.flags) & ~(TcpFlags.CWR | TcpFlags.FIN | TcpFlags.PSH)) !== 0
    ) {
      return false;
    }
    if (!equal(b, bt + 14, f, t + 14, 2) || !equal(b, bt + 8, f, t + 8, 4)) return false;
    if (!equal(b, bt + 20, f, t + 20, s.thlen - 20)) return false;
    if (s.payload === 0 || s.payload > fl.mss) return false;
    if (be32(f, t + 4) !== fl.nextSeq) return false;
    return fl.len - fl.nh + s.payload < GRO_MAX_SIZE;
  }

  private merge(fl: Flow, f: Uint8Array, s: Seg): void {
    fl.buf.set(f.subarray(s.th + s.thlen), fl.len);
    fl.len += s.payload;
    fl.count++;
    fl.nextSeq = (fl.nextSeq + s.payload) >>> 0;
    fl.buf[fl.th + 13]! |= s.flags & (TcpFlags.FIN | TcpFlags.PSH);
    this.counters.merged++;
  }

  private hold(f: Uint8Array, s: Seg, out: GroOutput): void {
    // The list is in arrival order, so the oldest held packet is the first.
    if (this.flows.length >= MAX_FLOWS) this.complete(this.flows[0]!, out);
    const fl = this.free.pop() ?? new Flow();
    fl.buf.set(f, 0);
    fl.len = f.length;
    fl.count = 1;
    fl.nh = s.nh;
    fl.th = s.th;
    fl.thlen = s.thlen;
    fl.v6 = s.v6;
    fl.mss = s.payload;
    fl.nextSeq = (be32(f, s.th + 4) + s.payload) >>> 0;
    this.flows.push(fl);
  }

  /** napi_gro_complete → inet/ipv6_gro_complete → tcp_gro_complete, then the TAP header. */
  private complete(fl: Flow, out: GroOutput): void {
    const flows = this.flows;
    let k = flows.indexOf(fl);
    for (; k + 1 < flows.length; k++) flows[k] = flows[k + 1]!;
    flows.pop();
    this.free.push(fl);
    const b = fl.buf;
    if (fl.count === 1) {
      out.push(b, 0, fl.len, VALID);
      return;
    }
    this.counters.superFrames++;
    const nh = fl.nh;
    const l4len = fl.len - fl.th;
    let sum: number;
    if (fl.v6) {
      put16(b, nh + 4, fl.len - nh - 40);
      sum = csumPartial(b, nh + 8, 32);
    } else {
      put16(b, nh + 2, fl.len - nh);
      put16(b, nh + 10, 0);
      put16(b, nh + 10, ~csumPartial(b, nh, 20) & 0xffff);
      sum = csumPartial(b, nh + 12, 8);
    }
    put16(b, fl.th + 16, csumFold(sum + IpProto.TCP + (l4len >>> 16) + (l4len & 0xffff)));
    const h = this.hdr;
    h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h.gsoType =
      (fl.v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4) |
      (b[fl.th + 13]! & TcpFlags.CWR ? VIRTIO_NET_HDR_GSO_ECN : VIRTIO_NET_HDR_GSO_NONE);
    h.hdrLen = fl.th + fl.thlen;
    h.gsoSize = fl.mss;
    h.csumStart = fl.th;
    h.csumOffset = 16;
    out.push(b, 0, fl.len, h);
  }
}
