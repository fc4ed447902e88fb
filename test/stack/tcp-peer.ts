// A scripted TCP peer for segment-level tests: stack b is the system under test; the peer speaks
// for 10.0.0.1 with raw frames (any header, any option bytes) and sees exactly what b sends back.
// Stack a only lends its MAC and address: after one ping (ARP both ways) its link is cut.
import { expect } from 'vitest';
import type { Mbuf } from '../../src/mbuf/index.ts';
import type { NetIfPairOptions } from '../../src/netif/index.ts';
import type { Socket, StackOptions } from '../../src/stack/index.ts';
import { TcpFlags, TcpOptKind } from '../../src/wire/index.ts';
import { PEER, SUT, decode, tcpFrame, type Out, type SegIn } from '../support/tcp-frame.ts';
import { makePair, runUntil, type Pair } from './harness.ts';

export { PEER, SUT, decode, tcpFrame, type Out, type SegIn };

const { SYN, ACK } = TcpFlags;

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

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
