// A scripted TCP peer for segment-level tests: stack b is the system under test; the peer speaks
// for 10.0.0.1 with raw frames (any header, any option bytes) and sees exactly what b sends back.
// Stack a only lends its MAC and address: after one ping (ARP both ways) its link is cut.
import { expect } from 'vitest';
import type { Mbuf } from '../../src/mbuf/index.ts';
import type { NetIfPairOptions } from '../../src/netif/index.ts';
import type { Socket, StackOptions } from '../../src/stack/index.ts';
import {
  EthernetRepr,
  EtherType,
  IpProto,
  Ipv4Repr,
  TcpFlags,
  TcpOptKind,
  pseudoSum,
} from '../../src/wire/index.ts';
import { csumFinish, csumPartial } from '../../src/checksum/index.ts';
import { makePair, runUntil, type Pair } from './harness.ts';

const { SYN, ACK } = TcpFlags;

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

export const PEER = 0x0a000001;
export const SUT = 0x0a000002;

/** One segment b sent, decoded. */
export interface Out {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  len: number;
  payload: Uint8Array;
  mss: number;
  wscale: number;
  sackPermitted: boolean;
  ts: [number, number] | null;
  sack: Array<[number, number]>;
  /** Virtual time it was sent (scriptedPeer only). */
  at: number;
}

export interface SegIn {
  src?: number;
  sport?: number;
  dport?: number;
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  payload?: Uint8Array;
  /** Raw option bytes (a multiple of 4 long, or the header length is rounded down and cuts them). */
  opts?: Uint8Array | number[];
  /** The IP header's ECN field (RFC 3168), default 0. */
  ecn?: number;
}

const u32 = (b: Uint8Array, o: number): number =>
  ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

/** Decodes one transmitted frame; null when it is not IPv4/TCP. */
export function decode(m: Mbuf): Out | null {
  const f = new Uint8Array(m.length);
  m.copyTo(f);
  if (f.length < 54 || f[12] !== 0x08 || f[13] !== 0x00 || f[23] !== IpProto.TCP) return null;
  const ihl = (f[14]! & 15) * 4;
  const totLen = (f[16]! << 8) | f[17]!;
  const t = 14 + ihl;
  const hl = (f[t + 12]! >> 4) * 4;
  const o: Out = {
    src: u32(f, 26),
    dst: u32(f, 30),
    sport: (f[t]! << 8) | f[t + 1]!,
    dport: (f[t + 2]! << 8) | f[t + 3]!,
    seq: u32(f, t + 4),
    ack: u32(f, t + 8),
    flags: f[t + 13]!,
    window: (f[t + 14]! << 8) | f[t + 15]!,
    len: 14 + totLen - t - hl,
    payload: f.slice(t + hl, 14 + totLen),
    mss: -1,
    wscale: -1,
    sackPermitted: false,
    ts: null,
    sack: [],
    at: 0,
  };
  for (let p = t + 20; p < t + hl;) {
    const k = f[p]!;
    if (k === TcpOptKind.EOL) break;
    if (k === TcpOptKind.NOP) {
      p++;
      continue;
    }
    const l = f[p + 1]!;
    if (k === TcpOptKind.MSS) o.mss = (f[p + 2]! << 8) | f[p + 3]!;
    else if (k === TcpOptKind.WSCALE) o.wscale = f[p + 2]!;
    else if (k === TcpOptKind.SACK_PERMITTED) o.sackPermitted = true;
    else if (k === TcpOptKind.TIMESTAMP) o.ts = [u32(f, p + 2), u32(f, p + 6)];
    else if (k === TcpOptKind.SACK)
      for (let q = p + 2; q < p + l; q += 8) o.sack.push([u32(f, q), u32(f, q + 4)]);
    p += Math.max(2, l);
  }
  return o;
}

/** An Ethernet/IPv4/TCP frame src -> dst carrying segment `s`, checksums valid. */
export function tcpFrame(
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  src: number,
  dst: number,
  s: SegIn,
): Uint8Array {
  const macNum = (x: Uint8Array): number => x.reduce((n, b) => n * 256 + b, 0);
  const payload = s.payload ?? new Uint8Array(0);
  const ob = Uint8Array.from(s.opts ?? []);
  const hl = 20 + (ob.length & ~3);
  const tl = hl + payload.length;
  const frame = new Uint8Array(34 + tl);
  EthernetRepr.emit(
    { dst: macNum(dstMac), src: macNum(srcMac), vlans: [], etherType: EtherType.IPV4 },
    frame,
    0,
  );
  Ipv4Repr.emit(
    {
      src,
      dst,
      protocol: IpProto.TCP,
      ttl: 64,
      dscp: 0,
      ecn: s.ecn ?? 0,
      ident: 1,
      dontFrag: true,
      moreFrags: false,
      fragOffset: 0,
      payloadLen: tl,
      options: new Uint8Array(0),
    },
    frame,
    14,
  );
  const t = 34;
  const put16 = (o: number, v: number): void => {
    frame[o] = (v >>> 8) & 0xff;
    frame[o + 1] = v & 0xff;
  };
  const put32 = (o: number, v: number): void => {
    put16(o, (v >>> 16) & 0xffff);
    put16(o + 2, v & 0xffff);
  };
  put16(t, s.sport ?? 40000);
  put16(t + 2, s.dport ?? 80);
  put32(t + 4, s.seq >>> 0);
  put32(t + 8, (s.ack ?? 0) >>> 0);
  frame[t + 12] = (hl / 4) << 4;
  frame[t + 13] = s.flags;
  put16(t + 14, s.window ?? 65535);
  frame.set(ob.subarray(0, hl - 20), t + 20);
  frame.set(payload, t + hl);
  put16(t + 16, csumFinish(csumPartial(frame, t, tl, pseudoSum(src, dst, IpProto.TCP, tl))));
  return frame;
}

