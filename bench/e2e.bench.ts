// e2e (issue 7): TCP_STREAM (Gbps), TCP_RR (1-byte transactions/s, NODELAY) and ping (µs) through the
// whole packet path — stack, ptnet driver, device model, host sync loop, port:
// - unikernel ⇄ unikernel over a VALE switch in this process, sync loops inline and in workers,
//   offloads (virtio-net header: checksum, TSO, GRO) on and off; and, offloads on, both sync loops
//   on one worker thread (KloopThread);
// - the seed's setting, two VMs each on its own CPU: one unikernel in this thread and one in a
//   worker thread of its own (UnikernelWorker), each sync loop inline in its guest's thread, over
//   one VALE switch in shared memory, offloads on, three runs of each measure;
// - unikernel ⇄ Linux over a TAP, both directions (bench/e2e-tap.ts; root only);
// - before the rows that cross threads, what a hand-off between two threads costs here in C
//   (bench/handoff-reference.ts).
// Every figure's reference is Linux ⇄ Linux over veth measured in the same run (linuxReference);
// without root that is missing and the seed's kernel-C ptnet figures stand in (measured: false).
import { KloopThread, ValeSwitch } from '../src/host/index.ts';
import { Unikernel, type UnikernelWorker } from '../src/unikernel/index.ts';
import {
  E2E_TCP,
  SEED_NOTE,
  countingSink,
  pingUs,
  row,
  rr,
  rrServer,
  spawnThreadPeer,
  stream,
  valeTarget,
} from './e2e-lib.ts';
import { tapRows } from './e2e-tap.ts';
import { handoffRows } from './handoff-reference.ts';
import { type BenchRow, type BenchSuite, spread } from './harness.ts';
import { linuxReference, type LinuxReference } from './linux-reference.ts';

/** Where the two sync loops run: inline, a worker thread each, or one worker thread for both. */
type Loops = 'inline' | 'worker' | 'one thread';

const valeName = (loops: Loops, offloads: boolean): string =>
  `uk⇄uk VALE ${loops === 'one thread' ? 'worker, one kloop thread' : loops}, offloads ${offloads ? 'on' : 'off'}`;

async function valeRows(
  loops: Loops,
  offloads: boolean,
  ms: number,
  pings: number,
  ref: LinuxReference,
): Promise<BenchRow[]> {
  const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
  const mode = loops === 'inline' ? 'inline' : 'worker';
  const thread = loops === 'one thread' ? { kloopThread: new KloopThread() } : {};
  const a = await Unikernel.boot({
    port: vale.attach('a'),
    ipv4: '10.0.0.1/24',
    mode,
    offloads,
    tcp: E2E_TCP,
    ...thread,
  });
  const b = await Unikernel.boot({
    port: vale.attach('b'),
    ipv4: '10.0.0.2/24',
    mode,
    offloads,
    tcp: E2E_TCP,
    ...thread,
  });
  try {
    const sink = countingSink(b.net, 5001);
    const echo = rrServer(b.net, 5002);
    const gbps = await stream(a.net, '10.0.0.2', 5001, sink.bytes, ms);
    const tps = await rr(a.net, '10.0.0.2', 5002, ms);
    const us = await pingUs((h) => a.ping(h), '10.0.0.2', pings);
    sink.server.close();
    echo.close();
    // Drops (a switch port whose receiver ring was full, NO_SPACE, is counted on the receiver's side)
    // and the retransmissions they caused, over the three runs.
    const drops = a.stats().drops + b.stats().drops;
    const name = valeName(loops, offloads);
    const note = `${SEED_NOTE}; drops ${drops}, retransmits ${a.stats().retransmits + b.stats().retransmits}`;
    return [
      row(name, 'stream', gbps, ref, note, valeTarget('stream', mode, offloads)),
      row(name, 'rr', tps, ref, note, valeTarget('rr', mode, offloads)),
      row(name, 'ping', us, ref, note, valeTarget('ping', mode, offloads)),
    ];
  } finally {
    a.shutdown();
    b.shutdown();
  }
}

/** Measures of the thread-each rows: each taken this many times, the median reported. */
const RUNS = 3;

/**
 * uk⇄uk over VALE with a thread each: A here, B in a worker (sink on 5001, NODELAY echo on 5002,
 * its sink's byte count read from a shared counter). Same measures, reference and targets as the
 * inline rows (issue 11 aims the two-VM setting at the inline figures).
 */
async function threadEachRows(ms: number, pings: number, ref: LinuxReference): Promise<BenchRow[]> {
  const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
  // Both threads busy-poll their doorbell after a kick (the worker's default).
  const a = await Unikernel.boot({
    port: vale.attach('a'),
    ipv4: '10.0.0.1/24',
    tcp: E2E_TCP,
    busyPollUs: 100,
  });
  let b: UnikernelWorker | null = null;
  try {
    b = await spawnThreadPeer(vale);
    const w = b;
    const gbps: number[] = [];
    const tps: number[] = [];
    const us: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      gbps.push(await stream(a.net, '10.0.0.2', 5001, () => w.sinkBytes(5001), ms));
      tps.push(await rr(a.net, '10.0.0.2', 5002, ms));
      us.push(await pingUs((h) => a.ping(h), '10.0.0.2', pings));
    }
    const bs = await w.stats();
    const drops = a.stats().drops + bs.drops;
    const name = 'uk⇄uk VALE, a thread each, offloads on';
    const tail = `${SEED_NOTE}; drops ${drops}, retransmits ${a.stats().retransmits + bs.retransmits}`;
    const s = [spread(gbps, 'Gbps', 2), spread(tps, 'tps', 0), spread(us, 'µs')] as const;
    return [
      row(name, 'stream', s[0].median, ref, `${s[0].text}; ${tail}`, valeTarget('stream', 'inline', true)),
      row(name, 'rr', s[1].median, ref, `${s[1].text}; ${tail}`, valeTarget('rr', 'inline', true)),
      row(name, 'ping', s[2].median, ref, `${s[2].text}; ${tail}`, valeTarget('ping', 'inline', true)),
    ];
  } finally {
    await b?.close();
    await a.close();
    await vale.close();
  }
}

export const e2eSuite: BenchSuite = {
  name: 'e2e',
  async run({ quick, round }): Promise<BenchRow[]> {
    const ref = await linuxReference(quick, round);
    const ms = quick ? 200 : 3000;
    const pings = quick ? 10 : 500;
    const rows: BenchRow[] = [];
    const runs: [Loops, boolean][] = [
      ['inline', true],
      ['inline', false],
      ['worker', true],
      ['worker', false],
      ['one thread', true],
    ];
    for (const [loops, offloads] of runs) {
      // The C reference of a hand-off between threads, before the first rows that cross threads.
      if (loops === 'worker' && offloads) rows.push(...handoffRows(quick));
      try {
        rows.push(...(await valeRows(loops, offloads, ms, pings, ref)));
      } catch (e) {
        rows.push({
          name: valeName(loops, offloads),
          value: 0,
          unit: 'Gbps',
          note: `failed: ${(e as Error).message}`,
        });
      }
    }
    try {
      rows.push(...(await threadEachRows(ms, pings, ref)));
    } catch (e) {
      const name = 'uk⇄uk VALE, a thread each, offloads on';
      rows.push({ name, value: 0, unit: 'Gbps', note: `failed: ${(e as Error).message}` });
    }
    rows.push(...(await tapRows(quick, ref)));
    return rows;
  },
};
