// A strict TypeScript consumer (nodenext, strict, exactOptionalPropertyTypes, no skipLibCheck):
// every typed subpath resolves, and the public API type-checks as documented.
import { Unikernel, ValeSwitch, UnikernelError, type BootOptions, type UnikernelErrorCode } from 'ptnet-ts';
import * as checksum from 'ptnet-ts/checksum';
import * as device from 'ptnet-ts/device';
import * as driver from 'ptnet-ts/driver';
import * as host from 'ptnet-ts/host';
import * as mbuf from 'ptnet-ts/mbuf';
import * as netif from 'ptnet-ts/netif';
import * as netmap from 'ptnet-ts/netmap';
import * as pcap from 'ptnet-ts/pcap';
import * as stack from 'ptnet-ts/stack';
import * as tso from 'ptnet-ts/tso';
import * as vnethdr from 'ptnet-ts/vnethdr';
import * as wire from 'ptnet-ts/wire';

export const modules = [checksum, device, driver, host, mbuf, netif, netmap, pcap, stack, tso, vnethdr, wire];
export const errors: (new (...a: never[]) => Error)[] = [
  checksum.ChecksumError,
  device.DeviceError,
  driver.DriverError,
  host.HostError,
  mbuf.MbufError,
  netif.NetIfError,
  netmap.NetmapError,
  pcap.PcapError,
  stack.NetError,
  tso.TsoError,
  vnethdr.VnetHdrError,
  wire.WireError,
];

export async function run(): Promise<number> {
  await using vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
  const opts: BootOptions = { port: vale.attach('a'), ipv4: '10.0.0.1/24', mode: 'worker' };
  await using a = await Unikernel.boot(opts);
  await using b = await Unikernel.boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24' });
  const server = a.net.createServer((s) => s.pipe(s)).listen(7);
  server.close();
  try {
    return await b.ping('10.0.0.1', { timeout: 1000 });
  } catch (e) {
    if (e instanceof UnikernelError) {
      const code: UnikernelErrorCode = e.code;
      return code.length;
    }
    throw e;
  }
}
