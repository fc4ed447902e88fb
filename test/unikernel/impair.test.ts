// Integrity under impairment through the real packet path: two unikernels (device model, ptnet
// driver, stack) on a VALE switch, host kloops inline, the host's impairment on each port's RX
// rings, everything on one VirtualClock advanced only while the system is idle (test/support/
// virtual-pump.ts). Each case moves N MiB both ways at once over one connection and checks the
// SHA-256 at both ends, a bounded run (virtual time and event-loop turns) and the recovery
// counters. Seeds are in the test names; IMPAIR_SEED=<n> replays a run with another seed.
import { createHash, type Hash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ValeSwitch, configureImpairment, type ImpairConfig } from '../../src/host/index.ts';
import { VirtualClock, type Socket } from '../../src/stack/index.ts';
import { Unikernel } from '../../src/unikernel/index.ts';
import { pumpUntil, type PumpResult } from '../support/virtual-pump.ts';

const SEED = Number(process.env.IMPAIR_SEED ?? 20261122);
const MiB = 1 << 20;

const booted: Unikernel[] = [];
afterEach(() => {
  for (const u of booted.splice(0)) u.shutdown();
});

/** Deterministic bytes (xorshift32), a different stream per seed. */
function bytes(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeInt32LE(x | 0, i);
  }
  return b;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** One receiving end: bytes hashed as they arrive, and whether the peer's FIN came. */
class Sink {
  readonly hash: Hash = createHash('sha256');
  bytes = 0;
  ended = false;
  constructor(s: Socket) {
    s.on('data', (d: Buffer) => {
      this.hash.update(d);
      this.bytes += d.length;
    });
    s.on('end', () => (this.ended = true));
  }
}

interface Run {
  a: Unikernel;
  b: Unikernel;
  pump: PumpResult;
  upSha: string;
  downSha: string;
  atServer: string;
  atClient: string;
}

/**
 * Boots a (10.0.0.1) and b (10.0.0.2) on one VALE switch with `impair` on both ports' RX (seeds
 * `seed` and `seed + 1`), then sends `mib` MiB each way at once: a's client to b's server and back.
 */
async function transfer(
  impair: Omit<ImpairConfig, 'seed'>,
  seed: number,
  mib: number,
  offloads: readonly [boolean, boolean],
): Promise<Run> {
  const clock = new VirtualClock(1000);
  const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
  const pa = vale.attach('a');
  const pb = vale.attach('b');
  const tcp = { sndBuf: 1 << 20, rcvBuf: 1 << 20 };
  const key = new Uint8Array(32).fill(seed & 0xff);
  const a = await Unikernel.boot({
    port: pa,
    ipv4: '10.0.0.1/24',
    offloads: offloads[0],
    time: clock,
    isnKey: key,
    tcp,
  });
  booted.push(a);
  const b = await Unikernel.boot({
    port: pb,
    ipv4: '10.0.0.2/24',
    offloads: offloads[1],
    time: clock,
    isnKey: key.map((x) => x ^ 0xff),
    tcp,
  });
  booted.push(b);
  configureImpairment(pa, { ...impair, seed });
  configureImpairment(pb, { ...impair, seed: seed + 1 });
  const up = bytes(mib * MiB, seed ^ 0x5eed);
  const down = bytes(mib * MiB, seed ^ 0xd0e5);
  let server: Sink | null = null;
  b.net
    .createServer((s) => {
      server = new Sink(s);
      s.end(down);
    })
    .listen(5001);
  const c = a.net.connect({ host: '10.0.0.2', port: 5001, localPort: 40000 });
  const client = new Sink(c);
  c.end(up);
  const progress = (): number => {
    let n = 0;
    for (const u of [a, b]) {
      const k = u.netif.counters;
      n += k.txPackets + k.rxPackets + u.stack.tcp.counters.inSegs + u.stack.tcp.counters.outSegs;
      for (const l of u.kloops) n += l.runs;
    }
    return n + client.bytes + ((server as Sink | null)?.bytes ?? 0);
  };
  const done = (): boolean => client.ended && (server as Sink | null)?.ended === true;
  // Budget: a clean 32 MiB run takes a few virtual seconds; 20 % loss with RTO backoff, minutes.
  const pump = await pumpUntil(clock, progress, done, {
    limitMs: 3_600_000,
    maxSteps: 400_000 + mib * 20_000,
  });
  const s = server as Sink | null;
  return {
    a,
    b,
    pump,
    upSha: sha(up),
    downSha: sha(down),
    atServer: s!.hash.digest('hex'),
    atClient: client.hash.digest('hex'),
  };
}

interface Case {
  name: string;
  impair: Omit<ImpairConfig, 'seed'>;
  mib: number;
  /** Offloads of a and b. */
  offloads: readonly [boolean, boolean];
}

const lossy = (c: Case): boolean => (c.impair.drop ?? 0) > 0 || (c.impair.corrupt ?? 0) > 0;

const CASES: Case[] = [
  {
    name: '1 % loss',
    impair: { drop: 0.01 },
    mib: Number(process.env.IMPAIR_MIB ?? 32),
    offloads: [false, false],
  },
  {
    name: '5 % loss',
    impair: { drop: 0.05 },
    mib: Number(process.env.IMPAIR_MIB ?? 32),
    offloads: [false, false],
  },
  {
    name: '20 % loss',
    impair: { drop: 0.2 },
    mib: Number(process.env.IMPAIR_MIB ?? 32),
    offloads: [false, false],
  },
];

describe('integrity under impairment: two unikernels over VALE, inline kloops, virtual time', () => {
  it.each(CASES)('$name, $mib MiB each way, offloads $offloads (seed ' + SEED + ')', async (k) => {
    const r = await transfer(k.impair, SEED, k.mib, k.offloads);
    const ca = r.a.stack.tcp.counters;
    const cb = r.b.stack.tcp.counters;
    console.log(
      `[impair seed=${SEED}] ${k.name}: ${r.pump.virtualMs} virtual ms, ${r.pump.steps} turns, ${r.pump.jumps} jumps;`,
      `a: retrans ${ca.retransSegs} fast ${ca.fastRetrans} sack ${ca.sackRecovery} rto ${ca.timeouts} csum ${ca.csumErrors};`,
      `b: retrans ${cb.retransSegs} fast ${cb.fastRetrans} sack ${cb.sackRecovery} rto ${cb.timeouts} csum ${cb.csumErrors};`,
      `drops a ${JSON.stringify(r.a.port.datapath.drops())} b ${JSON.stringify(r.b.port.datapath.drops())}`,
    );
    expect(r.atServer, `seed ${SEED}: a → b`).toBe(r.upSha);
    expect(r.atClient, `seed ${SEED}: b → a`).toBe(r.downSha);
    if (lossy(k)) {
      expect(ca.retransSegs).toBeGreaterThan(0);
      expect(cb.retransSegs).toBeGreaterThan(0);
      expect(ca.sackRecovery).toBeGreaterThan(0);
      expect(cb.sackRecovery).toBeGreaterThan(0);
      expect(ca.fastRetrans).toBeGreaterThan(0);
      expect(cb.fastRetrans).toBeGreaterThan(0);
    }
  });
});