export interface Peer {
  p: Pair;
  /** Segments b sent since the last take(). */
  take(): Out[];
  /** Everything b sent, never cleared (TCP only). */
  readonly all: Out[];
  /** Injects one segment from the peer into b (synchronously processed). */
  send(s: SegIn): void;
  /** Runs the clock for `ms` virtual ms (timers fire, nothing is delivered to b but what send() injects). */
  wait(ms: number): Promise<void>;
}

/** b with its transmissions captured and dropped, a silenced; call with the server already listening if needed. */
export async function scriptedPeer(
  opts: { pair?: NetIfPairOptions; b?: Partial<StackOptions> } = {},
): Promise<Peer> {
  const p = makePair({ pair: opts.pair, b: opts.b });
  let pong = -1;
  p.a.ping('10.0.0.2').then((r) => (pong = r));
  await runUntil(p, () => pong >= 0);
  const all: Out[] = [];
  let from = 0;
  // ARP still flows both ways so that b's neighbour entry for the peer stays valid over long
  // virtual waits; everything else a sends is dropped, everything else b sends is captured.
  const isArp = (m: Mbuf): boolean => m.getU8(12) === 0x08 && m.getU8(13) === 0x06;
  p.la.drop = (m) => !isArp(m);
  p.lb.drop = (m) => {
    if (isArp(m)) return false;
    const o = decode(m);
    if (o !== null) {
      o.at = p.clock.now();
      all.push(o);
    }
    return true;
  };
  const amac = p.a.netif.mac;
  const bmac = p.b.netif.mac;
  return {
    p,
    all,
    take() {
      const r = all.slice(from);
      from = all.length;
      return r;
    },
    send(s) {
      const m = p.b.pool.alloc()!;
      expect(m.append(tcpFrame(bmac, amac, s.src ?? PEER, SUT, s))).toBe(true);
      p.b.input(m);
    },
    async wait(ms) {
      // Exactly `ms` virtual ms: timers fire at their deadlines, never past the end.
      const until = p.clock.now() + ms;
      for (;;) {
        await tick();
        await tick();
        const now = p.clock.now();
        if (now >= until) return;
        const d = p.clock.timers.nextDeadline();
        p.clock.advance(Math.max(0, Math.min(until, d, now + 1000) - now));
      }
    },
  };
}

/** Option bytes. */
export const opt = {
  mss: (v: number): number[] => [TcpOptKind.MSS, 4, v >> 8, v & 0xff],
  wscale: (s: number): number[] => [TcpOptKind.NOP, TcpOptKind.WSCALE, 3, s],
  sackOk: (): number[] => [TcpOptKind.NOP, TcpOptKind.NOP, TcpOptKind.SACK_PERMITTED, 2],
  ts: (val: number, ecr: number): number[] => [
    TcpOptKind.NOP,
    TcpOptKind.NOP,
    TcpOptKind.TIMESTAMP,
    10,
    ...[val >>> 24, (val >>> 16) & 0xff, (val >>> 8) & 0xff, val & 0xff],
    ...[ecr >>> 24, (ecr >>> 16) & 0xff, (ecr >>> 8) & 0xff, ecr & 0xff],
  ],
};

export interface Conn {
  peer: Peer;
  /** b's socket, the peer's ISN and b's ISN. */
  s: Socket;
  irs: number;
  iss: number;
  synAck: Out;
  /** Sequence the peer sends next / the ACK it sends (b's SND.NXT as the peer saw it). */
  seq: number;
  ack: number;
}

/**
 * A passive connection opened by a raw handshake: the peer's SYN carries `synOpts` (default: MSS
 * 1460 only, so no window scaling, SACK or timestamps), window `window`.
 */
export async function handshake(
  opts: {
    b?: Partial<StackOptions>;
    pair?: NetIfPairOptions;
    synOpts?: number[];
    window?: number;
    server?: object;
  } = {},
): Promise<Conn> {
  const peer = await scriptedPeer({ b: opts.b, pair: opts.pair });
  let s: Socket | null = null;
  peer.p.b.net.createServer((x) => (s = x), opts.server ?? {}).listen(80);
  const irs = 1000;
  peer.send({ seq: irs, flags: SYN, window: opts.window ?? 65535, opts: opts.synOpts ?? opt.mss(1460) });
  const sa = peer.take();
  expect(sa).toHaveLength(1);
  const synAck = sa[0]!;
  expect(synAck.flags).toBe(SYN | ACK);
  expect(synAck.ack).toBe(irs + 1);
  peer.send({ seq: irs + 1, ack: synAck.seq + 1, flags: ACK, window: opts.window ?? 65535 });
  await runUntil(peer.p, () => s !== null);
  expect(peer.take()).toEqual([]);
  return { peer, s: s!, irs, iss: synAck.seq, synAck, seq: irs + 1, ack: synAck.seq + 1 };
}
