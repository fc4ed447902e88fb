// The unikernel TCP/IP stack: public API.
export * from './errors.ts';
export { EventQueue, type EventTarget } from './events.ts';
export * from './timer.ts';
export * from './neighbour.ts';
export * from './counters.ts';
export {
  IpPairScratch,
  type IpPair,
  type L3Output,
  type SourceError,
  type TcpInput,
  type UdpInput,
  type TransportInputs,
} from './l3.ts';
export { Link, type LinkOutput, type LinkHandlers, type LinkOptions, type L3Input } from './link/link.ts';
export * from './tcp/index.ts';
export { Stack, type StackOptions } from './stack.ts';
export * from './snapshot.ts';
export * from './snapshot-codec.ts';
export {
  Net,
  Server,
  Socket,
  ZEROCOPY_MIN,
  type AddressInfo,
  type ConnectOptions,
  type ListenOptions,
  type SocketOptions,
  type OnReadOptions,
  type NetHost,
  type SocketState,
} from './socket.ts';
export {
  UdpLayer,
  UdpSocket,
  type Msg,
  type RemoteInfo,
  type SendCallback,
  type UdpAddr,
  type UdpHost,
  type UdpSocketState,
} from './udp.ts';
export * from './route.ts';
export * from './pmtu.ts';
export * from './reassembly.ts';
export * from './icmp-rate.ts';
export { Ipv4Layer, isLoopback4, type Ipv4Config } from './ipv4/ipv4.ts';
export { Arp } from './ipv4/arp.ts';
export { Icmp4, type Icmp4Host } from './ipv4/icmp.ts';
export * from './ipv4/icmp-errors.ts';
export * from './ipv4/frag.ts';
export { Ipv6Layer, L4_OFF6, type Ipv6Options, type Ipv6LinkConfig } from './ipv6/ipv6.ts';
export * from './ipv6/addr.ts';
export * from './ipv6/counters.ts';
export { Icmp6, type Icmp6Host } from './ipv6/icmpv6.ts';
export { Ipv6Frag, type Ipv6FragHost } from './ipv6/frag.ts';
export * from './ipv6/ndp.ts';
