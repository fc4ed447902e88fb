// Public API of src/wire: zero-copy header views, parse/emit representations, the frame dissector.
export * from './errors.ts';
export * from './constants.ts';
export { View, EMPTY } from './view.ts';
export * from './pseudo.ts';
export * from './address.ts';
export * from './ethernet.ts';
export * from './ipv4.ts';
export * from './ipv6.ts';
export * from './udp.ts';
export * from './tcp.ts';
export * from './dissect.ts';
export * from './arp.ts';
export * from './icmp.ts';
export * from './icmpv4.ts';
export * from './icmpv6.ts';
export * from './ndp.ts';
export * from './bytes.ts';
export * from './tcp-opt-writer.ts';
