// TCP GRO over Ethernet frames, following Linux dev_gro_receive → inet_gro_receive /
// ipv6_gro_receive → tcp_gro_receive, and the header a TAP reader then gets from
// virtio_net_hdr_from_skb: a merged super-frame carries NEEDS_CSUM with the pseudo-header sum in
// the TCP checksum field (tcp4/6_gro_complete), gso_type TCPV4/TCPV6 (|ECN when the head has CWR),
// gso_size = the first segment's payload length, hdr_len = the header length. Frames that are not
// merged pass unchanged: DATA_VALID when GRO checked their TCP checksum, a zero header otherwise.
// Each frame is first staged in the engine's packet memory (one copy), so its checksum is verified
// by the SIMD kernel and its payload appended to a held packet in the same pass (src/checksum);
// the IP and TCP headers' few words are read and summed in JS.
import {
  createLocalPacketMemory,
  csumCopierFor,
  csumFold,
  csumPartial,
  packetCopy,
  unregisterPacketMemory,
  type CsumCopyKernel,
  type LocalPacketMemory,
} from '../checksum/index.ts';
import {
  VIRTIO_NET_HDR_F_DATA_VALID,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_ECN,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
} from '../vnethdr/constants.ts';
import type { GsoHeader } from './constants.ts';
import { EtherType, get32, Ipv4View, Ipv6View, IpProto, TcpFlags, TcpView } from '../wire/index.ts';

/** MAX_GRO_SKBS: flows held at once; the oldest is flushed to make room. */
const MAX_FLOWS = 8;
/** skb_gro_receive refuses to grow a packet (IP header onward) to 64 KiB or more. */
const GRO_MAX_SIZE = 65536;
const MAX_FRAME = 14 + 8 + GRO_MAX_SIZE + 64;
/** Flags that end a GRO packet (tcp_gro_receive's out_check_final). */
const FLUSH_FLAGS = TcpFlags.URG | TcpFlags.PSH | TcpFlags.RST | TcpFlags.SYN | TcpFlags.FIN;

/**
 * Frames handed to the reader, each with its virtio-net header fields. A frame is either copied
 * into `data` or lent by the engine (a coalesced packet stays in the engine's memory): read frames
 * through frame(i) or buffer(i), and only until clear().
 */
export class GroOutput {
  /** Where copied frames live. */
  data = new Uint8Array(4 * MAX_FRAME);
  count = 0;
  /** Bumped by clear(): the engine takes back what it lent before. */
  generation = 0;
  /** The buffer each frame lives in. */
  private bufs: Uint8Array[] = [];
  private starts = new Uint32Array(64);
  private ends = new Uint32Array(64);
  /** Where the next frame may start. */
  private next = 0;
  /** flags, gsoType, hdrLen, gsoSize, csumStart, csumOffset per frame. */
  private hdrs = new Uint16Array(64 * 6);

  clear(): void {
    this.count = 0;
    this.next = 0;
    this.generation++;
  }

  /**
   * Appends a frame (copied) with its header fields. A frame from a packet memory is placed with
   * its source's 8-byte alignment, so the copy out of the shared buffer moves words, not bytes.
   */
  push(src: Uint8Array, off: number, len: number, h: GsoHeader): void {
    const whole = off === 0 && len === src.length;
    const start = this.next + ((src.byteOffset + off - this.next) & 7);
    if (start + len > this.data.length) {
      const d = new Uint8Array(Math.max(this.data.length * 2, start + len));
      d.set(this.data.subarray(0, this.next));
      this.data = d;
    }
    this.room();
    this.data.set(whole ? src : src.subarray(off, off + len), start);
    this.record(this.data, start, len, h);
    this.next = start + len;
  }

  /** Grows the per-frame tables when full. */
  private room(): void {
    if (this.count === this.starts.length) {
      const n = this.count * 2;
      const s = new Uint32Array(n);
      s.set(this.starts);
      this.starts = s;
      const e = new Uint32Array(n);
      e.set(this.ends);
      this.ends = e;
      const hh = new Uint16Array(n * 6);
      hh.set(this.hdrs);
      this.hdrs = hh;
    }
  }

  /** Appends a frame that stays where it is, buf[start, start + len), until clear(). */
  lend(buf: Uint8Array, start: number, len: number, h: GsoHeader): void {
    this.room();
    this.record(buf, start, len, h);
  }

