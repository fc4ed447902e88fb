// Integrity under impairment through the real packet path (issue 6): two unikernels (device model,
// ptnet driver, stack) on a VALE switch, host kloops inline, the host's impairment on each port's
// RX rings, everything on one VirtualClock moved only while the system is idle (virtual-pump.ts).
// A run sends N MiB each way at once over one connection and reports the SHA-256 at both ends.
import { createHash, type Hash } from 'node:crypto';
import { expect } from 'vitest';
import { ValeSwitch, configureImpairment, type ImpairConfig } from '../../src/host/index.ts';
import { VirtualClock, type Socket } from '../../src/stack/index.ts';
import { Unikernel } from '../../src/unikernel/index.ts';
import { pumpUntil, type PumpResult } from './virtual-pump.ts';

/** IMPAIR_SEED=<n> replays a run with another seed; the seed is in every test name. */
export const IMPAIR_SEED = Number(process.env.IMPAIR_SEED ?? 20261122);
export const MiB = 1 << 20;

/** Deterministic bytes (xorshift32), a different stream per seed. */
export function seededBytes(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i + 4 <= n; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeInt32LE(x | 0, i);
  }
  b.fill(0x5a, n & ~3);
  return b;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** One receiving end: bytes hashed as they arrive, and whether the peer's FIN came. */
