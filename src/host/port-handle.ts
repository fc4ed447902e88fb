// A port made in one thread, opened by a guest in another: the structured-cloneable handle carries
// the datapath descriptor (PortShared, as a kloop worker gets) plus what the guest's device model
// reads of the port (name, MAC, ring geometry, the region's memory and layout for the memdev).
// The control plane (the region allocator, the switch's attach/detach) stays with the owner; the
// thread that opens the handle only drives the datapath and reads the region.
import { NetmapRegion, type NetmapMemParams } from '../netmap/region.ts';
import { HostError } from './errors.ts';
import { openDatapath } from './open-port.ts';
import { PC } from './port-layout.ts';
import { type NetmapPort, type PortDatapath, type PortShared, storeVnetHdrLen } from './port.ts';

/** Everything a guest in another thread needs of a port (see openPort). Structured-cloneable. */
export interface PortHandle {
  name: string;
  mac: Uint8Array;
  nifpOffset: number;
  numTxRings: number;
  numRxRings: number;
  numTxSlots: number;
  numRxSlots: number;
  region: { buffer: SharedArrayBuffer; base: number; memId: number; params: NetmapMemParams };
  shared: PortShared;
}

/**
 * The handle of `port` for a guest in another thread: VALE ports and pipe ends. A TAP port is
 * refused (HOST_ARG): its readiness source is chosen per thread at kloop start and its inline
 * readiness outside the main thread needs a helper thread of the owner's.
 */
export function portHandle(port: NetmapPort): PortHandle {
  const shared = port.shared();
  if (shared.kind === 'tap')
    throw new HostError('HOST_ARG', `${port.name}: a TAP port cannot be opened in another thread`);
  const r = port.region;
  return {
    name: port.name,
    mac: Uint8Array.from(port.mac),
    nifpOffset: port.nifpOffset,
    numTxRings: port.numTxRings,
    numRxRings: port.numRxRings,
    numTxSlots: port.numTxSlots,
    numRxSlots: port.numRxSlots,
    region: { buffer: r.buffer, base: r.base, memId: r.memId, params: r.params },
    shared,
  };
}

/** A port opened from a handle in this thread: its datapath rebuilt, its region seen in place. */
class OpenedPort implements NetmapPort {
  readonly name: string;
  readonly mac: Uint8Array;
  readonly nifpOffset: number;
  readonly numTxRings: number;
  readonly numRxRings: number;
  readonly numTxSlots: number;
  readonly numRxSlots: number;
  /**
   * The owner's region in place. Its allocator here is a blank copy that nothing in this thread
   * uses: buffers and rings are allocated only by the owner (attach, extra buffers).
   */
  readonly region: NetmapRegion;
  readonly datapath: PortDatapath;

  constructor(private readonly handle: PortHandle) {
    this.name = handle.name;
    this.mac = handle.mac;
    this.nifpOffset = handle.nifpOffset;
    this.numTxRings = handle.numTxRings;
    this.numRxRings = handle.numRxRings;
    this.numTxSlots = handle.numTxSlots;
    this.numRxSlots = handle.numRxSlots;
    const r = handle.region;
    this.region = new NetmapRegion({
      params: r.params,
      memId: r.memId,
      backing: { buffer: r.buffer, byteOffset: r.base },
    });
    this.datapath = openDatapath(handle.shared);
  }

  get memId(): number {
    return this.region.memId;
  }
  get vnetHdrLen(): number {
    return this.datapath.vnetHdrLen;
  }
  /** NETMAP_REQ_PORT_HDR_SET on the shared control block (VALE and pipes accept 0, 10, 12). */
  setVnetHdrLen(n: number): boolean {
    return storeVnetHdrLen(this.datapath.state, this.datapath.ctl, n, this.region.bufSize);
  }
  shared(): PortShared {
    return this.handle.shared;
  }
}

/**
 * Opens a port handle in this thread (a worker): a NetmapPort a guest can be booted on, with a
 * kloop inline in this thread or in a worker of its own. The owner keeps the port attached until
 * the guest has stopped its kloop (a VALE detach or a pipe close says HOST_BUSY before).
 */
export function openPort(handle: PortHandle): NetmapPort {
  return new OpenedPort(handle);
}

/**
 * The owner's side of a guest thread that died (crashed or was terminated) while its sync loop
 * served `port` through a handle: that loop can no longer stop itself, so the port is marked free
 * again, as netmap stops a dead process's sync loop when its file is released. Only for a port
 * whose loop is known to be that thread's: the thread has exited, nothing else served the port.
 */
export function releaseOrphanedKloop(port: NetmapPort): void {
  const dp = port.datapath;
  Atomics.store(dp.state, dp.ctl + PC.KLOOP, 0);
}
