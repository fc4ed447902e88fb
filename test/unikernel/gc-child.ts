// Child of alloc.test.ts: N bytes from one inline unikernel to another on a VALE switch, after
// 32 MiB of warm-up, counting the full (mark-compact) collections node reports meanwhile. Prints
// one JSON line.
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { ValeSwitch } from '../../src/host/index.ts';
import { Unikernel } from '../../src/unikernel/index.ts';

const bytes = Number(process.argv[2]);
const warm = 32 << 20;
const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
const tcp = { sndBuf: 1 << 20, rcvBuf: 1 << 20 };
const a = await Unikernel.boot({ port: vale.attach('a'), ipv4: '10.0.0.1/24', tcp });
const b = await Unikernel.boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24', tcp });
let received = 0;
const server = b.net.createServer((s) => s.on('data', (d: Buffer) => (received += d.length))).listen(5001);
const c = a.net.connect({ host: '10.0.0.2', port: 5001 });
await new Promise<void>((res) => c.once('connect', res));
const chunk = Buffer.alloc(64 * 1024, 0x5a);
let limit = 0;
let queued = 0;
const pump = (): void => {
  while (queued < limit) {
    queued += chunk.length;
    if (!c.write(chunk)) return;
  }
};
c.on('drain', pump);
const upTo = async (to: number): Promise<void> => {
  limit = to;
  pump();
  while (received < to) await new Promise((r) => setTimeout(r, 2));
};
await upTo(warm);
let majorGcs = 0;
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)
      majorGcs++;
});
obs.observe({ entryTypes: ['gc'] });
await upTo(warm + bytes);
// GC entries are delivered asynchronously.
await new Promise((r) => setTimeout(r, 20));
obs.disconnect();
console.log(JSON.stringify({ majorGcs, received: received - warm }));
c.destroy();
server.close();
await a.close();
await b.close();
