// alloc (issue 7): heap growth and JS-heap allocation per packet over a long bulk transfer between two
// unikernels on a VALE switch (sync loops inline, so every allocation lands on this one heap).
// Runs in a child `node --expose-gc --min-semi-space-size=64 --import tsx bench/alloc.bench.ts
// --child MB WARM_MB on|off`, which prints one JSON line:
// - heap growth: heapUsed after gc() at the end less heapUsed after gc() once warmed up, per packet
//   (what the run leaked or cached for good);
// - allocation: the JS heap's used size is sampled every millisecond; between two samples with no
//   GC in between (the used size only grows) its growth is what was allocated. Summed over those
//   clean intervals and divided by the packets sent in them. The large young generation keeps most
//   intervals clean; the sampler's own allocation is measured first and subtracted.
// ArrayBuffer backing stores are outside the JS heap and not counted (the rings and pools are
// allocated once at boot). A packet is a frame either NIC sends (data and ACKs; a TSO frame is one).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { ValeSwitch } from '../src/host/index.ts';
import { Unikernel } from '../src/unikernel/index.ts';
import { countingSink } from './e2e-lib.ts';
import type { BenchRow, BenchSuite } from './harness.ts';

interface AllocResult {
  packets: number;
  heapGrowth: number;
  heapGrowthPerPacket: number;
  allocPerPacket: number;
  /** Share of the measured packets that fell in GC-free sampling intervals. */
  cleanShare: number;
  gbps: number;
}

const CHUNK = Buffer.alloc(64 * 1024, 0x5a);

async function child(mb: number, warmMb: number, offloads: boolean): Promise<AllocResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('needs --expose-gc');
  const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
  const tcp = { sndBuf: 1 << 20, rcvBuf: 1 << 20 };
  const a = await Unikernel.boot({ port: vale.attach('a'), ipv4: '10.0.0.1/24', offloads, tcp });
  const b = await Unikernel.boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24', offloads, tcp });
  const sink = countingSink(b.net, 5001);
  const c = a.net.connect({ host: '10.0.0.2', port: 5001 });
  await new Promise<void>((res) => c.once('connect', res));
  const warm = warmMb << 20;
  const total = warm + (mb << 20);
  let queued = 0;
  const pump = (): void => {
    while (queued < total) {
      queued += CHUNK.length;
      if (!c.write(CHUNK)) return;
    }
  };
  c.on('drain', pump);
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

  pump();
  while (sink.bytes() < warm) await new Promise((r) => setTimeout(r, 5));
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const p0 = packets();
  const b0 = sink.bytes();
  const t0 = performance.now();
  lastHeap = getHeapStatistics().used_heap_size;
  lastPkts = p0;
  const timer = setInterval(sample, 1);
  while (sink.bytes() < total) await new Promise((r) => setTimeout(r, 5));
  clearInterval(timer);
  sample();
  const secs = (performance.now() - t0) / 1000;
  const p1 = packets();
  const b1 = sink.bytes();
  c.destroy();
  sink.server.close();
  a.shutdown();
  b.shutdown();
  gc();
  const heap1 = process.memoryUsage().heapUsed;
  const n = p1 - p0;
  return {
    packets: n,
    heapGrowth: heap1 - heap0,
    heapGrowthPerPacket: (heap1 - heap0) / n,
    allocPerPacket: cleanPkts > 0 ? alloc / cleanPkts : NaN,
    cleanShare: cleanPkts / n,
    gbps: ((b1 - b0) * 8) / secs / 1e9,
  };
}

function runChild(mb: number, warmMb: number, offloads: boolean): Promise<AllocResult> {
  const self = fileURLToPath(import.meta.url);
  const args = ['--expose-gc', '--min-semi-space-size=64', '--import', 'tsx', self, '--child'];
  const p = spawn(process.execPath, [...args, String(mb), String(warmMb), offloads ? 'on' : 'off'], {
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
  async run({ quick }): Promise<BenchRow[]> {
    const rows: BenchRow[] = [];
    const mb = quick ? 64 : 1024;
    for (const offloads of quick ? [true] : [true, false]) {
      const r = await runChild(mb, quick ? 16 : 64, offloads);
      const what = `uk→uk VALE inline, offloads ${offloads ? 'on' : 'off'}, ${mb} MB`;
      const note = `${r.packets} packets at ${r.gbps.toFixed(2)} Gbps`;
      rows.push({
        name: `heap growth, ${what}`,
        value: r.heapGrowthPerPacket,
        unit: 'B/packet',
        note: `${note}; ${(r.heapGrowth / 1024).toFixed(0)} KiB in all (after gc(), warm-up excluded)`,
      });
      rows.push({
        name: `JS heap allocated, ${what}`,
        value: r.allocPerPacket,
        unit: 'B/packet',
        note: `${note}; ${(r.cleanShare * 100).toFixed(0)} % of them in GC-free sampling intervals`,
      });
    }
    return rows;
  },
};

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--child') {
  const [mb, warm, off] = process.argv.slice(3);
  console.log(JSON.stringify(await child(Number(mb), Number(warm), off === 'on')));
}