  private record(buf: Uint8Array, start: number, len: number, h: GsoHeader): void {
    if (this.count < this.bufs.length) this.bufs[this.count] = buf;
    else this.bufs.push(buf);
    const k = this.count * 6;
    this.hdrs[k] = h.flags;
    this.hdrs[k + 1] = h.gsoType;
    this.hdrs[k + 2] = h.hdrLen;
    this.hdrs[k + 3] = h.gsoSize;
    this.hdrs[k + 4] = h.csumStart;
    this.hdrs[k + 5] = h.csumOffset;
    this.starts[this.count] = start;
    this.ends[this.count] = start + len;
    this.count++;
  }

  /** The buffer frame i lives in (`data`, or the memory of the engine that lent it). */
  buffer(i: number): Uint8Array {
    return this.bufs[i]!;
  }

  /** Where frame i starts in buffer(i). */
  start(i: number): number {
    return this.starts[i]!;
  }

  length(i: number): number {
    return this.ends[i]! - this.starts[i]!;
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
    return this.bufs[i]!.subarray(this.starts[i]!, this.ends[i]!);
  }
}

/** Words of the flow key: the MAC addresses (3), the IP addresses (2 or 8), the ports (1). */
const KEY_WORDS = 12;

/** Parsed TCP segment (reused); offsets are from the frame's start. */
interface Seg {
  nh: number;
  th: number;
  thlen: number;
  v6: boolean;
  payload: number;
  flags: number;
  /** The pseudo-header sum (folded) the TCP checksum check starts from. */
  pseudo: number;
  /** What gro_list_prepare and tcp_gro_lookup compare, but the VLAN tags: keyLen words. */
  key: Uint32Array;
  keyLen: number;
}

/** A held GRO packet of one flow: the frame lives at mem[base, base + len). */
class Flow {
  readonly key = new Uint32Array(KEY_WORDS);
  /** The head segment's fields every later one must match (read once, at hold()). */
  ipWord = 0;
  ttl = 0;
  ident = 0;
  doffByte = 0;
  flagsByte = 0;
  window = 0;
  ack = 0;
  readonly options = new Uint32Array(10);
  len = 0;
  count = 0;
  nh = 0;
  th = 0;
  thlen = 0;
  v6 = false;
  mss = 0;
  nextSeq = 0;
  /** The output this packet's region is lent to, and that output's generation then. */
  lentTo: GroOutput | null = null;
  lentGen = 0;
  constructor(readonly base: number) {}
}

