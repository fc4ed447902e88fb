import { ValeSwitch } from '../src/host/index.ts';
import { Unikernel } from '../src/unikernel/index.ts';
import { E2E_TCP, rr, spawnThreadPeer } from './e2e-lib.ts';
const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
const a = await Unikernel.boot({ port: vale.attach('a'), ipv4: '10.0.0.1/24', tcp: E2E_TCP, busyPollUs: 100 });
const b = await spawnThreadPeer(vale, 100);
for (let i = 0; i < 2; i++) console.log((await rr(a.net, '10.0.0.2', 5002, 3000)).toFixed(0), 'tps');
await b.close(); await a.close(); await vale.close();
