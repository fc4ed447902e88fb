// A stack's whole state as plain data (docs/SNAPSHOT.md), taken from a quiesced stack and put
// back into a fresh one: connections with their sockets, listeners, UDP sockets, the resolved
// neighbour entries and the IPv4 identification counter. Capture asks each module for its own
// state (Tcb.exportState, Socket.exportState, UdpSocket.exportState, NeighbourCache); restore
// first checks the whole snapshot against the target stack (checkRestore: addresses, families,
// free tuples and ports) and changes nothing until every check passed, as CRIU validates an
// image before it rebuilds a socket. The byte format is snapshot-codec.ts.
import { getIn4, IN4_ANY, ipv4ToString, ipv6ToString, parseIn4, parseIpv6, set32 } from '../wire/index.ts';
import { SnapshotError } from './errors.ts';
import { keyToAddr, key6 } from './ipv6/addr.ts';
import { IpPairScratch } from './l3.ts';
import { Socket, type Server, type SocketState } from './socket.ts';
import type { Stack } from './stack.ts';
import { SNAPSHOT_TCP_STATES, type TcbConfig, type TcbState } from './tcp/tcb-state.ts';
import { tcbConfigOf, type Tcb, type TcbOptions } from './tcp/tcb.ts';
import type { Tcp, TcpListener } from './tcp/tcp.ts';
import type { UdpSocket, UdpSocketState } from './udp.ts';

/** The format version this code writes and reads. */
export const SNAPSHOT_VERSION = 1;

/** A connection, and its socket unless it was an orphan finishing its close. */
export interface ConnSnapshot {
  tcb: TcbState;
  socket: SocketState | null;
}

/** A listening server: one port, IPv4 and/or IPv6 (a dual-stack server is one entry). */
export interface ListenerSnapshot {
  port: number;
  backlog: number;
  v4: boolean;
  v6: boolean;
  allowHalfOpen: boolean;
  /** The options its connections are made with. */
  config: TcbConfig;
}

/** A resolved neighbour (ARP or NDP): restored STALE, so the first use confirms it (RFC 4861 §7.3.3). */
export interface NeighbourSnapshot {
  family: 4 | 6;
  /** 16 bytes, IPv4 in the first four. */
  addr: Uint8Array;
  mac: Uint8Array;
}

export interface StackSnapshot {
  version: number;
  /** The interface the stack answered on: its MAC (kept by the restored stack) and MTU. */
  mac: Uint8Array;
  mtu: number;
  /**
   * Wall-clock time of the capture, ms since the epoch with a fraction (wallClock()): what the
   * outage is measured from, in this process or another.
   */
  capturedAt: number;
  /** The next IPv4 identification. */
  ipIdent: number;
  connections: ConnSnapshot[];
  listeners: ListenerSnapshot[];
  udp: UdpSocketState[];
  neighbours: NeighbourSnapshot[];
}

/** What a restore gives the application back, to re-attach its handlers. */
export interface RestoredSockets {
  /** Connected sockets, in snapshot order (find one by localPort / remotePort / remoteAddress). */
  sockets: Socket[];
  /** Listening servers (add a 'connection' listener). */
  servers: Server[];
  /** Bound UDP sockets (add a 'message' listener). */
  udp: UdpSocket[];
}

/**
 * The state of `stack`, which must be quiesced (no NIC behind it, timers stopped) so nothing moves
 * while it is read. Connections in SYN-SENT or SYN-RECEIVED are not carried (docs/SNAPSHOT.md §4).
 * The captured sockets then emit nothing more: what they held is in the snapshot.
 */
