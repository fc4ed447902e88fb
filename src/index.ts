// The package's public API (docs/ARCHITECTURE.md "Public API"): boot unikernels on host ports, the
// ports themselves, the services and clients, the socket API types and every error class.
// Everything else is reachable through the package's subpaths (`ptnet-ts/pcap`, `ptnet-ts/tso`, …:
// package.json "exports"), one per folder's index.ts.
export {
  Unikernel,
  UnikernelError,
  type BootOptions,
  type UnikernelErrorCode,
  type UnikernelStats,
  type SwitchReport,
  type RestoreReport,
  UnikernelWorker,
  type SpawnOptions,
  type WorkerBootOptions,
  type WorkerSendOptions,
  type WorkerService,
} from './unikernel/index.ts';
export {
  ValeSwitch,
  ValePort,
  type ValeOptions,
  type ValeAttachOptions,
  createPipe,
  PipeEnd,
  type PipeOptions,
  openTapPort,
  TapPort,
  type TapPortOptions,
  type NetmapPort,
  type KloopMode,
  KloopThread,
  type KloopThreadOptions,
  configureImpairment,
  type ImpairConfig,
  type ImpairedDatapath,
} from './host/index.ts';
export {
  AppError,
  type AppErrorCode,
  startServices,
  type Services,
  type ServicesOptions,
  startTcpEcho,
  startTcpDiscard,
  type TcpServiceOptions,
  startUdpEcho,
  type UdpEchoOptions,
  startHttpServer,
  type HttpServerOptions,
  type HttpLogEntry,
  type ConnReport,
  httpGet,
  type HttpGetOptions,
  type HttpGetResult,
  tcpSend,
  type TcpSendOptions,
  type TcpSendResult,
  fillPattern,
} from './apps/index.ts';
export {
  NetError,
  Net,
  Server,
  Socket,
  UdpSocket,
  ZEROCOPY_MIN,
  type ConnectOptions,
  type SocketOptions,
  type OnReadOptions,
  type RemoteInfo,
  decodeSnapshot,
  encodeSnapshot,
  SNAPSHOT_VERSION,
  type StackSnapshot,
  type RestoredSockets,
} from './stack/index.ts';
export { TapError, LinuxTap, type TapFdShared, type TapOpenOptions } from './host/tap/index.ts';

// Every error class the package throws, with its code union: one `instanceof` and one `code`
// switch per folder, whichever subpath the error came through (test/package/errors.test.ts).
export { ChecksumError, type ChecksumErrorCode } from './checksum/index.ts';
export { WireError, type WireErrorCode } from './wire/index.ts';
export { VnetHdrError, type VnetHdrErrorCode } from './vnethdr/index.ts';
export { TsoError, type TsoErrorCode } from './tso/index.ts';
export { PcapError, type PcapErrorCode } from './pcap/index.ts';
export { NetmapError, type NetmapErrorCode } from './netmap/index.ts';
export { MbufError, type MbufErrorCode } from './mbuf/index.ts';
export { NetIfError, type NetIfErrorCode } from './netif/index.ts';
export { HostError, type HostErrorCode } from './host/index.ts';
export { type TapErrorCode } from './host/tap/index.ts';
export { DeviceError, type DeviceErrorCode } from './device/index.ts';
export { DriverError, type DriverErrorCode } from './driver/index.ts';
export {
  StackError,
  type StackErrorCode,
  type NetErrorCode,
  SnapshotError,
  type SnapshotErrorCode,
} from './stack/index.ts';
