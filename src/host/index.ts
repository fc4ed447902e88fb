// Public API of the host side: krings and prologue checks, ports (pipe, VALE), impairment and
// the sync kloop (inline or worker).
export { HostError, type HostErrorCode, DROP_REASONS, type DropReason } from './errors.ts';
export { KR, KRING_WORDS, Kring } from './kring.ts';
export { type ImpairClock, type ImpairConfig, type ImpairedDatapath, configureImpairment } from './impair.ts';
export { DROP, PC } from './port-layout.ts';
export {
  MFS_DEFAULT,
  type NetmapPort,
  type PipeShared,
  PortDatapath,
  type PortShared,
  type PortSharedBase,
  type ValeShared,
  validVnetHdrLen,
} from './port.ts';
export { RegionView, type RegionShared, type RingsShared } from './region-view.ts';
export {
  PIPE_DEFAULT_EXTRA_BUFS,
  PipeDatapath,
  PipeEnd,
  type PipeOptions,
  createPipe,
  smallRegion,
} from './pipe.ts';
export {
  VALE_BATCH,
  VALE_DEFAULT_EXTRA_BUFS,
  VALE_DEFAULT_SLOTS,
  VALE_MAX_PORTS,
  VALE_MAX_RINGS,
  VALE_MAX_SLOTS,
  type Geometry as ValeGeometry,
} from './vale-layout.ts';
export { ValeDatapath, ValeView } from './vale.ts';
export { GsoScratch, type GsoScratchShared, VALE_GSO_SLICES, gsoSliceBytes } from './vale-gso-scratch.ts';
export { type ValeAttachOptions, type ValeOptions, ValePort, ValeSwitch } from './vale-switch.ts';
export { FDB_BUCKETS, FDB_FLOOD, FDB_TOTAL_WORDS, ForwardingTable } from './vale-fdb.ts';
export { convertVnetHdr, vnetHdrIsBad } from './vnet-convert.ts';
export { KloopCore, RX_DRY_CYCLES_MAX } from './kloop-core.ts';
export { type CsbWindow, type KloopMode, type KloopOptions, SyncKloop } from './kloop.ts';
export {
  KloopThread,
  type KloopThreadOptions,
  type ThreadMember,
  checkPollOptions,
  defaultPollers,
} from './kloop-thread.ts';
export { KC, KLOOP_WAIT_MS } from './kloop-words.ts';
export { type IrqSource, IrqPoller } from './kloop-irq-poll.ts';
export type { RunQueueWaited } from './run-wait.ts';
export {
  type AtomicsLike,
  type Doorbell,
  type IdleFd,
  KloopIdle,
  KLOOP_POLL_MAX_US,
  POLL_MAX_US,
  POLL_START_US,
  MISS_LIMIT,
  PREEMPT_GAP_US,
  PREEMPT_LIMIT,
  PROBE_EVERY,
  SHUT_COOLDOWN,
  SHUT_COOLDOWN_MAX,
  type PollerSlots,
  PollWindow,
  SLEEPING_FD,
  SLEEPING_FUTEX,
  SLEEPING_NO,
} from './kloop-idle.ts';
export { openDatapath } from './open-port.ts';
export { type BusyPollEnd, TapBusyPoll } from './tap-busy-poll.ts';
export {
  TAP_BUSY_POLL_US,
  TAP_DEFAULT_SLOTS,
  TAP_DEFAULT_EXTRA_BUFS,
  TAP_READ_MIN,
  TAP_VNET_HDR_LEN,
  TapDatapath,
  type TapIo,
  TapPort,
  type TapPortOptions,
  type TapReadiness,
  type TapShared,
  type TapStats,
  type TapWake,
  openTapDatapath,
  openTapPort,
} from './tap-port.ts';
export { FdPoll, KickFd, LinuxTap, type TapFdShared, TapError, type TapErrorCode } from './tap/index.ts';
export { adoptPacketMemory, packetMemoryOf, packetRegion } from './packet-region.ts';
export { type PortHandle, openPort, portHandle, releaseOrphanedKloop } from './port-handle.ts';
