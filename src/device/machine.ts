// A guest machine: guest-physical memory plus the PCI functions of the passed-through ports, with
// one memdev per host allocator shared by every ptnet on that allocator (as QEMU creates them).

import type { GuestPlatform, PciFunction } from './interface.ts';
import type { GuestMemoryOptions } from './guest-memory.ts';
import { GuestPhysMemory } from './guest-memory.ts';
import { PtnetmapMemdev } from './memdev.ts';
import type { KloopFactory, PtnetBackendPort } from './ptnet.ts';
import { PtnetDevice } from './ptnet.ts';
import { DeviceError } from './errors.ts';

export class Machine implements GuestPlatform {
  readonly memory: GuestPhysMemory;
  readonly functions: PciFunction[] = [];
  private readonly memdevs = new Map<number, PtnetmapMemdev>();

  constructor(opts: GuestMemoryOptions = { size: 1 << 20 }) {
    this.memory = new GuestPhysMemory(opts);
  }

  /** Plug a ptnet NIC for `port`, and the memdev of its allocator if not present yet. */
  addPtnet<P extends PtnetBackendPort>(port: P, kloop: KloopFactory<P>): PtnetDevice<P> {
    let md = this.memdevs.get(port.memId);
    if (md === undefined) {
      md = new PtnetmapMemdev(port.region);
      this.memdevs.set(port.memId, md);
      this.functions.push(md);
    } else if (md.region !== port.region) {
      throw new DeviceError('DEV_BACKEND', `memory id ${port.memId} already names another region`);
    }
    const dev = new PtnetDevice(port, this.memory, kloop);
    this.functions.push(dev);
    return dev;
  }
}
