// Profiling driver (not a bench suite): two unikernels on a VALE switch, one TCP bulk stream for
// --seconds, then Gbps, packets and bytes per frame each way, ACKs per data frame and the TCP
// counters. Run under `node --cpu-prof --import tsx bench/perf-e2e.ts` to see where time goes.
//   npx tsx bench/perf-e2e.ts [--mode inline|worker] [--seconds N] [--no-offloads] [--buf BYTES] [--apps] [--zerocopy]
//                             [--one-thread] [--pollers N] [--spin-us N] [--guest-poll-us N]
// --zerocopy: the sender's writes are zero-copy ones (MSG_ZEROCOPY).
// --one-thread (worker): both ports served by one sync-loop thread (KloopThread).
// --apps: the demo's transfer instead (apps' tcpSend of the 251-pattern to the hashing discard).
import { KloopThread, SyncKloop, ValeSwitch } from '../src/host/index.ts';
import { Unikernel } from '../src/unikernel/index.ts';
import { tcpSend } from '../src/apps/index.ts';
import { countingSink, stream } from './e2e-lib.ts';
import { kicksAndIrqs } from './probe.ts';

const args = process.argv.slice(2);
const nonZero = (o: object): Record<string, number> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => typeof v === 'number' && v !== 0));
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const mode = opt('--mode') === 'worker' ? 'worker' : 'inline';
const seconds = Number(opt('--seconds') ?? 3);
const offloads = !args.includes('--no-offloads');
const apps = args.includes('--apps');
const buf = Number(opt('--buf') ?? (apps ? 256 * 1024 : 1 << 20));
const tcp = { sndBuf: buf, rcvBuf: buf };

const pollers = {
  ...(opt('--pollers') === undefined ? {} : { pollers: Number(opt('--pollers')) }),
  ...(opt('--spin-us') === undefined ? {} : { spinUs: Number(opt('--spin-us')) }),
};
const guestPoll = opt('--guest-poll-us') === undefined ? {} : { guestPollUs: Number(opt('--guest-poll-us')) };
const threads = {
  ...(args.includes('--one-thread') ? { kloopThread: new KloopThread(pollers) } : pollers),
  ...guestPoll,
};
const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
const a = await Unikernel.boot({
  port: vale.attach('a'),
  ipv4: '10.0.0.1/24',
  mode,
  offloads,
  tcp,
  ...threads,
});
const b = await Unikernel.boot({
  port: vale.attach('b'),
  ipv4: '10.0.0.2/24',
  mode,
  offloads,
  tcp,
  ...threads,
});
let gbps: number;
const cpu0 = process.cpuUsage();
if (apps) {
  const svc = b.serve();
  const t0 = performance.now();
  const r = await tcpSend(a.net, {
    host: '10.0.0.2',
    port: 9,
    bytes: Number.MAX_SAFE_INTEGER,
    durationMs: seconds * 1000,
  });
  gbps = (r.sent * 8) / (performance.now() - t0) / 1e6;
  svc.close();
} else {
  const sink = countingSink(b.net, 5001);
  gbps = await stream(a.net, '10.0.0.2', 5001, sink.bytes, seconds * 1000, args.includes('--zerocopy'));
  sink.server.close();
}
const cpu = process.cpuUsage(cpu0);
const cpuSec = (cpu.user + cpu.system) / 1e6;
const na = a.netif.counters;
const nb = b.netif.counters;
const ta = a.stack.tcp.counters;
console.log(
  JSON.stringify({
    mode,
    offloads,
    gbps: Number(gbps.toFixed(2)),
    // CPU seconds of every thread of the process: steadier than Gbps on a shared machine.
    cpuSec: Number(cpuSec.toFixed(2)),
    gbitPerCpuSec: Number(((na.txBytes * 8) / 1e9 / cpuSec).toFixed(2)),
    dataFrames: na.txPackets,
    bytesPerDataFrame: Math.round(na.txBytes / Math.max(1, na.txPackets)),
    ackFrames: nb.txPackets,
    acksPerDataFrame: Number((nb.txPackets / Math.max(1, na.txPackets)).toFixed(2)),
    retransmits: ta.retransSegs,
    drops: a.stats().drops + b.stats().drops,
    txBusy: na.txBusy,
    rxNoMbuf: nb.rxNoMbuf,
    hostDropsA: nonZero(a.port.datapath.drops()),
    hostDropsB: nonZero(b.port.datapath.drops()),
    tcpA: nonZero(a.stack.tcp.counters),
    tcpB: nonZero(b.stack.tcp.counters),
    stackA: nonZero(a.stack.counters),
    stackB: nonZero(b.stack.counters),
    ...(mode === 'worker'
      ? {
          kloop: [...a.kloops, ...b.kloops].map((l) => ({ runs: l.runs, ...l.idleStats })),
          guestPoll: SyncKloop.guestPollStats(),
          ...kicksAndIrqs([a, b]),
        }
      : {}),
  }),
);
a.shutdown();
b.shutdown();
