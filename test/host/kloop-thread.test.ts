// KloopThread membership as a state machine (fast-check): ports of one VALE switch join and leave
// one sync-loop thread in any order, the first port (whose GROUP block is the bell) included, and
// after every step a frame between two served ports arrives well before netmap's 3 s timeout pass
// could have rescued it: no wake-up is lost while the bell moves.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  KLOOP_POLL_MAX_US,
  KloopThread,
  type NetmapPort,
  PC,
  POLL_MAX_US,
  SyncKloop,
  ValeSwitch,
} from '../../src/host/index.ts';
import { type GuestRing, frame, guestRxRing, guestTxRing, makeCsb, seqOf } from './guest.ts';

const PORTS = 4;
/** Well under KLOOP_WAIT_MS (3000): a frame later than this waited for a timeout pass. */
const DEADLINE_MS = 1000;

interface Served {
  kloop: SyncKloop;
  tx: GuestRing;
  rx: GuestRing;
}

async function serve(port: NetmapPort, thread: KloopThread): Promise<Served> {
  const csb = makeCsb();
  const kloop = new SyncKloop(port, csb, () => {}, 'worker', { thread });
  kloop.start();
  await kloop.ready();
  const tx = guestTxRing(port, csb, (r) => kloop.kick(r));
  const rx = guestRxRing(port, csb, (r) => kloop.kick(r));
  tx.syncFromCsb();
  rx.syncFromCsb();
  return { kloop, tx, rx };
}

/** Sends frame `seq` from a to b and polls b's RX ring until it arrives; ms taken, or -1. */
async function deliver(ports: NetmapPort[], a: number, b: number, s: Served[], seq: number): Promise<number> {
  const t0 = performance.now();
  s[a]!.tx.txsync();
  s[a]!.tx.put(frame(ports[b]!.mac, ports[a]!.mac, seq));
  s[a]!.tx.txsync();
  const rx = s[b]!.rx;
  while (performance.now() - t0 < DEADLINE_MS) {
    rx.rxsync();
    for (let p = rx.take(); p !== null; p = rx.take())
      if (seqOf(p.data) === seq) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 1));
  }
  return -1;
}

type Step = { op: 'join' | 'leave'; port: number };

describe('KloopThread poll window', () => {
  it('a thread for a switch polls up to KVM halt-poll 200 µs, a thread of one port 50 µs, unless told', () => {
    expect(KLOOP_POLL_MAX_US).toBe(200);
    expect(new KloopThread().spinUs).toBe(KLOOP_POLL_MAX_US);
    expect(new KloopThread({ single: true }).spinUs).toBe(POLL_MAX_US);
    expect(new KloopThread({ single: true, spinUs: 7 }).spinUs).toBe(7);
    expect(new KloopThread({ spinUs: 0 }).spinUs).toBe(0);
  });
});

describe('KloopThread membership', () => {
  it('property: any order of joins and leaves, the bell port included, loses no wake-up', async () => {
    const vale = new ValeSwitch('vale-ktm', { vnetHdrLen: 0 });
    const ports = Array.from({ length: PORTS }, (_, i) => vale.attach(`p${i}`));
    let seq = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ op: fc.constantFrom('join', 'leave'), port: fc.nat(PORTS - 1) }), {
            minLength: 1,
            maxLength: 12,
          }) as fc.Arbitrary<Step[]>,
          async (steps) => {
            const thread = new KloopThread({ spinUs: 5 });
            const served: (Served | undefined)[] = [];
            const order: number[] = [];
            try {
              for (const st of steps) {
                const s = served[st.port];
                if (st.op === 'join' && s === undefined) {
                  served[st.port] = await serve(ports[st.port]!, thread);
                  order.push(st.port);
                } else if (st.op === 'leave' && s !== undefined) {
                  s.kloop.stop();
                  await s.kloop.closed();
                  served[st.port] = undefined;
                  order.splice(order.indexOf(st.port), 1);
                  // Its doorbell is its own again.
                  expect(
                    Atomics.load(ports[st.port]!.datapath.state, ports[st.port]!.datapath.ctl + PC.BELL),
                  ).toBe(0);
                }
                expect(thread.size).toBe(order.length);
                // Every served port rings the first one's GROUP block.
                const bell = order.length === 0 ? 0 : ports[order[0]!]!.datapath.ctl + PC.GROUP + 1;
                for (const i of order)
                  expect(Atomics.load(ports[i]!.datapath.state, ports[i]!.datapath.ctl + PC.BELL)).toBe(bell);
                if (order.length >= 2) {
                  // Each way between the first and the last served port.
                  const [a, b] = [order[0]!, order[order.length - 1]!];
                  expect(await deliver(ports, a, b, served as Served[], seq++)).toBeGreaterThanOrEqual(0);
                  expect(await deliver(ports, b, a, served as Served[], seq++)).toBeGreaterThanOrEqual(0);
                }
              }
              for (const i of order) expect(served[i]!.kloop.rescues).toBe(0);
            } finally {
              for (const s of served) s?.kloop.stop();
              await Promise.all(served.map((s) => s?.kloop.closed()));
            }
            expect(thread.size).toBe(0);
          },
        ),
        { numRuns: 15 },
      );
    } finally {
      await vale.close();
    }
  }, 120_000);
});
