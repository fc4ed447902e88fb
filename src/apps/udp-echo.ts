// UDP echo (RFC 862): each datagram goes back to where it came from.
import type { Net, UdpSocket } from '../stack/index.ts';

export interface UdpEchoOptions {
  port?: number;
}

export function startUdpEcho(net: Net, o: UdpEchoOptions = {}): UdpSocket {
  const s = net.createSocket('udp4');
  s.on('message', (msg: Buffer, rinfo: { address: string; port: number }) => {
    // A failed send (no route, no buffer) is a lost datagram, as in any UDP service.
    s.send(msg, rinfo.port, rinfo.address, () => {});
  });
  s.on('error', () => {});
  return s.bind(o.port ?? 7);
}
