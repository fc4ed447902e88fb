// Turning script segments into frames and the stack's frames back into segments: Ethernet + IPv4 +
// TCP through src/wire's emitters and views, between the peer (PEER_IP, PEER_MAC) and the stack
// under test (STACK_IP). Relative sequence numbers are resolved against the two ISNs here.
import {
  ArpOp,
  EtherType,
  FrameInfo,
  IpProto,
  TcpOptKind,
  TcpRepr,
  TcpView,
  dissectFrame,
  type TcpOption,
} from '../../src/wire/index.ts';
import { tcpFrame } from '../stack/tcp-peer.ts';
import { ecnText, flagsText, type OptSpec, type SegSpec } from './format.ts';

export const STACK_IP = 0x0a4d0001; // 10.77.0.1
export const PEER_IP = 0x0a4d0002; // 10.77.0.2
export const PEER_MAC = new Uint8Array([0x02, 0, 0, 0x77, 0, 2]);
/** The peer's port when the stack listens; when the stack connects, the port it connects to. */
export const PEER_PORT = 40_000;
/** The peer's initial sequence number; script sequence numbers of inbound segments count from it. */
export const PEER_ISN = 1_000_000;

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

/** The option bytes of an inbound segment, padded with EOL to a multiple of 4 ("raw" as written). */
function optionBytes(spec: OptSpec[] | null, c: Conn): number[] {
  const out: number[] = [];
  const be = (v: number, n: number): number[] =>
    Array.from({ length: n }, (_, i) => (v >>> (8 * (n - 1 - i))) & 0xff);
  for (const o of spec ?? []) {
    switch (o.kind) {
      case 'mss':
        out.push(TcpOptKind.MSS, 4, ...be(o.value === '*' ? 1460 : o.value, 2));
        break;
      case 'wscale':
        out.push(TcpOptKind.WSCALE, 3, o.value === '*' ? 7 : o.value);
        break;
      case 'sackOK':
        out.push(TcpOptKind.SACK_PERMITTED, 2);
        break;
      case 'nop':
        out.push(TcpOptKind.NOP);
        break;
      case 'TS': {
        const v = (x: number | '*' | 'echo'): number => (x === 'echo' ? c.lastTsVal : x === '*' ? 0 : x);
        out.push(TcpOptKind.TIMESTAMP, 10, ...be(v(o.val), 4), ...be(v(o.ecr), 4));
        break;
      }
      case 'sack':
        out.push(TcpOptKind.SACK, 2 + 8 * o.blocks.length);
        for (const [l, r] of o.blocks)
          out.push(...be((c.stackIsn ?? 0) + l, 4), ...be((c.stackIsn ?? 0) + r, 4));
        break;
      case 'raw':
        out.push(...o.bytes);
        break;
    }
  }
  while (out.length % 4 !== 0) out.push(TcpOptKind.EOL);
  return out;
}

/** The peer's segment as an Ethernet frame to the stack (`stackMac`). */
export function buildInbound(seg: SegSpec, c: Conn, stackMac: Uint8Array): Uint8Array {
  const payload = new Uint8Array(seg.len);
  for (let i = 0; i < seg.len; i++) payload[i] = 0x61 + (i % 26);
  return tcpFrame(stackMac, PEER_MAC, PEER_IP, STACK_IP, {
    sport: c.peerPort,
    dport: c.stackPort,
    seq: (PEER_ISN + seg.seq) >>> 0,
    ack: seg.ack === null ? 0 : ((c.stackIsn ?? 0) + seg.ack) >>> 0,
    flags: seg.flags,
    window: seg.win === '*' ? 65535 : seg.win,
    payload,
    opts: optionBytes(seg.options, c),
    ecn: seg.ecn === '*' ? 0 : seg.ecn,
  });
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
  /** The IP header's ECN field. */
  ecn: number;
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
    ecn: f[info.l3Off + 1]! & 3,
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
  const ecn = s.ecn === 0 ? '' : ` ecn ${ecnText(s.ecn)}`;
  return `${flagsText(s.flags)} ${seq}:${seq + s.len}(${s.len})${ack} win ${s.win}${ecn}${opts === '' ? '' : ` <${opts}>`}`;
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
  if (spec.ecn !== '*' && s.ecn !== spec.ecn) diffs.push(`ecn ${ecnText(s.ecn)}`);
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
