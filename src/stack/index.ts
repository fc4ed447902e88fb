// The unikernel TCP/IP stack: public API.
export * from './errors.ts';
export * from './timer.ts';
export * from './neighbour.ts';
export * from './counters.ts';
export type { Ipv4Output } from './l3.ts';
export * from './tcp/index.ts';
export { Stack, type StackOptions } from './stack.ts';
export {
  Net,
  Server,
  Socket,
  type AddressInfo,
  type ConnectOptions,
  type ListenOptions,
  type SocketOptions,
} from './socket.ts';
export { UdpLayer, UdpSocket, type Msg, type RemoteInfo, type SendCallback } from './udp.ts';
export * from './route.ts';
export * from './pmtu.ts';
export * from './reassembly.ts';
export * from './icmp-rate.ts';
export * from './icmp-errors.ts';
export * from './ipv4-frag.ts';
export * from './ipv6.ts';
export * from './ndp.ts';
