// Entry of the esbuild bundle: one unikernel whose sync loop runs in a worker thread (the
// bundled `ptnet-ts/kloop-worker` entry, emitted as kloop-worker.js beside this bundle), pinging
// a second one.
import { Unikernel, ValeSwitch } from 'ptnet-ts';

const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
const a = await Unikernel.boot({ port: vale.attach('a'), ipv4: '10.0.0.1/24', mode: 'worker' });
const b = await Unikernel.boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24', mode: 'inline' });
const rtt = await b.ping('10.0.0.1');
const runs = a.kloops[0].runs;
await b.close();
await a.close();
await vale.close();
process.stdout.write(`${JSON.stringify({ rtt, mode: a.mode, runs })}\n`);
