// Turning script segments into frames and the stack's frames back into segments: Ethernet + IPv4 +
// TCP through src/wire's emitters and views, between the peer (PEER_IP, PEER_MAC) and the stack
// under test (STACK_IP). Relative sequence numbers are resolved against the two ISNs here.
import {
  ArpOp,
  EtherType,
  EthernetRepr,
  FrameInfo,
  IpProto,
  Ipv4Repr,
  TcpRepr,
  TcpView,
  dissectFrame,
  type TcpOption,
} from '../../src/wire/index.ts';
import { flagsText, type OptSpec, type SegSpec } from './format.ts';

export const STACK_IP = 0x0a4d0001; // 10.77.0.1
export const PEER_IP = 0x0a4d0002; // 10.77.0.2
export const PEER_MAC = new Uint8Array([0x02, 0, 0, 0x77, 0, 2]);
/** The peer's port when the stack listens; when the stack connects, the port it connects to. */
export const PEER_PORT = 40_000;
/** The peer's initial sequence number; script sequence numbers of inbound segments count from it. */
export const PEER_ISN = 1_000_000;

function macNum(m: Uint8Array): number {
  let n = 0;
  for (const b of m) n = n * 256 + b;
  return n;
}

/** What the runner knows while a script runs. */
export class Conn {
  /** The stack's ISN, from the first SYN it sends. */
  stackIsn: number | null = null;
  /** The stack's port, from its first segment (connect) or the script's listen port. */
  stackPort = 0;
  /** Last TSval the stack sent, for "ecr echo". */
  lastTsVal = 0;
  peerPort = PEER_PORT;
}

function toOptions(spec: OptSpec[] | null, c: Conn): TcpOption[] {
  const out: TcpOption[] = [];
  for (const o of spec ?? []) {
    switch (o.kind) {
      case 'mss':
        out.push({ type: 'mss', mss: o.value === '*' ? 1460 : o.value });
        break;
      case 'wscale':
        out.push({ type: 'wscale', shift: o.value === '*' ? 7 : o.value });
        break;
      case 'sackOK':
        out.push({ type: 'sackPermitted' });
        break;
      case 'nop':
        out.push({ type: 'nop' });
        break;
      case 'TS': {
        const v = (x: number | '*' | 'echo'): number => (x === 'echo' ? c.lastTsVal : x === '*' ? 0 : x);
        out.push({ type: 'timestamp', tsVal: v(o.val), tsEcr: v(o.ecr) });
        break;
      }
      case 'sack':
        out.push({
          type: 'sack',
          blocks: o.blocks.map(([a, b]): [number, number] => [
            ((c.stackIsn ?? 0) + a) >>> 0,
            ((c.stackIsn ?? 0) + b) >>> 0,
          ]),
        });
        break;
      case 'raw':
        break;
    }
  }
  return out;
}

