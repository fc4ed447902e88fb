// The unikernel TCP/IP stack: public API.
export * from './errors.ts';
export * from './timer.ts';
export * from './neighbour.ts';
export * from './counters.ts';
export type { Ipv4Output } from './l3.ts';
export * from './tcp/index.ts';
export { Stack, type StackOptions } from './stack.ts';
export { Net, Server, Socket, type ConnectOptions, type SocketOptions } from './socket.ts';
export { UdpLayer, UdpSocket, type RemoteInfo } from './udp.ts';