export function captureStack(stack: Stack): StackSnapshot {
  const connections: ConnSnapshot[] = [];
  for (const tcp of tcpsOf(stack)) {
    for (const t of tcp.connections()) {
      if (!SNAPSHOT_TCP_STATES.includes(t.state)) continue;
      // A connection in TIME-WAIT already told its socket it closed: it goes as an orphan.
      const user = t.user instanceof Socket && t.state !== 'TIME-WAIT' ? t.user : null;
      connections.push({ tcb: t.exportState(), socket: user?.exportState() ?? null });
      user?.frozen();
    }
  }
  const listeners: ListenerSnapshot[] = [];
  const v6 = stack.tcp6?.listening() ?? [];
  for (const l of stack.tcp.listening()) {
    const twin = v6.find((m) => m.port === l.port && m.onConnection === l.onConnection);
    listeners.push(listenerOf(l, true, twin !== undefined));
  }
  for (const l of v6) {
    if (!listeners.some((x) => x.port === l.port && x.v6)) listeners.push(listenerOf(l, false, true));
  }
  const neighbours: NeighbourSnapshot[] = [];
  for (const e of stack.ipv4.arp.cache.resolvedEntries()) {
    const addr = new Uint8Array(16);
    set32(addr, 0, e.key);
    neighbours.push({ family: 4, addr, mac: Uint8Array.from(e.lladdr) });
  }
  for (const e of stack.ip6?.nd.resolvedEntries() ?? []) {
    const addr = new Uint8Array(16);
    keyToAddr(e.key, addr);
    neighbours.push({ family: 6, addr, mac: Uint8Array.from(e.lladdr) });
  }
  return {
    version: SNAPSHOT_VERSION,
    mac: Uint8Array.from(stack.netif.mac),
    mtu: stack.netif.mtu,
    capturedAt: wallClock(),
    ipIdent: stack.ipv4.ident,
    connections,
    listeners,
    udp: stack.udp.sockets().map((u) => u.exportState()),
    neighbours,
  };
}

/** Epoch ms at sub-millisecond resolution (performance's origin plus its monotonic clock). */
export function wallClock(): number {
  return performance.timeOrigin + performance.now();
}

function tcpsOf(stack: Stack): Tcp[] {
  return stack.tcp6 === null ? [stack.tcp] : [stack.tcp, stack.tcp6];
}

function listenerOf(l: TcpListener, v4: boolean, v6: boolean): ListenerSnapshot {
  const o = l.opts as TcbOptions & { allowHalfOpen?: boolean };
  return {
    port: l.port,
    backlog: l.backlog,
    v4,
    v6,
    allowHalfOpen: o.allowHalfOpen ?? false,
    config: tcbConfigOf(o),
  };
}

function tupleName(t: TcbState): string {
  const l = t.family === 6 ? `[${ipv6ToString(t.laddr)}]` : ipv4ToString(getIn4(t.laddr, 0));
  const r = t.family === 6 ? `[${ipv6ToString(t.raddr)}]` : ipv4ToString(getIn4(t.raddr, 0));
  return `${l}:${t.lport}-${r}:${t.rport}`;
}

/**
 * Throws SnapshotError unless `snap` (already decoded and validated on its own) fits `stack`: the
 * same MTU, every family it uses configured, every local address the stack's, every 4-tuple and
 * port free. Changes nothing.
 */
