// The socket API against node:net / node:dgram behaviour, on two stacks over an in-memory pair:
// listen overloads and address(), 'close' with hadError, error fields, destroy() sending FIN or
// RST as close(2) does, loopback to one's own address, and the dgram overloads. The same
// behaviour is compared with node itself in test/net-diff/.
import { describe, expect, it } from 'vitest';
import type { NetError, Socket, UdpSocket } from '../../src/stack/index.ts';
import { csumFinish, csumPartial } from '../../src/checksum/index.ts';
import { inject } from './ip-frames.ts';
import { makePair, runUntil } from './harness.ts';

const V6 = {
  a: { ipv6: { addresses: ['2001:db8::1/64'], dadDelay: 0 } },
  b: { ipv6: { addresses: ['2001:db8::2/64'], dadDelay: 0 } },
};

describe('net.Server.listen overloads and address()', () => {
  it('calls the callback of every overload and reports the port it was given', async () => {
    const p = makePair();
    const seen: string[] = [];
    const servers = [
      p.b.net.createServer().listen(1001, () => seen.push('port,cb')),
      p.b.net.createServer().listen(1002, '0.0.0.0', () => seen.push('port,host,cb')),
      p.b.net.createServer().listen(1003, '10.0.0.2', 8, () => seen.push('port,host,backlog,cb')),
      p.b.net.createServer().listen(1004, 8, () => seen.push('port,backlog,cb')),
      p.b.net.createServer().listen({ port: 1005 }, () => seen.push('options,cb')),
      p.b.net.createServer().listen({ port: 1006, host: '10.0.0.2', backlog: 4 }),
    ];
    const any = p.b.net.createServer().listen(() => seen.push('cb'));
    await runUntil(p, () => seen.length === 6);
    expect(seen.sort()).toEqual(
      ['port,cb', 'port,host,cb', 'port,host,backlog,cb', 'port,backlog,cb', 'options,cb', 'cb'].sort(),
    );
    expect(servers.map((s) => s.address())).toEqual([
      { address: '0.0.0.0', family: 'IPv4', port: 1001 },
      { address: '0.0.0.0', family: 'IPv4', port: 1002 },
      { address: '10.0.0.2', family: 'IPv4', port: 1003 },
      { address: '0.0.0.0', family: 'IPv4', port: 1004 },
      { address: '0.0.0.0', family: 'IPv4', port: 1005 },
      { address: '10.0.0.2', family: 'IPv4', port: 1006 },
    ]);
    expect(any.address()!.port).toBeGreaterThan(0);
    expect(() => servers[0]!.listen(1007)).toThrow(
      expect.objectContaining({ code: 'ERR_SERVER_ALREADY_LISTEN' }),
    );
    expect(() => p.b.net.createServer().listen(70000)).toThrow(
      expect.objectContaining({ code: 'ERR_SOCKET_BAD_PORT' }),
    );
  });

  it("a dual-stack server says '::' and IPv6, as node; '0.0.0.0' and an IPv6 address listen on one family", async () => {
    const p = makePair(V6);
    await runUntil(p, () => [p.a, p.b].every((s) => s.ip6!.addresses.every((x) => x.state === 'PREFERRED')));
    const dual = p.b.net.createServer().listen(80);
    const v4 = p.b.net.createServer().listen(81, '0.0.0.0');
    const v6 = p.b.net.createServer().listen({ port: 82, host: '2001:db8::2' });
    expect(dual.address()).toEqual({ address: '::', family: 'IPv6', port: 80 });
    expect(v4.address()).toEqual({ address: '0.0.0.0', family: 'IPv4', port: 81 });
    expect(v6.address()).toEqual({ address: '2001:db8::2', family: 'IPv6', port: 82 });
    const codes: string[] = [];
    for (const [port, host] of [
      [80, '10.0.0.2'],
      [80, '2001:db8::2'],
      [81, '2001:db8::2'],
      [82, '10.0.0.2'],
    ] as const) {
      const c = p.a.net.connect(port, host);
      c.on('connect', () => (codes.push(`${port} ${host} ok`), c.destroy()));
      c.on('error', (e: NetError) => codes.push(`${port} ${host} ${e.code}`));
    }
    await runUntil(p, () => codes.length === 4);
    expect(codes.sort()).toEqual(
      [
        '80 10.0.0.2 ok',
        '80 2001:db8::2 ok',
        '81 2001:db8::2 ECONNREFUSED',
        '82 10.0.0.2 ECONNREFUSED',
      ].sort(),
    );
  });

  it('EADDRINUSE and EADDRNOTAVAIL carry errno, syscall listen, address and port', async () => {
    const p = makePair();
    p.b.net.createServer().listen(80);
    const errs: NetError[] = [];
    p.b.net
      .createServer()
      .on('error', (e: NetError) => errs.push(e))
      .listen(80);
    p.b.net
      .createServer()
      .on('error', (e: NetError) => errs.push(e))
      .listen(90, '192.0.2.9');
    await runUntil(p, () => errs.length === 2);
    expect({ ...errs[0]!, message: errs[0]!.message }).toMatchObject({
      code: 'EADDRINUSE',
      errno: -98,
      syscall: 'listen',
      address: '0.0.0.0',
      port: 80,
      message: 'listen EADDRINUSE 0.0.0.0:80',
    });
    expect(errs[1]).toMatchObject({ code: 'EADDRNOTAVAIL', errno: -99, syscall: 'listen', port: 90 });
  });

  it('close() when not listening: ERR_SERVER_NOT_RUNNING to the callback', async () => {
    const p = makePair();
    let code = '';
    p.b.net.createServer().close((e) => (code = (e as NetError).code));
    await runUntil(p, () => code !== '');
    expect(code).toBe('ERR_SERVER_NOT_RUNNING');
  });
});