class Sink {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;
  ended = false;
  constructor(s: Socket) {
    s.on('data', (d: Buffer) => {
      this.hash.update(d);
      this.bytes += d.length;
    });
    s.on('end', () => (this.ended = true));
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

export interface ImpairRun {
  /** 10.0.0.1, the client. */
  a: Unikernel;
  /** 10.0.0.2, the server. */
  b: Unikernel;
  pump: PumpResult;
  /** SHA-256 of what a sent and what b received (and the other way). */
  sentUp: string;
  gotUp: string;
  sentDown: string;
  gotDown: string;
  /** How many connections took their ISS from TransferOptions.iss. */
  issTaken: number;
}

export interface TransferOptions {
  impair: Omit<ImpairConfig, 'seed' | 'delay' | 'delayMs'>;
  seed: number;
  mib: number;
  /** Offloads of a and b (a mismatch makes the switch complete checksums and segment). */
  offloads: readonly [boolean, boolean];
  /** BootOptions.concurrentPeer of both (default: theirs, false inline): replies per frame. */
  concurrentPeer?: boolean;
  /** The ISS every connection of a and of b starts from (default: RFC 6528's, from the key). */
  iss?: readonly [number, number];
}

/**
 * Boots a and b on one VALE switch with `impair` on both ports' RX (seeds `seed` and `seed + 1`),
 * then sends `mib` MiB each way at once: a's client to b's server and back. Unikernels go into
 * `booted` (the caller shuts them down). Throws StallError if the run does not finish.
 */
export async function impairedTransfer(o: TransferOptions, booted: Unikernel[]): Promise<ImpairRun> {
  // The stack draws neighbour reachable times and its ephemeral port from Math.random: seeded for
  // the run, so a seed replays exactly.
  const random = Math.random;
  let x = (o.seed ^ 0x2545f491) >>> 0 || 1;
  Math.random = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
  try {
    return await run(o, booted);
  } finally {
    Math.random = random;
  }
}

async function run(o: TransferOptions, booted: Unikernel[]): Promise<ImpairRun> {
  const clock = new VirtualClock(1000);
  const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
  const pa = vale.attach('a');
  const pb = vale.attach('b');
  const tcp = { sndBuf: 1 << 20, rcvBuf: 1 << 20 };
  const key = new Uint8Array(32).fill(o.seed & 0xff);
  const common = {
    time: clock,
    tcp,
    ...(o.concurrentPeer === undefined ? {} : { concurrentPeer: o.concurrentPeer }),
  };
  const a = await Unikernel.boot({
    ...common,
    port: pa,
    ipv4: '10.0.0.1/24',
    offloads: o.offloads[0],
    isnKey: key,
  });
  booted.push(a);
  const b = await Unikernel.boot({
    ...common,
    port: pb,
    ipv4: '10.0.0.2/24',
    offloads: o.offloads[1],
    isnKey: key.map((x) => x ^ 0xff),
  });
  booted.push(b);
  let issTaken = 0;
  if (o.iss !== undefined) {
    const [ia, ib] = o.iss;
    a.stack.tcp.isn.isn = () => (issTaken++, ia);
    b.stack.tcp.isn.isn = () => (issTaken++, ib);
  }
  configureImpairment(pa, { ...o.impair, seed: o.seed });
  configureImpairment(pb, { ...o.impair, seed: o.seed + 1 });
  const up = seededBytes(o.mib * MiB, o.seed ^ 0x5eed);
  const down = seededBytes(o.mib * MiB, o.seed ^ 0xd0e5);
  let server: Sink | undefined;
  b.net
    .createServer((s) => {
      server = new Sink(s);
      s.end(down);
    })
    .listen(5001);
  // A fixed local port: the ephemeral one is random, and a corrupted byte may land on it.
  const c = a.net.connect({ host: '10.0.0.2', port: 5001, localPort: 40000 });
  const client = new Sink(c);
  c.end(up);
  const progress = (): number => {
    let n = client.bytes + (server?.bytes ?? 0);
    for (const u of [a, b]) {
      const k = u.netif.counters;
      const t = u.stack.tcp.counters;
      n += k.txPackets + k.rxPackets + t.inSegs + t.outSegs;
      for (const l of u.kloops) n += l.runs;
    }
    return n;
  };
  const done = (): boolean => client.ended && server?.ended === true;
  // A clean 32 MiB run takes no virtual time at all (processing is instantaneous); 20 % loss with
  // RTO backoff about a virtual minute. An hour, or 60 000 turns per MiB, means stalled.
  const pump = await pumpUntil(clock, progress, done, {
    limitMs: 3_600_000,
    maxSteps: 100_000 + o.mib * 60_000,
  });
  return {
    a,
    b,
    pump,
    sentUp: sha(up),
    gotUp: server!.digest(),
    sentDown: sha(down),
    gotDown: client.digest(),
    issTaken,
  };
}

/** One line with the seed, the run's cost and the recovery counters of both ends. */
export function describeRun(name: string, seed: number, r: ImpairRun): string {
  const side = (u: Unikernel): string => {
    const t = u.stack.tcp.counters;
    const s = u.stack.counters;
    const d = u.port.datapath.drops();
    return (
      `retrans ${t.retransSegs} fast ${t.fastRetrans} sackRecovery ${t.sackRecovery} rto ${t.timeouts} ` +
      `lostRetrans ${t.lostRetransmits} tcpCsumErr ${t.csumErrors} tcpInErrs ${t.inErrs} ` +
      `ipHdrErr ${s.ipInHdrErrors} otherHost ${s.rxOtherHost} impaired ${d.IMPAIRED} noSpace ${d.NO_SPACE}`
    );
  };
  return (
    `[impair seed=${seed}] ${name}: ${Math.round(r.pump.virtualMs)} virtual ms, ${r.pump.steps} turns, ` +
    `${r.pump.jumps} idle jumps | a: ${side(r.a)} | b: ${side(r.b)}`
  );
}

/** Both directions arrived intact, and nothing hid behind a real-time retry or an exception. */
export function expectIntact(r: ImpairRun, seed: number): void {
  expect(r.gotUp, `seed ${seed}: a → b`).toBe(r.sentUp);
  expect(r.gotDown, `seed ${seed}: b → a`).toBe(r.sentDown);
  for (const u of [r.a, r.b]) {
    // rxNoMbuf would bring a wall-clock retry (PTNET_RX_RETRY_MS) into a virtual-time run.
    expect(u.netif.counters.rxNoMbuf).toBe(0);
    expect(u.stack.counters.rxExceptions).toBe(0);
  }
}

/** Losses were repaired by retransmission, SACK-based fast recovery among it, at both ends. */
export function expectSackRecovery(r: ImpairRun): void {
  for (const u of [r.a, r.b]) {
    const t = u.stack.tcp.counters;
    expect(t.retransSegs).toBeGreaterThan(0);
    expect(t.fastRetrans).toBeGreaterThan(0);
    expect(t.sackRecovery).toBe(t.fastRetrans);
    expect(t.renoRecovery).toBe(0);
  }
}

/**
 * Corrupted frames were dropped by checksum verification and counted: TCP checksums at each end,
 * IPv4 header checksums (a 20-byte target, hit about once per 80 flips) over both.
 */
export function expectCorruptionCaught(r: ImpairRun): void {
  for (const u of [r.a, r.b]) expect(u.stack.tcp.counters.csumErrors).toBeGreaterThan(0);
  expect(r.a.stack.counters.ipInHdrErrors + r.b.stack.counters.ipInHdrErrors).toBeGreaterThan(0);
}