export function checkRestore(stack: Stack, snap: StackSnapshot): void {
  if (snap.mtu !== stack.netif.mtu)
    throw new SnapshotError('MISMATCH', `snapshot MTU ${snap.mtu}, stack MTU ${stack.netif.mtu}`);
  const pair = new IpPairScratch();
  for (const { tcb: t } of snap.connections) {
    const tcp = stack.tcpOf(t.family);
    if (tcp === null) throw new SnapshotError('MISMATCH', `${tupleName(t)}: the stack has no IPv6`);
    if (t.family === 4) {
      pair.laddr = getIn4(t.laddr, 0);
      pair.raddr = getIn4(t.raddr, 0);
      if (!stack.isLocal4(pair.laddr))
        throw new SnapshotError('BAD_ADDRESS', `${tupleName(t)}: the local address is not the stack's`);
    } else {
      pair.laddr6.set(t.laddr);
      pair.raddr6.set(t.raddr);
      if (stack.ip6!.findAddress(t.laddr, 0) === undefined)
        throw new SnapshotError('BAD_ADDRESS', `${tupleName(t)}: the local address is not the stack's`);
    }
    if (tcp.lookup(pair, t.lport, t.rport) !== undefined)
      throw new SnapshotError('IN_USE', `${tupleName(t)} is already connected`);
  }
  for (const l of snap.listeners) {
    if (l.v6 && stack.tcp6 === null)
      throw new SnapshotError('MISMATCH', `listener ${l.port}: the stack has no IPv6`);
    if ((l.v4 && stack.tcp.hasListener(l.port)) || (l.v6 && stack.tcp6!.hasListener(l.port)))
      throw new SnapshotError('IN_USE', `TCP port ${l.port} already listens`);
  }
  for (const u of snap.udp) {
    if (u.type === 'udp6' && stack.ip6 === null)
      throw new SnapshotError('MISMATCH', `UDP port ${u.port}: the stack has no IPv6`);
    if (stack.udp.bound(u.port)) throw new SnapshotError('IN_USE', `UDP port ${u.port} is already bound`);
    if (u.address !== '' && !localAddress(stack, u.address))
      throw new SnapshotError('BAD_ADDRESS', `UDP port ${u.port}: ${u.address} is not the stack's`);
  }
  for (const n of snap.neighbours) {
    if (n.family === 6 && stack.ip6 === null)
      throw new SnapshotError('MISMATCH', 'an NDP entry, and the stack has no IPv6');
  }
}

/** A bind address the stack has: the wildcard, or one of its own. */
function localAddress(stack: Stack, a: string): boolean {
  if (a.includes(':')) {
    const b = parseIpv6(a);
    return b.every((x) => x === 0) || stack.ip6?.findAddress(b, 0) !== undefined;
  }
  const v = parseIn4(a);
  return v === IN4_ANY || stack.isLocal4(v);
}

/**
 * Checks `snap` against `stack` (checkRestore; nothing changes when it throws), then restores
 * everything: connections with new sockets bound to them, servers listening again, UDP sockets
 * bound, neighbours as STALE entries, the IPv4 identification. Each connection then sends a window
 * probe so that its peer answers with where it stands.
 */
export function restoreStack(stack: Stack, snap: StackSnapshot): RestoredSockets {
  checkRestore(stack, snap);
  stack.ipv4.ident = snap.ipIdent;
  for (const n of snap.neighbours) {
    if (n.family === 4) stack.ipv4.arp.cache.learned(getIn4(n.addr, 0), n.mac);
    else stack.ip6!.nd.learned(key6(n.addr), n.mac);
  }
  const sockets: Socket[] = [];
  const tcbs: Tcb[] = [];
  for (const c of snap.connections) {
    const t = stack.tcpOf(c.tcb.family)!.restore(c.tcb);
    tcbs.push(t);
    if (c.socket === null) {
      t.orphan();
      continue;
    }
    const s = new Socket(stack, { allowHalfOpen: c.socket.allowHalfOpen });
    s.restoreState(t, c.socket);
    sockets.push(s);
  }
  const servers: Server[] = [];
  for (const l of snap.listeners) {
    const srv = stack.net.createServer({ ...l.config, allowHalfOpen: l.allowHalfOpen });
    if (l.v4 && l.v6) srv.listen({ port: l.port, backlog: l.backlog });
    else if (l.v4) srv.listen({ port: l.port, host: '0.0.0.0', backlog: l.backlog });
    else srv.listen({ port: l.port, host: '::', backlog: l.backlog, ipv6Only: true });
    servers.push(srv);
  }
  const udp: UdpSocket[] = [];
  for (const u of snap.udp) {
    const s = stack.net.createSocket(u.type);
    s.bind(u.address === '' ? { port: u.port } : { port: u.port, address: u.address });
    if (u.broadcast) s.setBroadcast(true);
    if (u.peerPort !== 0) s.connect(u.peerPort, u.peerAddress);
    udp.push(s);
  }
  for (const t of tcbs) t.probeAfterRestore();
  return { sockets, servers, udp };
}