describe('net.Socket close, errors and destroy()', () => {
  it("ECONNREFUSED: errno -111, syscall connect, address and port; 'close' has hadError true", async () => {
    const p = makePair();
    const ev: unknown[] = [];
    const c = p.a.net.connect(4444, '10.0.0.2');
    c.on('error', (e: NetError) =>
      ev.push(['error', e.code, e.errno, e.syscall, e.address, e.port, e.message]),
    );
    c.on('close', (hadError: boolean) => ev.push(['close', hadError]));
    await runUntil(p, () => ev.length === 2);
    expect(ev).toEqual([
      ['error', 'ECONNREFUSED', -111, 'connect', '10.0.0.2', 4444, 'connect ECONNREFUSED 10.0.0.2:4444'],
      ['close', true],
    ]);
  });

  it("an orderly end gives 'close' with hadError false", async () => {
    const p = makePair();
    p.b.net.createServer((s) => s.end()).listen(80);
    const ev: unknown[] = [];
    const c = p.a.net.connect(80, '10.0.0.2');
    c.on('data', () => {});
    c.on('end', () => ev.push('end'));
    c.on('close', (h: boolean) => ev.push(['close', h]));
    await runUntil(p, () => ev.length === 2);
    expect(ev).toEqual(['end', ['close', false]]);
  });

  it('destroy() on an idle connection sends FIN, not RST (node = close(2)); the peer sees end', async () => {
    const p = makePair();
    let peer: Socket | null = null;
    const ev: string[] = [];
    p.b.net
      .createServer((s) => {
        peer = s;
        s.on('data', () => {});
        s.on('end', () => ev.push('end'));
        s.on('error', (e: NetError) => ev.push(e.code));
        s.on('close', (h: boolean) => ev.push(`close ${h}`));
      })
      .listen(80);
    const c = p.a.net.connect(80, '10.0.0.2');
    await runUntil(p, () => peer !== null && !c.connecting);
    c.destroy();
    await runUntil(p, () => ev.length === 2);
    expect(ev).toEqual(['end', 'close false']);
    expect(p.a.tcp.counters.outRsts).toBe(0);
  });

  it('destroy() with unread received data sends RST, as Linux tcp_close; the peer gets ECONNRESET (read)', async () => {
    const p = makePair();
    let peer: Socket | null = null;
    const ev: unknown[] = [];
    p.b.net
      .createServer((s) => {
        peer = s;
        s.on('error', (e: NetError) => ev.push([e.code, e.syscall, e.errno]));
        s.on('close', (h: boolean) => ev.push(['close', h]));
      })
      .listen(80);
    const c = p.a.net.connect(80, '10.0.0.2');
    c.pause();
    await runUntil(p, () => peer !== null && !c.connecting);
    peer!.write('unread');
    await runUntil(p, () => c.tcb!.rcv.readable === 6);
    c.destroy();
    await runUntil(p, () => ev.length === 2);
    expect(ev).toEqual([
      ['ECONNRESET', 'read', -104],
      ['close', true],
    ]);
    expect(p.a.tcp.counters.outRsts).toBe(1);
  });
});

