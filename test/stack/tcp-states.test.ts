import { describe, expect, it } from 'vitest';
import {
  EthernetRepr,
  EtherType,
  IpProto,
  Ipv4Repr,
  TcpFlags,
  TcpRepr,
  type TcpOption,
} from '../../src/wire/index.ts';
import type { NetError, Socket, Stack, Tcb } from '../../src/stack/index.ts';
import { makePair, runUntil, type Pair } from './harness.ts';

/** Opens a connection a→b:port; resolves with both ends once established. */
async function open(p: Pair, port = 80, serverOpts = {}): Promise<{ c: Socket; s: Socket }> {
  let s: Socket | null = null;
  p.b.net.createServer((x) => (s = x), serverOpts).listen(port);
  const c = p.a.net.connect({ host: '10.0.0.2', port });
  await runUntil(p, () => s !== null && !c.connecting);
  return { c, s: s! };
}

/** Builds an Ethernet/IPv4/TCP frame a→b and feeds it to b's input, as if it came off the wire. */
function inject(
  p: Pair,
  to: Stack,
  from: Stack,
  f: {
    sport: number;
    dport: number;
    seq: number;
    ack: number;
    flags: number;
    window?: number;
    payload?: Uint8Array;
    options?: TcpOption[];
    badCsum?: boolean;
  },
): void {
  const payload = f.payload ?? new Uint8Array(0);
  const tcp: TcpRepr = {
    srcPort: f.sport,
    dstPort: f.dport,
    seq: f.seq >>> 0,
    ack: f.ack >>> 0,
    flags: f.flags,
    window: f.window ?? 1000,
    urgent: 0,
    options: f.options ?? [],
    payloadLen: payload.length,
  };
  const tl = TcpRepr.bufferLen(tcp) + payload.length;
  const frame = new Uint8Array(14 + 20 + tl);
  EthernetRepr.emit({ dst: mac(to), src: mac(from), vlans: [], etherType: EtherType.IPV4 }, frame, 0);
  Ipv4Repr.emit(
    {
      src: from.addr,
      dst: to.addr,
      protocol: IpProto.TCP,
      ttl: 64,
      dscp: 0,
      ecn: 0,
      ident: 1,
      dontFrag: true,
      moreFrags: false,
      fragOffset: 0,
      payloadLen: tl,
      options: new Uint8Array(0),
    },
    frame,
    14,
  );
  frame.set(payload, 34 + TcpRepr.bufferLen(tcp));
  TcpRepr.emit(tcp, frame, 34, from.addr, to.addr);
  if (f.badCsum) frame[34 + 16]! ^= 0xff;
  const m = to.pool.alloc()!;
  m.append(frame);
  to.input(m);
  void p;
}

function mac(s: Stack): number {
  let n = 0;
  for (const b of s.netif.mac) n = n * 256 + b;
  return n;
}

/** Records every state a connection enters from now on. */
function trace(t: Tcb): string[] {
  const seen: string[] = [];
  let v = t.state;
  Object.defineProperty(t, 'state', {
    get: () => v,
    set: (x: typeof v) => {
      if (x !== v) seen.push(x);
      v = x;
    },
  });
  return seen;
}

function errOf(s: Socket): Promise<NetError> {
  return new Promise((r) => s.once('error', r));
}

