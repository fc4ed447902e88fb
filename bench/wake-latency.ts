// Wake-up latency driver (not a bench suite): two unikernels on a VALE switch, sync loops in the
// given mode; 1-byte TCP_RR (NODELAY) for --ms after a warm-up, then --pings ICMP echoes. One JSON
// line per round. Uses only Unikernel.boot, ValeSwitch and the socket API, so the same file runs
// against older checkouts (interleaved A/B: copy it into each tree and alternate the runs).
//   npx tsx bench/wake-latency.ts [--mode worker|inline] [--ms 2000] [--pings 300] [--rounds 1]
//                                 [--spin-us N] [--pollers N] [--guest-poll-us N] [--one-thread]
// --one-thread: both ports served by one sync-loop thread (KloopThread; spin-us and pollers go to it).
import { KloopThread, SyncKloop, ValeSwitch } from '../src/host/index.ts';
import { Unikernel } from '../src/unikernel/index.ts';
import { kicksAndIrqs } from './probe.ts';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const mode = opt('--mode') === 'inline' ? 'inline' : 'worker';
const ms = Number(opt('--ms') ?? 2000);
const pings = Number(opt('--pings') ?? 300);
const rounds = Number(opt('--rounds') ?? 1);
const spin = opt('--spin-us');
const pollers = opt('--pollers');
const guestPoll = opt('--guest-poll-us');
const ONE = Buffer.from([1]);

const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
const threadOpts = {
  ...(spin === undefined ? {} : { spinUs: Number(spin) }),
  ...(pollers === undefined ? {} : { pollers: Number(pollers) }),
};
const extra = {
  ...(args.includes('--one-thread') ? { kloopThread: new KloopThread(threadOpts) } : threadOpts),
  ...(guestPoll === undefined ? {} : { guestPollUs: Number(guestPoll) }),
};
const a = await Unikernel.boot({ port: vale.attach('a'), ipv4: '10.0.0.1/24', mode, ...extra });
const b = await Unikernel.boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24', mode, ...extra });
const server = b.net
  .createServer((s) => {
    s.setNoDelay(true);
    s.on('error', () => {}).on('data', (d: Buffer) => s.write(d));
  })
  .listen(5002);

/** Kicks written, interrupts delivered and kloop ring runs, both guests together. */
function counts(): {
  kicks: number;
  irqs: number;
  runs: number;
  polled: number;
  sleeps: number;
  preempted: number;
} {
  let polled = 0;
  let sleeps = 0;
  let preempted = 0;
  let runs = 0;
  const { kicks, irqs } = kicksAndIrqs([a, b]);
  for (const u of [a, b]) {
    for (const l of u.kloops) {
      runs += l.runs;
      // Absent on checkouts from before the adaptive poll.
      const idle = (l as { idleStats?: { polled: number; sleeps: number; preempted: number } }).idleStats;
      polled += idle?.polled ?? 0;
      sleeps += idle?.sleeps ?? 0;
      preempted += idle?.preempted ?? 0;
    }
  }
  return { kicks, irqs, runs, polled, sleeps, preempted };
}

let rrCounts = { kicks: 0, irqs: 0, runs: 0, polled: 0, sleeps: 0, preempted: 0, tx: 0 };

async function rr(): Promise<number> {
  const c = a.net.connect({ host: '10.0.0.2', port: 5002 });
  c.setNoDelay(true);
  await new Promise<void>((res, rej) => c.once('connect', res).once('error', rej));
  let n = 0;
  let t0 = performance.now();
  const warmEnd = t0 + Math.min(300, ms / 3);
  let end = Infinity;
  let c0 = counts();
  await new Promise<void>((resolve) => {
    c.on('data', (d: Buffer) => {
      n += d.length;
      const now = performance.now();
      if (end === Infinity && now >= warmEnd) {
        n = 0;
        t0 = now;
        end = now + ms;
        c0 = counts();
      }
      if (now < end) c.write(ONE);
      else resolve();
    });
    c.write(ONE);
  });
  const secs = (performance.now() - t0) / 1000;
  const c1 = counts();
  rrCounts = {
    kicks: c1.kicks - c0.kicks,
    irqs: c1.irqs - c0.irqs,
    runs: c1.runs - c0.runs,
    polled: c1.polled - c0.polled,
    sleeps: c1.sleeps - c0.sleeps,
    preempted: c1.preempted - c0.preempted,
    tx: n,
  };
  c.destroy();
  return n / secs;
}

async function ping(): Promise<{ mean: number; median: number; p10: number }> {
  await a.ping('10.0.0.2');
  const t: number[] = [];
  for (let i = 0; i < pings; i++) t.push((await a.ping('10.0.0.2')) * 1000);
  t.sort((x, y) => x - y);
  return {
    mean: t.reduce((s, x) => s + x, 0) / t.length,
    median: t[t.length >> 1]!,
    p10: t[Math.floor(t.length / 10)]!,
  };
}

for (let r = 0; r < rounds; r++) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const tps = await rr();
  const p = await ping();
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - t0) / 1000;
  console.log(
    JSON.stringify({
      mode,
      rrTps: Math.round(tps),
      pingMeanUs: Number(p.mean.toFixed(1)),
      pingMedianUs: Number(p.median.toFixed(1)),
      pingP10Us: Number(p.p10.toFixed(1)),
      // Per transaction, both guests: kicks written, interrupts delivered, kloop ring runs.
      kicksPerTx: Number((rrCounts.kicks / rrCounts.tx).toFixed(2)),
      irqsPerTx: Number((rrCounts.irqs / rrCounts.tx).toFixed(2)),
      runsPerTx: Number((rrCounts.runs / rrCounts.tx).toFixed(2)),
      polledPerTx: Number((rrCounts.polled / rrCounts.tx).toFixed(2)),
      sleepsPerTx: Number((rrCounts.sleeps / rrCounts.tx).toFixed(2)),
      preemptedPolls: rrCounts.preempted,
      // The guest thread's polls for an interrupt after a kick (absent on older checkouts).
      guestPoll: (SyncKloop as { guestPollStats?: () => object }).guestPollStats?.(),
      // CPU of every thread of the process over the round, as cores busy on average.
      cores: Number(((cpu.user + cpu.system) / 1e6 / wall).toFixed(2)),
    }),
  );
}
server.close();
a.shutdown();
b.shutdown();
