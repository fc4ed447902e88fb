// The TX walk, measured rather than read: which source files run between `socket.write` and the
// TX slot. Two inline unikernels on a VALE switch with offloads; a connection is warmed up, then
// V8's precise coverage (function call counts) is reset, one write is made, and every function
// that ran during that synchronous call is listed by file. Inline mode makes the whole path, the
// host's VALE forwarding included, run inside the call; the receiving stack runs later in its own
// task and is not counted. docs/ARCHITECTURE.md §"The TX walk" gives the hops this prints.
//
//   npx tsx scripts/walk.ts [--bytes N] [--json]
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import type { Socket } from '../src/stack/index.ts';
import { ValeSwitch } from '../src/host/index.ts';
import { Unikernel } from '../src/unikernel/index.ts';
import { inspectorSync } from '../bench/probe.ts';

interface FunctionCoverage {
  functionName: string;
  ranges: { startOffset: number; endOffset: number; count: number }[];
}
interface ScriptCoverage {
  url: string;
  functions: FunctionCoverage[];
}

const args = process.argv.slice(2);
const bytes = Number(args[args.indexOf('--bytes') + 1] ?? 1000) || 1000;
const root = fileURLToPath(new URL('..', import.meta.url));

const post = inspectorSync();

const vale = new ValeSwitch('walk0', { vnetHdrLen: 12 });
const a = await Unikernel.boot({ port: vale.attach('a'), ipv4: '10.9.0.1/24' });
const b = await Unikernel.boot({ port: vale.attach('b'), ipv4: '10.9.0.2/24' });
let received = 0;
const server = b.net.createServer((s: Socket) => s.on('data', (d: Buffer) => (received += d.length)));
server.listen(7);
const c = a.net.connect({ host: '10.9.0.2', port: 7 });
await once(c, 'connect');
// Nagle off: the measured write goes out at once, as a full-sized one would.
c.setNoDelay(true);
const chunk = Buffer.alloc(bytes, 0x5a);
// Warm-up: resolved neighbour, an open congestion window, JIT-compiled code.
for (let i = 0; i < 2000; i++) {
  c.write(chunk);
  if (i % 50 === 49) await new Promise((r) => setTimeout(r, 1));
}
while (received < 2000 * bytes) await new Promise((r) => setTimeout(r, 1));
// Everything acknowledged: the measured segment leaves with nothing in flight before it.
await new Promise((r) => setTimeout(r, 50));

post('Profiler.enable');
post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });
post('Profiler.takePreciseCoverage'); // resets the counters
c.write(chunk);
const { result } = post<{ result: ScriptCoverage[] }>('Profiler.takePreciseCoverage');
post('Profiler.stopPreciseCoverage');

const files = new Map<string, string[]>();
for (const s of result) {
  if (!s.url.startsWith('file://')) continue;
  const path = relative(root, fileURLToPath(s.url));
  if (!path.startsWith('src/')) continue;
  // The first range of a function is the function itself; inner ranges are its blocks.
  const ran = s.functions.filter((f) => f.functionName !== '' && (f.ranges[0]?.count ?? 0) > 0);
  if (ran.length > 0)
    files.set(
      path,
      ran.map((f) => f.functionName),
    );
}
const toSlot = [...files.keys()].filter((f) => !f.startsWith('src/host/') && !f.startsWith('src/device/'));
if (args.includes('--json')) {
  console.log(JSON.stringify({ bytes, files: Object.fromEntries(files), toSlot: toSlot.length }));
} else {
  for (const [f, fns] of files) console.log(`${f.padEnd(34)} ${fns.join(', ')}`);
  console.log(
    `\n${files.size} files ran in socket.write (${bytes} B); ${toSlot.length} outside src/host and src/device`,
  );
}
c.destroy();
server.close();
await a.close();
await b.close();