describe('TCP connection management', () => {
  it('RST from a closed port → ECONNREFUSED', async () => {
    const p = makePair();
    const c = p.a.net.connect({ host: '10.0.0.2', port: 9 });
    let err: NetError | null = null;
    errOf(c).then((e) => (err = e));
    await runUntil(p, () => err !== null);
    expect(err!.code).toBe('ECONNREFUSED');
    expect(p.b.tcp.counters.noPort).toBe(1);
    expect(p.b.tcp.counters.outRsts).toBe(1);
    expect(p.a.tcp.connectionCount).toBe(0);
  });

  it('no answer at all → ETIMEDOUT after the SYN retries', async () => {
    const p = makePair({ a: { tcp: { synRetries: 2 } } });
    p.la.drop = () => true;
    const c = p.a.net.connect({ host: '10.0.0.2', port: 80 });
    let err: NetError | null = null;
    errOf(c).then((e) => (err = e));
    const t = await runUntil(p, () => err !== null);
    expect(err!.code).toBe('ETIMEDOUT');
    // RTO 1 s, 1 s, 1 s (an active open's linear SYN timeouts, as Linux): the third expiry gives up.
    expect(t).toBeGreaterThanOrEqual(3000);
    expect(t).toBeLessThan(4000);
  });

  it('orderly close walks FIN-WAIT-1/2, TIME-WAIT on the active side and CLOSE-WAIT/LAST-ACK on the passive side', async () => {
    const p = makePair({ a: { tcp: { msl: 1000 } } });
    const { c, s } = await open(p, 80, { allowHalfOpen: true });
    const ct = c.tcb!;
    const st = s.tcb!;
    const seenC = trace(ct);
    const seenS = trace(st);
    c.on('data', () => {});
    s.on('data', () => {});
    c.end();
    await runUntil(p, () => st.state === 'CLOSE-WAIT' && ct.state === 'FIN-WAIT-2');
    // Lose a's ACK of b's FIN: b waits in LAST-ACK, retransmits its FIN, a re-ACKs from TIME-WAIT.
    const sent = p.la.sent;
    p.la.drop = (_m, i) => i === sent;
    s.end();
    await runUntil(p, () => ct.state === 'TIME-WAIT');
    expect(st.state).toBe('LAST-ACK');
    await runUntil(p, () => st.state === 'CLOSED');
    expect(p.b.tcp.counters.timeouts).toBe(1);
    const t = await runUntil(p, () => ct.state === 'CLOSED');
    expect(t).toBeLessThanOrEqual(2000);
    expect(seenC).toEqual(['FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'CLOSED']);
    expect(seenS).toEqual(['CLOSE-WAIT', 'LAST-ACK', 'CLOSED']);
    expect(p.a.tcp.connectionCount + p.b.tcp.connectionCount).toBe(0);
  });

  it('half-close: data still flows toward the side that sent FIN', async () => {
    const p = makePair();
    const { c, s } = await open(p, 80, { allowHalfOpen: true });
    const got: Buffer[] = [];
    let ended = false;
    let serverEnded = false;
    c.on('data', (d: Buffer) => got.push(d));
    c.on('end', () => (ended = true));
    s.on('data', () => {});
    s.on('end', () => (serverEnded = true));
    c.end();
    await runUntil(p, () => serverEnded);
    expect(s.tcb!.state).toBe('CLOSE-WAIT');
    s.write('after your FIN');
    await runUntil(p, () => got.length > 0);
    expect(Buffer.concat(got).toString()).toBe('after your FIN');
    s.end();
    await runUntil(p, () => ended);
  });

  it('simultaneous open and simultaneous close', async () => {
    const p = makePair({ a: { tcp: { msl: 500 } }, b: { tcp: { msl: 500 } } });
    let pong = -1;
    p.a.ping('10.0.0.2').then((r) => (pong = r));
    await runUntil(p, () => pong >= 0);
    const x = p.a.net.connect({ host: '10.0.0.2', port: 2000, localPort: 1000 });
    const y = p.b.net.connect({ host: '10.0.0.1', port: 1000, localPort: 2000 });
    expect(x.tcb!.state).toBe('SYN-SENT');
    const seenX = trace(x.tcb!);
    let n = 0;
    x.on('connect', () => n++);
    y.on('connect', () => n++);
    await runUntil(p, () => n === 2);
    expect(x.tcb!.state).toBe('ESTABLISHED');
    expect(y.tcb!.state).toBe('ESTABLISHED');
    const xt = x.tcb!;
    const yt = y.tcb!;
    x.on('data', () => {});
    y.on('data', () => {});
    x.end();
    y.end();
    await runUntil(p, () => xt.state === 'TIME-WAIT' && yt.state === 'TIME-WAIT');
    expect(seenX).toEqual(['SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'CLOSING', 'TIME-WAIT']);
    await runUntil(p, () => xt.state === 'CLOSED' && yt.state === 'CLOSED');
  });

  it('destroy with unread data sends RST → ECONNRESET at the peer', async () => {
    const p = makePair();
    const { c, s } = await open(p);
    s.pause();
    c.write('unread');
    await runUntil(p, () => s.tcb!.rcv.readable > 0);
    let err: NetError | null = null;
    errOf(c).then((e) => (err = e));
    s.destroy();
    await runUntil(p, () => err !== null);
    expect(err!.code).toBe('ECONNRESET');
    expect(p.a.tcp.counters.estabResets).toBe(1);
    // TCP_MIB_ESTABRESETS counts the reset at the end that sent it too.
    expect(p.b.tcp.counters.estabResets).toBe(1);
  });
});

describe('RFC 5961 and bad segments', () => {
  async function established(): Promise<{ p: Pair; ct: Tcb; st: Tcb }> {
    const p = makePair();
    const { c, s } = await open(p);
    c.on('data', () => {});
    s.on('data', () => {});
    return { p, ct: c.tcb!, st: s.tcb! };
  }

  it('in-window RST with the wrong sequence gets a challenge ACK, exact RST resets', async () => {
    const { p, ct, st } = await established();
    (st.user as unknown as Socket).on('error', () => {});
    inject(p, p.b, p.a, {
      sport: ct.lport,
      dport: st.lport,
      seq: st.rcvNxt + 100,
      ack: 0,
      flags: TcpFlags.RST,
    });
    expect(p.b.tcp.counters.challengeAcks).toBe(1);
    expect(st.state).toBe('ESTABLISHED');
    inject(p, p.b, p.a, {
      sport: ct.lport,
      dport: st.lport,
      seq: st.rcvNxt + 10_000_000,
      ack: 0,
      flags: TcpFlags.RST,
    });
    expect(p.b.tcp.counters.outOfWindow).toBe(1);
    expect(st.state).toBe('ESTABLISHED');
    inject(p, p.b, p.a, { sport: ct.lport, dport: st.lport, seq: st.rcvNxt, ack: 0, flags: TcpFlags.RST });
    expect(st.state).toBe('CLOSED');
  });

  it('SYN on an established connection is challenged, not obeyed', async () => {
    const { p, ct, st } = await established();
    inject(p, p.b, p.a, { sport: ct.lport, dport: st.lport, seq: st.rcvNxt, ack: 0, flags: TcpFlags.SYN });
    expect(p.b.tcp.counters.challengeAcks).toBe(1);
    expect(st.state).toBe('ESTABLISHED');
  });

  it('drops bad checksums, truncated headers, bad options, ACKs of unsent data and too-old ACKs', async () => {
    const { p, ct, st } = await established();
    const c = p.b.tcp.counters;
    const base = { sport: ct.lport, dport: st.lport, seq: st.rcvNxt, ack: st.snd.una };
    inject(p, p.b, p.a, { ...base, flags: TcpFlags.ACK, payload: new Uint8Array([1, 2, 3]), badCsum: true });
    expect(c.csumErrors).toBe(1);
    inject(p, p.b, p.a, {
      ...base,
      flags: TcpFlags.ACK,
      options: [{ type: 'unknown', kind: 99, data: new Uint8Array(0) }],
    });
    inject(p, p.b, p.a, { ...base, ack: st.snd.max + 5000, flags: TcpFlags.ACK });
    expect(c.ackTooNew).toBe(1);
    inject(p, p.b, p.a, { ...base, ack: st.snd.una - 0x40000000, flags: TcpFlags.ACK });
    expect(c.ackTooOld).toBe(1);
    expect(st.rcv.readable).toBe(0);
    expect(st.state).toBe('ESTABLISHED');
    // A segment whose data offset points past its end.
    const m = p.b.pool.alloc()!;
    const f = new Uint8Array(54);
    f.set(p.b.netif.mac, 0);
    f[12] = 0x08;
    f[14] = 0x45;
    f[16] = 0;
    f[17] = 40;
    f[22] = 64;
    f[23] = 6;
    f.set([10, 0, 0, 1, 10, 0, 0, 2], 26);
    let sum = 0;
    for (let i = 14; i < 34; i += 2) sum += (f[i]! << 8) | f[i + 1]!;
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    f[24] = ~sum >>> 8;
    f[25] = ~sum & 0xff;
    f[34 + 12] = 0xf0;
    m.append(f);
    p.b.input(m);
    expect(c.inErrs).toBe(1);
    // The connection still works.
    const got: Buffer[] = [];
    const s = st.user as unknown as Socket;
    s.on('data', (d: Buffer) => got.push(d));
    (ct.user as unknown as Socket).write('still fine');
    await runUntil(p, () => got.length > 0);
    expect(Buffer.concat(got).toString()).toBe('still fine');
  });
});

describe('flow control and timers', () => {
  it('zero window: write() backpressure, persist probes, drain, intact data', async () => {
    const p = makePair({ a: { tcp: { sndBuf: 16384 } }, b: { tcp: { rcvBuf: 8192 } } });
    const { c, s } = await open(p, 80);
    s.pause();
    const chunk = Buffer.alloc(4096, 7);
    let writes = 0;
    while (c.write(chunk)) writes++;
    expect(writes).toBeLessThan(20);
    let drained = false;
    c.once('drain', () => (drained = true));
    await runUntil(p, () => c.tcb!.persist, 60_000);
    // Time passes with the window shut: probes, no data loss, no abort.
    await runUntil(p, () => false, 5000).catch(() => {});
    expect(c.tcb!.state).toBe('ESTABLISHED');
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    s.resume();
    await runUntil(p, () => drained);
    c.end();
    let ended = false;
    s.on('end', () => (ended = true));
    await runUntil(p, () => ended);
    const all = Buffer.concat(got);
    expect(all.length).toBe((writes + 1) * 4096);
    expect(all.every((b) => b === 7)).toBe(true);
  });

  it('keepalive detects a dead peer → ETIMEDOUT', async () => {
    const p = makePair();
    const { c, s } = await open(p);
    c.setKeepAlive(true, 10_000);
    c.tcb!.keepIntvl = 1000;
    c.tcb!.keepCnt = 3;
    // Only the peer's answers are lost: the probes, and the RST that ends it, reach it.
    p.lb.drop = () => true;
    let err: NetError | null = null;
    let peerErr: NetError | null = null;
    errOf(c).then((e) => (err = e));
    errOf(s).then((e) => (peerErr = e));
    const t = await runUntil(p, () => err !== null && peerErr !== null);
    expect(err!.code).toBe('ETIMEDOUT');
    expect(t).toBeGreaterThanOrEqual(13_000);
    expect(t).toBeLessThan(14_000);
    // tcp_keepalive_timer tells the peer with a RST.
    expect(peerErr!.code).toBe('ECONNRESET');
  });

  it('setTimeout emits timeout after idleness and Nagle holds small writes until ACKed', async () => {
    const p = makePair();
    const { c, s } = await open(p);
    let timedOut = 0;
    c.setTimeout(3000, () => timedOut++);
    const t = await runUntil(p, () => timedOut > 0);
    expect(t).toBeGreaterThanOrEqual(2900);
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    const before = p.a.tcp.counters.outSegs;
    c.write('a');
    c.write('b');
    c.write('c');
    // Nagle: one small segment in flight, the rest waits for its ACK (delayed ACK 40 ms).
    expect(p.a.tcp.counters.outSegs - before).toBe(1);
    await runUntil(p, () => Buffer.concat(got).toString() === 'abc');
    c.setNoDelay(true);
    const b2 = p.a.tcp.counters.outSegs;
    c.write('d');
    c.write('e');
    expect(p.a.tcp.counters.outSegs - b2).toBe(2);
  });
});

describe('UDP', () => {
  it('echoes datagrams and answers closed ports with ICMP port unreachable', async () => {
    const p = makePair();
    const srv = p.b.net.createSocket('udp4');
    srv.on('message', (msg: Buffer, r: { address: string; port: number }) =>
      srv.send(msg, r.port, r.address),
    );
    srv.bind(53);
    const cli = p.a.net.createSocket('udp4');
    const got: string[] = [];
    cli.on('message', (m: Buffer) => got.push(m.toString()));
    cli.send('query', 53, '10.0.0.2');
    await runUntil(p, () => got.length > 0);
    expect(got).toEqual(['query']);
    cli.send('nobody', 54, '10.0.0.2');
    await runUntil(p, () => p.b.counters.udpNoPorts > 0 && p.a.counters.icmpInMsgs > 0);
    expect(p.b.counters.icmpOutMsgs).toBe(1);
    cli.close();
    srv.close();
  });
});

describe('TIME-WAIT reuse and API overloads', () => {
  it('TIME-WAIT lasts 2 MSL; connect(port, host) and resetAndDestroy()', async () => {
    const p = makePair({ a: { tcp: { msl: 60_000 } }, b: { tcp: { msl: 60_000 } } });
    let accepted = 0;
    p.b.net
      .createServer((s) => {
        accepted++;
        s.on('error', () => {});
        s.on('data', () => {});
        s.on('end', () => s.end());
      })
      .listen(80);
    const c1 = p.a.net.connect({ host: '10.0.0.2', port: 80, localPort: 4000 });
    c1.on('data', () => {});
    await runUntil(p, () => !c1.connecting);
    const t1 = c1.tcb!;
    c1.end();
    await runUntil(p, () => t1.state === 'TIME-WAIT' || t1.state === 'CLOSED');
    // The active closer holds TIME-WAIT for 2 MSL, then the 4-tuple is free again.
    expect(t1.state).toBe('TIME-WAIT');
    await runUntil(p, () => t1.state === 'CLOSED');
    const c2 = p.a.net.connect(80, '10.0.0.2');
    await runUntil(p, () => !c2.connecting);
    expect(accepted).toBe(2);
    c2.resetAndDestroy();
    expect(c2.tcpState).toBe('CLOSED');
  });

  it('server-side TIME-WAIT is recycled by a newer SYN from the same port', async () => {
    const p = makePair({ a: { tcp: { msl: 60_000 } }, b: { tcp: { msl: 60_000 } } });
    let server: Socket | null = null;
    p.b.net
      .createServer((s) => {
        server = s;
        s.on('data', () => {});
        s.on('error', () => {});
      })
      .listen(80);
    const c1 = p.a.net.connect({ host: '10.0.0.2', port: 80, localPort: 4001 });
    c1.on('data', () => {});
    c1.on('end', () => c1.end());
    await runUntil(p, () => server !== null && !c1.connecting);
    const st = (server as unknown as Socket).tcb!;
    (server as unknown as Socket).end();
    await runUntil(p, () => st.state === 'TIME-WAIT');
    await runUntil(p, () => c1.tcb!.state === 'CLOSED');
    server = null;
    p.clock.advance(100);
    const c2 = p.a.net.connect({ host: '10.0.0.2', port: 80, localPort: 4001 });
    await runUntil(p, () => server !== null && !c2.connecting);
    expect(st.state).toBe('CLOSED');
    expect(c2.tcpState).toBe('ESTABLISHED');
  });
});

describe('RFC 7323', () => {
  it('negotiates window scaling: a 1 MiB buffer is advertised through the shift', async () => {
    const p = makePair({ b: { tcp: { rcvBuf: 1 << 20 } } });
    const { c, s } = await open(p);
    expect(s.tcb!.rcvWscale).toBe(5);
    expect(c.tcb!.sndWscale).toBe(5);
    expect(c.tcb!.tsOk && c.tcb!.sackOk && c.tcb!.wsOk).toBe(true);
    c.write('x');
    await runUntil(p, () => c.tcb!.snd.flightSize === 0);
    expect(c.tcb!.sndWnd).toBeGreaterThan(65535);
  });

  it('PAWS drops a segment with an old TSval and answers with an ACK', async () => {
    const p = makePair();
    const { c, s } = await open(p);
    s.on('data', () => {});
    const ct = c.tcb!;
    const st = s.tcb!;
    const recent = st.ts.recent;
    const before = p.b.tcp.counters.outSegs;
    inject(p, p.b, p.a, {
      sport: ct.lport,
      dport: st.lport,
      seq: st.rcvNxt,
      ack: st.snd.una,
      flags: TcpFlags.ACK,
      payload: new Uint8Array([1, 2, 3]),
      options: [{ type: 'timestamp', tsVal: (recent - 1000) >>> 0, tsEcr: 0 }],
    });
    expect(p.b.tcp.counters.pawsRejected).toBe(1);
    expect(p.b.tcp.counters.outSegs).toBe(before + 1);
    expect(st.rcv.readable).toBe(0);
    expect(st.state).toBe('ESTABLISHED');
  });
});
