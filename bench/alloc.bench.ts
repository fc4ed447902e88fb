// alloc (issue 7): heap growth and JS-heap allocation per packet over a long bulk transfer between two
// unikernels on a VALE switch (sync loops inline, so every allocation lands on this one heap).
// Runs in a child `node --expose-gc --no-flush-bytecode --min-semi-space-size=64 --import tsx
// bench/alloc.bench.ts --child MB WARM_MB on|off NET` (NET: the first three octets of the /24 the
// two unikernels share), which prints one JSON line:
// - heap growth: heapUsed after gc() at the end less heapUsed after gc() halfway, per packet of the
//   second half, both with the connection open (what the run leaks; the whole run's growth, which
//   also holds one-off costs, is in the note);
// - allocation: the JS heap's used size is sampled every millisecond; between two samples with no
//   GC in between (the used size only grows) its growth is what was allocated. Summed over those
//   clean intervals and divided by the packets sent in them. The large young generation keeps most
//   intervals clean; the sampler's own allocation is measured first and subtracted;
// - where: V8's sampling heap profiler over 16 MB more, the largest "caller > function" sites.
// ArrayBuffer backing stores are outside the JS heap and not counted (the rings and pools are
// allocated once at boot). A packet is a frame either NIC sends (data and ACKs; a TSO frame is one).
import { spawn } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { ValeSwitch } from '../src/host/index.ts';
import { Unikernel } from '../src/unikernel/index.ts';
import { countingSink } from './e2e-lib.ts';
import type { BenchRow, BenchSuite } from './harness.ts';

interface AllocResult {
  packets: number;
  /** Bytes, over the whole measured run. */
  heapGrowth: number;
  /** Over the second half only. */
  heapGrowthPerPacket: number;
  allocPerPacket: number;
  /** Share of the measured packets that fell in GC-free sampling intervals. */
  cleanShare: number;
  gbps: number;
  /** The largest allocation sites: "caller > function" and bytes per packet. */
  sites: [string, number][];
}

const CHUNK = Buffer.alloc(64 * 1024, 0x5a);
/** Longest one phase may take (512 MB at a few hundred Mbps) before the run is called stalled. */
const STALL_MS = 120_000;
/** The profiled stretch after the measured run, and how many of its sites are reported. */
const PROFILE_BYTES = 16 << 20;
const TOP_SITES = 4;

async function child(mb: number, warmMb: number, offloads: boolean, net: string): Promise<AllocResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('needs --expose-gc');
  const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
  const tcp = { sndBuf: 1 << 20, rcvBuf: 1 << 20 };
  const a = await Unikernel.boot({ port: vale.attach('a'), ipv4: `${net}.1/24`, offloads, tcp });
  const b = await Unikernel.boot({ port: vale.attach('b'), ipv4: `${net}.2/24`, offloads, tcp });
  const sink = countingSink(b.net, 5001);
  const c = a.net.connect({ host: `${net}.2`, port: 5001 });
  await new Promise<void>((res) => c.once('connect', res));
  const warm = warmMb << 20;
  const total = warm + (mb << 20);
  // The sender writes up to `limit`; each phase raises it and waits until the sink has it all.
  let limit = 0;
  let queued = 0;
  const pump = (): void => {
    while (queued < limit) {
      queued += CHUNK.length;
      if (!c.write(CHUNK)) return;
    }
  };
  c.on('drain', pump);
  let active = 0;
  const phase = async (to: number): Promise<void> => {
    const t = performance.now();
    limit = to;
    pump();
    while (sink.bytes() < to) {
      if (performance.now() - t > STALL_MS) throw new Error(`transfer stalled at ${sink.bytes()} B`);
      await new Promise((r) => setTimeout(r, 2));
    }
    active += performance.now() - t;
  };
  // Heap figures are taken with the connection idle (everything delivered and acknowledged), so
  // the states compared hold no data in flight.
  const settledHeap = async (): Promise<number> => {
    await new Promise((r) => setTimeout(r, 20));
    gc();
    return process.memoryUsage().heapUsed;
  };
  const packets = (): number => a.stats().txPackets + b.stats().txPackets;

  // One sample: the heap's used size and the packet count (what the sampler itself allocates is
  // measured below, as the smallest growth over back-to-back samples).
  let lastHeap = 0;
  let lastPkts = 0;
  let alloc = 0;
  let cleanPkts = 0;
  let self = Infinity;
  const sample = (): void => {
    const pk = packets();
    const h = getHeapStatistics().used_heap_size;
    if (h >= lastHeap) {
      alloc += h - lastHeap - self;
      cleanPkts += pk - lastPkts;
    }
    lastHeap = h;
    lastPkts = pk;
  };
  for (let i = 0; i < 50; i++) {
    const h0 = getHeapStatistics().used_heap_size;
    packets();
    const h1 = getHeapStatistics().used_heap_size;
    if (h1 >= h0) self = Math.min(self, h1 - h0);
  }

  await phase(warm);
  active = 0;
  const heap0 = await settledHeap();
  const p0 = packets();
  lastHeap = getHeapStatistics().used_heap_size;
  lastPkts = p0;
  const timer = setInterval(sample, 1);
  await phase(warm + ((total - warm) >> 1));
  // Halfway, a second heap figure: growth over the second half alone tells a leak (it keeps
  // growing) from one-off costs (compiled code, caches and tables sized once).
  const heapMid = await settledHeap();
  const pMid = packets();
  await phase(total);
  clearInterval(timer);
  sample();
  const p1 = packets();
  const heap1 = await settledHeap();
  // Then where it is allocated: V8's sampling heap profiler over one more stretch, collected objects
  // included, summed per call site (caller > allocating function).
  const pp0 = packets();
  const sites = await allocationSites(() => phase(total + PROFILE_BYTES));
  const pp = packets() - pp0;
  c.destroy();
  sink.server.close();
  a.shutdown();
  b.shutdown();
  const n = p1 - p0;
  return {
    packets: n,
    heapGrowth: heap1 - heap0,
    heapGrowthPerPacket: (heap1 - heapMid) / (p1 - pMid),
    allocPerPacket: cleanPkts > 0 ? alloc / cleanPkts : NaN,
    cleanShare: cleanPkts / n,
    gbps: ((total - warm) * 8) / (active / 1000) / 1e9,
    sites: sites.slice(0, TOP_SITES).map(([site, bytes]) => [site, bytes / pp]),
  };
}