/** The peer's segment as an Ethernet frame to the stack (`stackMac`). */
export function buildInbound(seg: SegSpec, c: Conn, stackMac: Uint8Array): Uint8Array {
  const options = toOptions(seg.options, c);
  const raw = (seg.options ?? []).flatMap((o) => (o.kind === 'raw' ? o.bytes : []));
  const tcp = {
    srcPort: c.peerPort,
    dstPort: c.stackPort,
    seq: (PEER_ISN + seg.seq) >>> 0,
    ack: seg.ack === null ? 0 : ((c.stackIsn ?? 0) + seg.ack) >>> 0,
    flags: seg.flags,
    window: seg.win === '*' ? 65535 : seg.win,
    urgent: 0,
    options,
    payloadLen: seg.len,
  };
  // Raw option bytes (malformed lists) go in as written, after the parsed ones, padded with EOL.
  const base = TcpRepr.bufferLen(tcp);
  const rawPadded = (raw.length + 3) & ~3;
  const thl = base + rawPadded;
  const f = new Uint8Array(14 + 20 + thl + seg.len);
  EthernetRepr.emit(
    { dst: macNum(stackMac), src: macNum(PEER_MAC), vlans: [], etherType: EtherType.IPV4 },
    f,
    0,
  );
  Ipv4Repr.emit(
    {
      src: PEER_IP,
      dst: STACK_IP,
      protocol: IpProto.TCP,
      ttl: 64,
      dscp: 0,
      ecn: 0,
      ident: 1,
      dontFrag: true,
      moreFrags: false,
      fragOffset: 0,
      payloadLen: thl + seg.len,
      options: new Uint8Array(0),
    },
    f,
    14,
  );
  for (let i = 0; i < seg.len; i++) f[14 + 20 + thl + i] = 0x61 + (i % 26);
  if (raw.length === 0) {
    TcpRepr.emit(tcp, f, 34, PEER_IP, STACK_IP);
    return f;
  }
  // With raw bytes: emit the parsed options, append the raw ones, then fix offset and checksum.
  const tmp = new Uint8Array(base + seg.len);
  tmp.set(f.subarray(34 + thl), base);
  TcpRepr.emit(tcp, tmp, 0, PEER_IP, STACK_IP);
  let end = 20;
  while (end < base && tmp[end] !== 0) end += tmp[end] === 1 ? 1 : Math.max(2, tmp[end + 1]!);
  f.set(tmp.subarray(0, end), 34);
  f.set(raw, 34 + end);
  f[34 + 12] = (thl / 4) << 4;
  f[34 + 16] = 0;
  f[34 + 17] = 0;
  let s = (PEER_IP >>> 16) + (PEER_IP & 0xffff) + (STACK_IP >>> 16) + (STACK_IP & 0xffff) + 6 + thl + seg.len;
  for (let i = 34; i < f.length; i += 2) s += (f[i]! << 8) | (f[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  f[34 + 16] = (~s >> 8) & 0xff;
  f[34 + 17] = ~s & 0xff;
  return f;
}

/** An ARP reply telling the stack where the peer is, for its request `req`. */
export function arpReplyFor(req: Uint8Array): Uint8Array | null {
  if (req.length < 42 || ((req[12]! << 8) | req[13]!) !== EtherType.ARP) return null;
  if (((req[20]! << 8) | req[21]!) !== ArpOp.REQUEST) return null;
  const target = ((req[38]! << 24) | (req[39]! << 16) | (req[40]! << 8) | req[41]!) >>> 0;
  if (target !== PEER_IP) return null;
  const r = new Uint8Array(42);
  r.set(req.subarray(6, 12), 0);
  r.set(PEER_MAC, 6);
  r.set([0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, ArpOp.REPLY], 12);
  r.set(PEER_MAC, 22);
  r.set(req.subarray(38, 42), 28);
  r.set(req.subarray(22, 28), 32);
  r.set(req.subarray(28, 32), 38);
  return r;
}

/** A TCP segment the stack sent, as the runner compares it. */
export interface OutSeg {
  flags: number;
  seq: number;
  ack: number;
  win: number;
  len: number;
  srcPort: number;
  options: TcpOption[];
}

const info = new FrameInfo();

/** The stack's TCP segment in `f`, or null for anything else (ARP, IPv6, other protocols). */
export function parseOutbound(f: Uint8Array): OutSeg | null {
  if (dissectFrame(f, 0, f.length, info) !== null || info.l3Kind !== 'ipv4' || info.l4Proto !== IpProto.TCP) {
    return null;
  }
  const r = TcpRepr.parse(new TcpView(f, info.l4Off, f.length - info.l4Off));
  return {
    flags: r.flags,
    seq: r.seq,
    ack: r.ack,
    win: r.window,
    len: r.payloadLen,
    srcPort: r.srcPort,
    options: r.options,
  };
}

function rel(v: number, base: number): number {
  return (v - base) | 0;
}

/** tcpdump-like text of a segment, relative to the ISNs. */
export function describe(s: OutSeg, c: Conn): string {
  const seq = rel(s.seq, c.stackIsn ?? s.seq);
  const ack = (s.flags & 0x10) !== 0 ? ` ack ${rel(s.ack, PEER_ISN)}` : '';
  const opts = s.options
    .filter((o) => o.type !== 'nop')
    .map((o) => (o.type === 'timestamp' ? `TS val ${o.tsVal} ecr ${o.tsEcr}` : o.type))
    .join(',');
  return `${flagsText(s.flags)} ${seq}:${seq + s.len}(${s.len})${ack} win ${s.win}${opts === '' ? '' : ` <${opts}>`}`;
}

/** null when `s` matches the expectation, else what differs. Learns the ISN from a SYN. */
export function match(spec: SegSpec, s: OutSeg, c: Conn): string | null {
  if ((s.flags & 0x02) !== 0 && c.stackIsn === null) c.stackIsn = (s.seq - spec.seq) >>> 0;
  for (const o of s.options) if (o.type === 'timestamp') c.lastTsVal = o.tsVal;
  const diffs: string[] = [];
  if ((s.flags & 0xdf & ~spec.optional) !== spec.flags) diffs.push(`flags ${flagsText(s.flags)}`);
  if (rel(s.seq, c.stackIsn ?? 0) !== spec.seq) diffs.push(`seq ${rel(s.seq, c.stackIsn ?? 0)}`);
  if (s.len !== spec.len) diffs.push(`len ${s.len}`);
  if (spec.ack !== null && rel(s.ack, PEER_ISN) !== spec.ack) diffs.push(`ack ${rel(s.ack, PEER_ISN)}`);
  if (spec.win !== '*' && s.win !== spec.win) diffs.push(`win ${s.win}`);
  if (spec.options !== null) {
    const want = spec.options.filter((o) => o.kind !== 'nop');
    const got = s.options.filter((o) => o.type !== 'nop');
    if (want.length !== got.length) diffs.push(`${got.length} options`);
    for (const w of want) {
      const g = got.find((o) =>
        w.kind === 'mss'
          ? o.type === 'mss' && (w.value === '*' || o.mss === w.value)
          : w.kind === 'wscale'
            ? o.type === 'wscale' && (w.value === '*' || o.shift === w.value)
            : w.kind === 'sackOK'
              ? o.type === 'sackPermitted'
              : w.kind === 'TS'
                ? o.type === 'timestamp' &&
                  (w.val === '*' || o.tsVal === w.val) &&
                  (w.ecr === '*' || (w.ecr === 'echo' ? true : o.tsEcr === w.ecr))
                : w.kind === 'sack'
                  ? o.type === 'sack' &&
                    o.blocks.length === w.blocks.length &&
                    o.blocks.every(
                      ([a, b], i) =>
                        rel(a, PEER_ISN) === w.blocks[i]![0] && rel(b, PEER_ISN) === w.blocks[i]![1],
                    )
                  : false,
      );
      if (g === undefined) diffs.push(`no ${w.kind} option as given`);
    }
  }
  return diffs.length === 0 ? null : diffs.join(', ');
}
