// The services a unikernel serves, started together on one stack: TCP echo (7), TCP discard (9),
// UDP echo (7) and HTTP (80).
import type { Net, Server, UdpSocket } from '../stack/index.ts';
import { startHttpServer, type HttpServerOptions } from './http-server.ts';
import { startTcpDiscard, startTcpEcho, type ConnReport } from './tcp-services.ts';
import { startUdpEcho } from './udp-echo.ts';

export interface ServicesOptions {
  /** Per-connection reports of echo and discard. */
  onClose?: (r: ConnReport) => void;
  http?: HttpServerOptions;
  /** Port numbers (tests run several sets side by side); defaults 7, 9, 7, 80. */
  ports?: { echo?: number; discard?: number; udpEcho?: number; http?: number };
}

export interface Services {
  echo: Server;
  discard: Server;
  udpEcho: UdpSocket;
  http: Server;
  /** Stops listening; established connections finish on their own (node semantics). */
  close(): void;
}

export function startServices(net: Net, o: ServicesOptions = {}): Services {
  const p = o.ports ?? {};
  const onClose = o.onClose;
  const echo = startTcpEcho(net, { port: p.echo, onClose });
  const discard = startTcpDiscard(net, { port: p.discard, onClose });
  const udpEcho = startUdpEcho(net, { port: p.udpEcho });
  const http = startHttpServer(net, { ...o.http, port: p.http });
  return {
    echo,
    discard,
    udpEcho,
    http,
    close() {
      echo.close();
      discard.close();
      http.close();
      udpEcho.close();
    },
  };
}