describe('loopback', () => {
  it('connects to its own address and to 127.0.0.1 without touching the NIC', async () => {
    const p = makePair();
    const got: string[] = [];
    p.a.net.createServer((s) => s.pipe(s)).listen(7);
    for (const host of ['10.0.0.1', '127.0.0.1']) {
      const c = p.a.net.connect(7, host, () => c.end(`hi ${host}`));
      let d = '';
      c.on('data', (b: Buffer) => (d += b.toString()));
      c.on('close', () => got.push(d));
    }
    const frames = p.la.sent;
    await runUntil(p, () => got.length === 2);
    expect(got.sort()).toEqual(['hi 10.0.0.1', 'hi 127.0.0.1']);
    expect(p.la.sent).toBe(frames);
    expect(await p.a.ping('10.0.0.1')).toBeGreaterThanOrEqual(0);
  });

  it('drops 127/8 arriving from the wire (a martian, as Linux)', async () => {
    const p = makePair();
    const got: string[] = [];
    p.a.net
      .createSocket()
      .bind(9)
      .on('message', (m: Buffer) => got.push(m.toString()));
    const before = p.a.counters.ipInAddrErrors;
    for (const [src, dst] of [
      [
        [10, 0, 0, 2],
        [127, 0, 0, 1],
      ],
      [
        [127, 0, 0, 1],
        [10, 0, 0, 1],
      ],
    ]) {
      const f = new Uint8Array(34 + 9);
      f.set(p.a.netif.mac, 0);
      f.set(p.b.netif.mac, 6);
      f[12] = 8;
      f.set([0x45, 0, 0, 29, 0, 0, 0, 0, 64, 17, 0, 0, ...src!, ...dst!], 14);
      const v = csumFinish(csumPartial(f, 14, 20));
      f[24] = v >> 8;
      f[25] = v & 0xff;
      f.set([0, 9, 0, 9, 0, 9, 0, 0, 0x78], 34); // UDP 9 → 9, no checksum, 'x'
      inject(p.a, f);
    }
    expect(p.a.counters.ipInAddrErrors - before).toBe(2);
    expect(got).toEqual([]);
    // The same datagram from our own stack over the loopback is delivered.
    p.a.net.createSocket().send('x', 9, '127.0.0.1');
    await runUntil(p, () => got.length === 1);
  });

  it('ping of a name rejects instead of throwing', async () => {
    const p = makePair();
    let r: Promise<number> | null = null;
    expect(() => (r = p.a.ping('example.com'))).not.toThrow();
    await expect(r).rejects.toBeInstanceOf(Error);
  });
});