interface ProfileNode {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: ProfileNode[];
}

/** Bytes allocated while `run` runs, per "caller > function" site, largest first. */
async function allocationSites(run: () => Promise<void>): Promise<[string, number][]> {
  const s = new Session();
  s.connect();
  // The include* parameters (V8 ≥ 11) are missing from @types/node 20's protocol types.
  const post = s.post.bind(s) as (method: string, params?: object) => Promise<unknown>;
  await post('HeapProfiler.startSampling', {
    samplingInterval: 512,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  await run();
  const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: { head: ProfileNode } };
  s.disconnect();
  const name = (n: ProfileNode): string =>
    `${n.callFrame.functionName || '(anonymous)'} (${n.callFrame.url.replace(/^.*\//, '') || 'native'})`;
  const bySite = new Map<string, number>();
  const walk = (n: ProfileNode, caller: string): void => {
    // The profiler's own calls (starting and stopping it) are the measurement, not the stack.
    if (n.callFrame.url === 'node:inspector') return;
    const site = `${caller} > ${name(n)}`;
    if (n.selfSize > 0) bySite.set(site, (bySite.get(site) ?? 0) + n.selfSize);
    for (const c of n.children) walk(c, name(n));
  };
  walk(profile.head, '');
  return [...bySite].sort((x, y) => y[1] - x[1]);
}

function runChild(mb: number, warmMb: number, offloads: boolean, net: string): Promise<AllocResult> {
  const self = fileURLToPath(import.meta.url);
  // No bytecode flushing: a gc() would otherwise drop the code only the warm-up ran, and the heap
  // would seem to shrink.
  const v8 = ['--expose-gc', '--no-flush-bytecode', '--min-semi-space-size=64'];
  const args = [...v8, '--import', 'tsx', self, '--child'];
  const p = spawn(process.execPath, [...args, String(mb), String(warmMb), offloads ? 'on' : 'off', net], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) =>
    p.on('close', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as AllocResult);
      else reject(new Error(`alloc child exited ${code}: ${out}`));
    }),
  );
}

export const allocSuite: BenchSuite = {
  name: 'alloc',
  counted: true,
  async run({ quick }): Promise<BenchRow[]> {
    const rows: BenchRow[] = [];
    const mb = quick ? 64 : 1024;
    // Quick: MTU-sized frames only (most packets per megabyte, so the per-packet figures settle).
    // The last run takes addresses from 192.168/16, which most LANs use: read as a 32-bit number
    // such an address is at least 2^31, the range V8 cannot keep in a small integer.
    const runs: [boolean, string][] = quick
      ? [[false, '10.0.0']]
      : [
          [true, '10.0.0'],
          [false, '10.0.0'],
          [false, '192.168.7'],
        ];
    for (const [offloads, net] of runs) {
      const what = `uk→uk VALE inline, offloads ${offloads ? 'on' : 'off'}, ${net}.0/24, ${mb} MB`;
      let r: AllocResult;
      try {
        r = await runChild(mb, quick ? 32 : 64, offloads, net);
      } catch (e) {
        rows.push({ name: what, value: 0, unit: 'B/packet', note: `failed: ${(e as Error).message}` });
        continue;
      }
      const note = `${r.packets} packets at ${r.gbps.toFixed(2)} Gbps`;
      rows.push({
        name: `heap growth (2nd half), ${what}`,
        value: r.heapGrowthPerPacket,
        unit: 'B/packet',
        note: `${note}; ${(r.heapGrowth / 1024).toFixed(0)} KiB over the whole run (after gc(), warm-up excluded)`,
      });
      rows.push({
        name: `JS heap allocated, ${what}`,
        value: r.allocPerPacket,
        unit: 'B/packet',
        target: { value: 0, higherIsBetter: false }, // issue 11: nothing per packet, as the kernel
        note: `${note}; ${(r.cleanShare * 100).toFixed(0)} % of them in GC-free sampling intervals`,
      });
      rows.push({
        name: `top allocation site, ${what}`,
        value: r.sites[0]?.[1] ?? 0,
        unit: 'B/packet',
        note: `sampling heap profile: ${r.sites.map(([s, b]) => `${s} ${b.toFixed(0)} B`).join('; ')}`,
      });
    }
    return rows;
  },
};

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--child') {
  const [mb, warm, off, net] = process.argv.slice(3);
  console.log(JSON.stringify(await child(Number(mb), Number(warm), off === 'on', net ?? '10.0.0')));
}
