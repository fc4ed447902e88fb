// Plain Node ESM, no TypeScript anywhere: the package root and a subpath, two unikernels on a VALE
// switch (one sync loop in a worker thread), a ping, then everything closed. No process.exit: the
// consumer test also checks that the process ends on its own.
import { Unikernel, ValeSwitch, WireError } from 'ptnet-ts';
import { csumPartial } from 'ptnet-ts/checksum';
import { PcapWriter } from 'ptnet-ts/pcap';

const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
const a = await Unikernel.boot({ port: vale.attach('a'), ipv4: '10.0.0.1/24', mode: 'inline' });
const b = await Unikernel.boot({
  port: vale.attach('b'),
  ipv4: '10.0.0.2/24',
  mode: process.argv[2] ?? 'worker',
});
const rtt = await b.ping('10.0.0.1');
const stats = b.stats();
await b.close();
await a.close();
await vale.close();
process.stdout.write(
  `${JSON.stringify({
    rtt,
    rx: stats.rxPackets,
    csum: csumPartial(new Uint8Array([1, 2, 3, 4]), 0, 4, 0),
    pcap: typeof PcapWriter,
    wireError: typeof WireError,
  })}\n`,
);