describe('dgram', () => {
  function recv(s: UdpSocket): string[] {
    const got: string[] = [];
    s.on('message', (m: Buffer, r: { address: string; port: number }) =>
      got.push(`${m.toString()} ${r.port}`),
    );
    return got;
  }

  it('send overloads: (msg, port, addr), (msg, offset, length, port, addr, cb), arrays, connect()', async () => {
    const p = makePair();
    const b = p.b.net.createSocket('udp4').bind(5000);
    const got = recv(b);
    const a = p.a.net.createSocket('udp4').bind(6000);
    const bytes: number[] = [];
    a.send('one', 5000, '10.0.0.2');
    a.send(Buffer.from('xxtwoxx'), 2, 3, 5000, '10.0.0.2', (e, n) => bytes.push(e === null ? n! : -1));
    a.send(['thr', Buffer.from('ee')], 5000, '10.0.0.2');
    await runUntil(p, () => got.length === 3);
    expect(got).toEqual(['one 6000', 'two 6000', 'three 6000']);
    expect(bytes).toEqual([3]);
    expect(() => a.remoteAddress()).toThrow(
      expect.objectContaining({ code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' }),
    );
    let connected = false;
    a.connect(5000, '10.0.0.2', () => (connected = true));
    await runUntil(p, () => connected);
    expect(a.remoteAddress()).toEqual({ address: '10.0.0.2', family: 'IPv4', port: 5000 });
    expect(() => a.send('x', 0, 1, 5000)).toThrow(
      expect.objectContaining({ code: 'ERR_SOCKET_DGRAM_IS_CONNECTED' }),
    );
    a.send('four');
    a.send(Buffer.from('-five-'), 1, 4);
    // node's quirk, kept: (msg, port, address) when connected goes to the peer.
    a.send('six', 5001, '10.0.0.3');
    await runUntil(p, () => got.length === 6);
    expect(got.slice(3)).toEqual(['four 6000', 'five 6000', 'six 6000']);
    // A connected socket takes datagrams from its peer only.
    const a2 = recv(a);
    p.b.net.createSocket().send('stranger', 6000, '10.0.0.1');
    b.send('peer', 6000, '10.0.0.1');
    await runUntil(p, () => a2.length === 1);
    expect(a2).toEqual(['peer 5000']);
    a.disconnect();
    expect(() => a.disconnect()).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' }));
  });

  it('EMSGSIZE over 65507 bytes, EACCES to broadcast without setBroadcast, both with syscall send', async () => {
    const p = makePair();
    const a = p.a.net.createSocket();
    expect(() => a.setBroadcast(true)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    const errs: NetError[] = [];
    a.send(Buffer.alloc(65508), 9, '10.0.0.2', (e) => errs.push(e as NetError));
    a.send('b', 9, '10.0.0.255', (e) => errs.push(e as NetError));
    await runUntil(p, () => errs.length === 2);
    expect(errs[0]).toMatchObject({
      code: 'EMSGSIZE',
      errno: -90,
      syscall: 'send',
      address: '10.0.0.2',
      port: 9,
    });
    expect(errs[1]).toMatchObject({ code: 'EACCES', errno: -13, syscall: 'send' });
    a.setBroadcast(true);
    let ok: Error | null | undefined;
    a.send('b', 9, '10.0.0.255', (e) => (ok = e));
    await runUntil(p, () => ok !== undefined);
    expect(ok).toBeNull();
  });

  it("address() is the bound one ('0.0.0.0' / '::'), as node", async () => {
    const p = makePair();
    const a = p.a.net.createSocket('udp4').bind(7000);
    const b = p.a.net.createSocket('udp6').bind({ port: 7001 });
    expect(a.address()).toEqual({ address: '0.0.0.0', family: 'IPv4', port: 7000 });
    expect(b.address()).toEqual({ address: '::', family: 'IPv6', port: 7001 });
    expect(() => p.a.net.createSocket().address()).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});

describe('process refs', () => {
  it('open servers and sockets hold the stack ref; unref() and close release it', async () => {
    const p = makePair();
    const srv = p.b.net.createServer((s) => s.resume()).listen(80);
    expect(p.b.refCount).toBe(1);
    srv.unref();
    expect(p.b.refCount).toBe(0);
    srv.ref();
    expect(p.b.refCount).toBe(1);
    const c = p.a.net.connect(80, '10.0.0.2');
    expect(p.a.refCount).toBe(1);
    c.unref();
    expect(p.a.refCount).toBe(0);
    c.ref();
    let closed = false;
    c.resume();
    c.on('connect', () => c.end());
    c.on('close', () => (closed = true));
    await runUntil(p, () => closed);
    expect(p.a.refCount).toBe(0);
    srv.close();
    expect(p.b.refCount).toBe(0);
    const u = p.a.net.createSocket().bind();
    expect(p.a.refCount).toBe(1);
    u.close();
    expect(p.a.refCount).toBe(0);
  });
});
