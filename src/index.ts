// The package's public API (docs/ARCHITECTURE.md "Public API"): boot unikernels on host ports, the
// ports themselves, the services and clients, and the socket API types. Everything else is
// reachable through its folder's index.ts.
export {
  Unikernel,
  UnikernelError,
  type BootOptions,
  type UnikernelErrorCode,
  type UnikernelStats,
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
  configureImpairment,
  type ImpairConfig,
} from './host/index.ts';
export {
  AppError,
  type AppErrorCode,
  startServices,
  type Services,
  type ServicesOptions,
  startTcpEcho,
  startTcpDiscard,
  startUdpEcho,
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
  type ConnectOptions,
  type SocketOptions,
  type RemoteInfo,
} from './stack/index.ts';
export { TapError } from './host/tap/index.ts';