function equal(b: Uint8Array, ao: number, bo: number, n: number): boolean {
  let i = 0;
  for (; i + 4 <= n; i += 4) if (get32(b, ao + i) !== get32(b, bo + i)) return false;
  for (; i < n; i++) if (b[ao + i] !== b[bo + i]) return false;
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

/**
 * Regions beyond MAX_FLOWS, for coalesced packets lent to an output until it is cleared; with all
 * of them out, a completed packet is copied instead, so a hold always finds a free region.
 */
const SPARE = 4;

/** Room for one frame, rounded to 8 bytes so every region starts aligned. */
const REGION = (MAX_FRAME + 15) & ~7;

/** Unregisters an engine's packet memory once the engine itself is collected. */
const release = new FinalizationRegistry<LocalPacketMemory>((pm) => unregisterPacketMemory(pm.memory));

export class GroEngine {
  readonly counters: GroCounters = { frames: 0, merged: 0, superFrames: 0 };
  private readonly flows: Flow[] = [];
  private readonly free: Flow[] = [];
  /** Packets lent to an output (GroOutput.lend), their regions back once it is cleared. */
  private readonly lent: Flow[] = [];
  private readonly seg: Seg = {
    nh: 0,
    th: 0,
    thlen: 0,
    v6: false,
    payload: 0,
    flags: 0,
    pseudo: 0,
    key: new Uint32Array(KEY_WORDS),
    keyLen: 0,
  };
  private readonly hdr: GsoHeader = { ...PLAIN };
  /** The staging region (REGION bytes at 0), then one region per flow. */
  private readonly mem: Uint8Array;
  /**
   * The same memory for the header's words: in optimised code a DataView read of the engine's
   * one fixed buffer is a single load, where get16/get32 (any buffer) take two or four checked
   * byte loads; the ~30 header words each segment needs were a fifth of its cost.
   */
  private readonly dv: DataView;
  /**
   * The memory's copy-and-sum kernel, called straight: the ranges are the engine's own (inside
   * the staging region and a flow's), so csumPartialCopy's view lookup and range checks would only
   * add to every segment's cost.
   */
  private readonly csumCopy: CsumCopyKernel;
  private readonly ip4 = new Ipv4View();
  private readonly ip6 = new Ipv6View();
  private readonly tcp = new TcpView();

  constructor() {
    const pm = createLocalPacketMemory((1 + MAX_FLOWS + SPARE) * REGION);
    release.register(this, pm);
    this.mem = new Uint8Array(pm.buffer);
    this.dv = new DataView(pm.buffer);
    this.csumCopy = csumCopierFor(pm.buffer)!;
    for (let i = MAX_FLOWS + SPARE; i >= 1; i--) this.free.push(new Flow(i * REGION));
  }

  /**
   * Receives one frame; frames that leave GRO now are appended to `out`. Never throws.
   * @mirrors gro.c:dev_gro_receive
   * @mirrors tcp_offload.c:tcp_gro_receive
   */
  receive(f: Uint8Array, out: GroOutput): void {
    this.counters.frames++;
    const s = this.seg;
    const len = f.length;
    if (len > REGION) {
      out.push(f, 0, len, PLAIN);
      return;
    }
    // Staged at 0 of the packet memory, where the SIMD kernel can sum it.
    const m = this.mem;
    m.set(f, 0);
    if (!this.parse(len, s)) {
      out.push(f, 0, len, PLAIN);
      return;
    }
    const flow = this.lookup(s);
    const t = s.th;
    if (flow !== null && this.canMerge(flow, s)) {
      // skb_gro_checksum_validate, the payload copied onto the held packet in the same pass; a bad
      // checksum leaves the packet as it was (the copy lies past its end) and the segment passes.
      // The header's few words are summed here: a kernel call costs more than summing them.
      const dv = this.dv;
      let sum = s.pseudo;
      for (let o = t; o < t + s.thlen; o += 4) {
        const w = dv.getUint32(o);
        sum += (w >>> 16) + (w & 0xffff);
      }
      const src = t + s.thlen;
      sum += this.csumCopy(src, s.payload, flow.base + flow.len - src);
      if (csumFold(sum) !== 0xffff) {
        out.push(f, 0, len, PLAIN);
        return;
      }
      this.merge(flow, s);
      if (s.flags & FLUSH_FLAGS || s.payload < flow.mss) this.complete(flow, out);
      return;
    }
    // skb_gro_checksum_validate: a bad checksum is not GRO'd (the segment passes as it is).
    if (csumPartial(m, t, len - t, s.pseudo) !== 0xffff) {
      out.push(f, 0, len, PLAIN);
      return;
    }
    if (flow !== null) this.complete(flow, out);
    // A new GRO packet, unless tcp_gro_receive already asks to flush it (mss 1 for a first segment).
    if (s.payload === 0 || s.flags & FLUSH_FLAGS) {
      out.push(f, 0, len, VALID);
      return;
    }
    this.hold(len, s, out);
  }

  /** Ends the burst: every held packet goes out (napi_gro_flush). */
  flush(out: GroOutput): void {
    while (this.flows.length > 0) this.complete(this.flows[0]!, out);
  }

  /**
   * The GRO-able shape of the frame staged at mem[0, len): Ethernet (+ tags) / IPv4 without
   * options and not fragmented, or IPv6 with TCP right after the fixed header; the length fields
   * exact.
   */
  private parse(len: number, s: Seg): boolean {
    const m = this.mem;
    const dv = this.dv;
    if (len < 14) return false;
    let o = 12;
    let type = dv.getUint16(o);
    while (type === EtherType.VLAN || type === EtherType.QINQ) {
      o += 4;
      if (o + 2 > len) return false;
      type = dv.getUint16(o);
    }
    const nh = o + 2;
    s.nh = nh;
    let addr: number;
    let words: number;
    if (type === EtherType.IPV4) {
      // inet_gro_receive: 0x45 only, tot_len exact, no fragment, valid header checksum
      // (ip_fast_csum: its five 32-bit words summed here rather than through a call for 20 bytes).
      if (nh + 20 > len || m[nh] !== 0x45 || m[nh + 9] !== IpProto.TCP) return false;
      if (dv.getUint16(nh + 2) !== len - nh || (dv.getUint16(nh + 6) & 0x3fff) !== 0) return false;
      let ipSum = 0;
      for (let i = nh; i < nh + 20; i += 4) {
        const w = dv.getUint32(i);
        ipSum += (w >>> 16) + (w & 0xffff);
      }
      if (csumFold(ipSum) !== 0xffff) return false;
      s.v6 = false;
      s.th = nh + 20;
      addr = nh + 12;
      words = 2;
    } else if (type === EtherType.IPV6) {
      if (nh + 40 > len || m[nh + 6] !== IpProto.TCP || dv.getUint16(nh + 4) !== len - nh - 40) return false;
      s.v6 = true;
      s.th = nh + 40;
      addr = nh + 8;
      words = 8;
    } else return false;
    const l4len = len - s.th;
    if (l4len < 20) return false;
    const t = s.th;
    // The key, read once; the addresses' words are the pseudo-header's sum as well.
    const key = s.key;
    key[0] = dv.getUint32(0);
    key[1] = dv.getUint32(4);
    key[2] = dv.getUint32(8);
    let sum = 0;
    for (let i = 0; i < words; i++) {
      const w = dv.getUint32(addr + 4 * i);
      key[3 + i] = w;
      sum += (w >>> 16) + (w & 0xffff);
    }
    key[3 + words] = dv.getUint32(t);
    s.keyLen = 4 + words;
    const thlen = (m[t + 12]! >>> 4) * 4;
    if (thlen < 20 || thlen > l4len) return false;
    // The TCP checksum is checked by the caller, with the payload's copy where there is one.
    s.pseudo = csumFold(sum + IpProto.TCP + (l4len >>> 16) + (l4len & 0xffff));
    s.thlen = thlen;
    s.payload = l4len - thlen;
    s.flags = m[t + 13]!;
    return true;
  }

  /**
   * gro_list_prepare + tcp_gro_lookup: same MAC header (and tags), addresses and ports. The
   * EtherType follows from the IP version; VLAN tags, when there are some, are compared in place.
   */
  private lookup(s: Seg): Flow | null {
    const key = s.key;
    const n = s.keyLen;
    const flows = this.flows;
    for (let j = 0; j < flows.length; j++) {
      const fl = flows[j]!;
      if (fl.nh !== s.nh || fl.v6 !== s.v6) continue;
      const k = fl.key;
      let i = 0;
      while (i < n && k[i] === key[i]) i++;
      if (i < n) continue;
      if (s.nh > 14 && !equal(this.mem, fl.base + 12, 12, s.nh - 14)) continue;
      return fl;
    }
    return null;
  }

  /** The flush conditions of inet/ipv6_gro_receive, tcp_gro_receive and skb_gro_receive. */
  private canMerge(fl: Flow, s: Seg): boolean {
    const m = this.mem;
    const dv = this.dv;
    const p = s.nh;
    if (s.v6) {
      // Version, traffic class, flow label and hop limit must match.
      if (dv.getUint32(p) !== fl.ipWord || m[p + 7] !== fl.ttl) return false;
    } else {
      // TOS, TTL and DF equal; the IP id the next one of the run (no fixed-id runs here).
      if ((dv.getUint16(p) & 0xff) !== fl.ipWord || m[p + 8] !== fl.ttl) return false;
      if ((m[p + 6]! & 0x40) !== fl.ident >>> 16 || ((fl.ident + fl.count) & 0xffff) !== dv.getUint16(p + 4))
        return false;
    }
    const t = s.th;
    if (s.flags & TcpFlags.CWR) return false;
    // Flag word (doff, flags but CWR/FIN/PSH, window), ack and options must be identical.
    if (
      m[t + 12] !== fl.doffByte ||
      ((fl.flagsByte ^ s.flags) & ~(TcpFlags.CWR | TcpFlags.FIN | TcpFlags.PSH)) !== 0
    )
      return false;
    if (dv.getUint16(t + 14) !== fl.window || dv.getUint32(t + 8) !== fl.ack) return false;
    const opts = fl.options;
    for (let i = 0, o = t + 20; o < t + s.thlen; i++, o += 4) if (dv.getUint32(o) !== opts[i]) return false;
    if (s.payload === 0 || s.payload > fl.mss) return false;
    if (dv.getUint32(t + 4) !== fl.nextSeq) return false;
    // The second bound only binds behind dozens of VLAN tags: the packet must fit its region.
    return fl.len - fl.nh + s.payload < GRO_MAX_SIZE && fl.len + s.payload <= REGION;
  }

  /** skb_gro_receive: the payload is already in place after the packet's end. */
  private merge(fl: Flow, s: Seg): void {
    const m = this.mem;
    fl.len += s.payload;
    fl.count++;
    fl.nextSeq = (fl.nextSeq + s.payload) >>> 0;
    const fin = s.flags & (TcpFlags.FIN | TcpFlags.PSH);
    if (fin !== 0) {
      const t = this.tcp.reset(m, fl.base + fl.th);
      t.flags = t.flags | fin;
    }
    this.counters.merged++;
  }

  private hold(len: number, s: Seg, out: GroOutput): void {
    const m = this.mem;
    const dv = this.dv;
    // The list is in arrival order, so the oldest held packet is the first.
    if (this.flows.length >= MAX_FLOWS) this.complete(this.flows[0]!, out);
    const fl = this.free.pop()!;
    packetCopy(m, fl.base, 0, len);
    fl.len = len;
    fl.count = 1;
    fl.nh = s.nh;
    fl.th = s.th;
    fl.thlen = s.thlen;
    fl.v6 = s.v6;
    fl.mss = s.payload;
    fl.key.set(s.key);
    const p = s.nh;
    // IPv6: the first word (version, class, label) and the hop limit; IPv4: TOS, TTL, DF and id.
    fl.ipWord = s.v6 ? dv.getUint32(p) : m[p + 1]!;
    fl.ttl = s.v6 ? m[p + 7]! : m[p + 8]!;
    fl.ident = s.v6 ? 0 : ((m[p + 6]! & 0x40) << 16) | dv.getUint16(p + 4);
    const t = s.th;
    fl.doffByte = m[t + 12]!;
    fl.flagsByte = s.flags;
    fl.window = dv.getUint16(t + 14);
    fl.ack = dv.getUint32(t + 8);
    for (let i = 0, o = t + 20; o < t + s.thlen; i++, o += 4) fl.options[i] = dv.getUint32(o);
    fl.nextSeq = (dv.getUint32(t + 4) + s.payload) >>> 0;
    this.flows.push(fl);
  }

  /** napi_gro_complete → inet/ipv6_gro_complete → tcp_gro_complete, then the TAP header. */
  private complete(fl: Flow, out: GroOutput): void {
    const flows = this.flows;
    let k = flows.indexOf(fl);
    for (; k + 1 < flows.length; k++) flows[k] = flows[k + 1]!;
    flows.pop();
    const m = this.mem;
    const b = fl.base;
    if (fl.count === 1) {
      this.free.push(fl);
      out.push(m, b, fl.len, VALID);
      return;
    }
    this.counters.superFrames++;
    const nh = b + fl.nh;
    const l4len = fl.len - fl.th;
    let sum: number;
    if (fl.v6) {
      const v = this.ip6.reset(m, nh);
      v.payloadLength = fl.len - fl.nh - 40;
      sum = v.pseudoSum(IpProto.TCP, l4len);
    } else {
      const v = this.ip4.reset(m, nh);
      v.totalLength = fl.len - fl.nh;
      v.fillChecksum();
      sum = v.pseudoSum(IpProto.TCP, l4len);
    }
    const t = this.tcp.reset(m, b + fl.th);
    t.checksum = sum;
    const h = this.hdr;
    h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h.gsoType =
      (fl.v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4) |
      (t.flags & TcpFlags.CWR ? VIRTIO_NET_HDR_GSO_ECN : VIRTIO_NET_HDR_GSO_NONE);
    h.hdrLen = fl.th + fl.thlen;
    h.gsoSize = fl.mss;
    h.csumStart = fl.th;
    h.csumOffset = 16;
    this.reclaim();
    if (this.lent.length < SPARE) {
      // The packet stays where it was built; its region comes back when `out` is cleared.
      fl.lentTo = out;
      fl.lentGen = out.generation;
      this.lent.push(fl);
      out.lend(m, b, fl.len, h);
    } else {
      this.free.push(fl);
      out.push(m, b, fl.len, h);
    }
  }

  /** Takes back the regions of lent packets whose output has been cleared since. */
  private reclaim(): void {
    const lent = this.lent;
    let j = 0;
    for (let i = 0; i < lent.length; i++) {
      const fl = lent[i]!;
      if (fl.lentTo!.generation !== fl.lentGen) {
        fl.lentTo = null;
        this.free.push(fl);
      } else lent[j++] = fl;
    }
    lent.length = j;
  }
}
