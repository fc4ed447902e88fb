// Scenario scripts for the node:net / node:dgram differential test. Each script drives one
// environment through the common surface below and records, per actor, the ordered events it saw:
// event names, 'close' hadError, error code/errno/syscall/address/port, byte counts and what
// address() returned. Addresses are replaced by symbols (H4, H6, the wildcard as itself) so that
// the kernel loopback (127.0.0.1, ::1) and the VALE run (10.0.0.x, 2001:db8::x) compare equal.
import type { EventEmitter } from 'node:events';

/* eslint-disable @typescript-eslint/no-explicit-any -- one script drives node's types and ours */
export type AnySocket = any;
export type AnyServer = any;
export type AnyUdp = any;

export interface Env {
  name: 'node' | 'ptnet';
  /** The server side's net / dgram. */
  server: { createServer(...a: any[]): AnyServer; createSocket(type: 'udp4' | 'udp6'): AnyUdp };
  /** The client side's net / dgram (another guest for ptnet; the same kernel for node). */
  client: { connect(...a: any[]): AnySocket; createSocket(type: 'udp4' | 'udp6'): AnyUdp };
  /** The server side's own net, to connect to itself (loopback). */
  self: { connect(...a: any[]): AnySocket };
  /** The server side's IPv4 and IPv6 addresses as the client reaches them. */
  host4: string;
  host6: string;
  /** Another address of the server's own host, not the one host4 names (loopback). */
  otherOwn: string;
  /** An on-link address nobody answers for: a connect there stays pending. */
  blackhole: string;
  /** env address → symbol. */
  names: Record<string, string>;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

export type Trace = Record<string, unknown[]>;

export interface Ctx {
  env: Env;
  trace: Trace;
  ev(actor: string, ...what: unknown[]): void;
  err(actor: string, e: unknown): void;
  addr(a: unknown): unknown;
  sock(actor: string, s: EventEmitter, opts?: { data?: boolean }): void;
  until(cond: () => boolean, ms?: number): Promise<void>;
  sleep(ms: number): Promise<void>;
}

export function makeCtx(env: Env): Ctx {
  const trace: Trace = {};
  const ctx: Ctx = {
    env,
    trace,
    ev(actor, ...what) {
      (trace[actor] ??= []).push(what.length === 1 ? what[0] : what);
    },
    err(actor, e) {
      const x = e as { code?: string; errno?: number; syscall?: string; address?: string; port?: number };
      ctx.ev(actor, 'error', {
        code: x.code,
        errno: x.errno,
        syscall: x.syscall,
        address: x.address === undefined ? undefined : (env.names[x.address] ?? x.address),
        port: x.port === undefined ? undefined : 'P',
      });
    },
    addr(a) {
      if (a === null || typeof a !== 'object') return a;
      const o = a as { address: string; family: string; port: number };
      return {
        address: env.names[o.address] ?? o.address,
        family: o.family,
        port: o.port > 0 ? 'P' : o.port,
      };
    },
    sock(actor, s, opts = {}) {
      let bytes = 0;
      s.on('connect', () => ctx.ev(actor, 'connect'));
      if (opts.data !== false)
        s.on('data', (b: Buffer) => {
          bytes += b.length;
        });
      s.on('end', () => ctx.ev(actor, 'end', bytes));
      s.on('timeout', () => ctx.ev(actor, 'timeout'));
      s.on('error', (e: unknown) => ctx.err(actor, e));
      s.on('close', (h: boolean) => ctx.ev(actor, 'close', h));
    },
    async until(cond, ms = 5000) {
      const t0 = Date.now();
      while (!cond()) {
        if (Date.now() - t0 > ms) throw new Error(`${env.name}: condition not met in ${ms} ms`);
        await ctx.sleep(5);
      }
    },
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
  return ctx;
}

const closed = (c: Ctx, actor: string): boolean =>
  (c.trace[actor] ?? []).some((e) => Array.isArray(e) && e[0] === 'close');

/** A listening server on port 0; resolves with it and its port. */
async function serve(
  c: Ctx,
  onConn: (s: AnySocketLike) => void,
  opts?: object,
): Promise<[AnyServerLike, number]> {
  const srv = c.env.server.createServer(opts ?? {}, onConn);
  await new Promise<void>((r) => srv.listen(0, c.env.host4, () => r()));
  return [srv, srv.address().port as number];
}
type AnySocketLike = ReturnType<Env['client']['connect']>;
type AnyServerLike = ReturnType<Env['server']['createServer']>;

export const SCENARIOS: Record<string, (c: Ctx) => Promise<void>> = {
  async connect(c) {
    const [srv, port] = await serve(c, (s) => {
      c.ev('server', 'connection');
      c.sock('server', s);
      s.on('end', () => s.end('bye'));
    });
    const s = c.env.client.connect(port, c.env.host4);
    c.sock('client', s);
    s.on('ready', () => c.ev('client', 'ready'));
    s.on('connect', () => {
      c.ev(
        'client',
        'remote',
        c.addr({ address: s.remoteAddress, family: s.remoteFamily, port: s.remotePort }),
      );
      s.end('hello');
    });
    await c.until(() => closed(c, 'client') && closed(c, 'server'));
    c.ev('client', 'bytesWritten', s.bytesWritten, 'bytesRead', s.bytesRead);
    srv.close();
  },

  async 'connect over IPv6'(c) {
    const srv = c.env.server.createServer((s: AnySocketLike) => {
      c.ev('server', 'connection', s.remoteFamily, c.addr(s.address()));
      c.sock('server', s);
    });
    await new Promise<void>((r) => srv.listen(0, c.env.host6, () => r()));
    const s = c.env.client.connect(srv.address().port, c.env.host6);
    c.sock('client', s);
    s.on('connect', () => {
      c.ev(
        'client',
        'remote',
        c.addr({ address: s.remoteAddress, family: s.remoteFamily, port: s.remotePort }),
      );
      s.end('six');
    });
    await c.until(() => closed(c, 'client') && closed(c, 'server'));
    srv.close();
  },

  async 'connect to localhost (default host)'(c) {
    const srv = c.env.server.createServer((s: AnySocketLike) => c.sock('server', s));
    await new Promise<void>((r) => srv.listen(0, () => r()));
    const s = c.env.self.connect(srv.address().port);
    let looked = '';
    s.on('lookup', (e: unknown, address: string, family: unknown, host: string) => {
      looked = address;
      c.ev('client', 'lookup', e, family, host);
    });
    c.sock('client', s);
    s.on('connect', () => {
      c.ev('client', 'remoteAddress is the looked-up one', s.remoteAddress === looked, s.remoteFamily);
      s.end();
    });
    await c.until(() => closed(c, 'client') && closed(c, 'server'));
    srv.close();
  },

  async 'onread into one buffer, paused once by the callback'(c) {
    const data = Buffer.alloc(300_000, 7);
    const [srv, port] = await serve(c, (s) => {
      c.sock('server', s);
      s.end(data);
    });
    const buf = Buffer.alloc(4096);
    let got = 0;
    let sameBuffer = true;
    let whilePaused = 0;
    let paused = false;
    let pausedOnce = false;
    const s = c.env.client.connect({
      port,
      host: c.env.host4,
      onread: {
        buffer: buf,
        callback: (n: number, b: Uint8Array): boolean => {
          if (paused) whilePaused++;
          sameBuffer &&= b === buf;
          got += n;
          if (pausedOnce || got < 50_000) return true;
          pausedOnce = true;
          paused = true;
          setTimeout(() => {
            c.ev('client', 'isPaused', s.isPaused());
            paused = false;
            s.resume();
          }, 50);
          return false;
        },
      },
    });
    // 'data' listened to: with onread it is never emitted (the 'end' event reports 0 bytes).
    c.sock('client', s);
    await c.until(() => closed(c, 'client') && closed(c, 'server'));
    c.ev('client', 'onread bytes', got, 'same buffer', sameBuffer, 'calls while paused', whilePaused);
    c.ev('client', 'bytesRead', s.bytesRead);
    srv.close();
  },

  async 'onread of another shape is ignored'(c) {
    const [srv, port] = await serve(c, (s) => {
      c.sock('server', s);
      s.end('x'.repeat(1000));
    });
    const s = c.env.client.connect({
      port,
      host: c.env.host4,
      onread: { buffer: 'not a buffer', callback: () => true },
    });
    c.sock('client', s);
    await c.until(() => closed(c, 'client') && closed(c, 'server'));
    srv.close();
  },

  async refused(c) {
    const [srv, port] = await serve(c, () => {});
    await new Promise((r) => srv.close(r));
    const s = c.env.client.connect(port, c.env.host4);
    c.sock('client', s);
    await c.until(() => closed(c, 'client'));
  },

  async 'connect timeout'(c) {
    const s = c.env.client.connect(80, c.env.blackhole);
    c.sock('client', s);
    s.setTimeout(150, () => {
      c.ev('client', 'connecting', s.connecting);
      s.destroy();
    });
    await c.until(() => closed(c, 'client'));
  },

  async 'half-close'(c) {
    const [srv, port] = await serve(
      c,
      (s) => {
        c.sock('server', s);
        s.on('end', () => {
          c.ev('server', 'writable after end', s.writable);
          s.end('late reply');
        });
      },
      { allowHalfOpen: true },
    );
    const s = c.env.client.connect({ port, host: c.env.host4, allowHalfOpen: true });
    c.sock('client', s);
    s.on('connect', () => s.end('request'));
    s.on('finish', () => c.ev('client', 'finish'));
    await c.until(() => closed(c, 'client') && closed(c, 'server'));
    srv.close();
  },

  async 'destroy idle'(c) {
    const [srv, port] = await serve(c, (s) => c.sock('server', s));
    const s = c.env.client.connect(port, c.env.host4);
    c.sock('client', s);
    s.on('connect', () => setTimeout(() => s.destroy(), 50));
    await c.until(() => closed(c, 'client') && closed(c, 'server'));
    srv.close();
  },

  async 'destroy with unread data'(c) {
    const [srv, port] = await serve(c, (s) => {
      c.sock('server', s);
      s.write(Buffer.alloc(1000, 1));
    });
    const s = c.env.client.connect(port, c.env.host4);
    c.sock('client', s, { data: false });
    s.pause();
    s.on('connect', () => setTimeout(() => s.destroy(), 200));
    await c.until(() => closed(c, 'client') && closed(c, 'server'));
    srv.close();
  },

  async resetAndDestroy(c) {
    const [srv, port] = await serve(c, (s) => c.sock('server', s));
    const s = c.env.client.connect(port, c.env.host4);
    c.sock('client', s);
    s.on('connect', () => setTimeout(() => s.resetAndDestroy(), 50));
    await c.until(() => closed(c, 'client') && closed(c, 'server'));
    srv.close();
  },

  async setTimeout(c) {
    const [srv, port] = await serve(c, (s) => c.sock('server', s));
    const s = c.env.client.connect(port, c.env.host4);
    c.sock('client', s);
    c.ev('client', 'setTimeout returns socket', s.setTimeout(100) === s);
    s.on('timeout', () => {
      c.ev('client', 'timeout fired once');
      setTimeout(() => s.end(), 250);
    });
    await c.until(() => closed(c, 'client') && closed(c, 'server'));
    srv.close();
  },

  async keepalive(c) {
    const [srv, port] = await serve(c, (s) => c.sock('server', s));
    const s = c.env.client.connect(port, c.env.host4);
    c.sock('client', s);
    s.on('connect', () => {
      c.ev('client', 'setKeepAlive returns socket', s.setKeepAlive(true, 1000) === s);
      c.ev('client', 'setNoDelay returns socket', s.setNoDelay(true) === s);
      s.end();
    });
    await c.until(() => closed(c, 'client') && closed(c, 'server'));
    srv.close();
  },

  async backpressure(c) {
    let peer: AnySocketLike = null;
    let got = 0;
    const [srv, port] = await serve(c, (s) => {
      peer = s;
      s.pause();
      s.on('data', (b: Buffer) => (got += b.length));
    });
    const s = c.env.client.connect(port, c.env.host4);
    c.sock('client', s);
    let sent = 0;
    const chunk = Buffer.alloc(64 * 1024, 7);
    await new Promise<void>((r) => s.on('connect', () => r()));
    let ok = true;
    while (ok && sent < 64 * 1024 * 1024) {
      ok = s.write(chunk);
      sent += chunk.length;
    }
    c.ev('client', 'write returned', ok);
    s.once('drain', () => {
      c.ev('client', 'drain');
      s.end();
    });
    await c.sleep(100);
    peer.resume();
    peer.on('end', () => peer.end());
    await c.until(() => closed(c, 'client'));
    c.ev('server', 'received all', got === sent);
    srv.close();
  },

  async 'server.close with open connections'(c) {
    let conn: AnySocketLike = null;
    const [srv, port] = await serve(c, (s) => {
      conn = s;
      c.sock('server conn', s);
    });
    srv.on('close', () => c.ev('server', 'close'));
    const s = c.env.client.connect(port, c.env.host4);
    c.sock('client', s);
    await c.until(() => conn !== null);
    srv.close(() => c.ev('server', 'close callback'));
    c.ev('server', 'listening after close()', srv.listening, c.addr(srv.address()));
    await c.sleep(50);
    c.ev('server', 'still open');
    const late = c.env.client.connect(port, c.env.host4);
    c.sock('late client', late);
    await c.until(() => closed(c, 'late client'));
    s.end();
    await c.until(() => (c.trace['server'] ?? []).includes('close callback'));
  },

  async 'listen overloads'(c) {
    const cases: [string, (s: AnyServerLike, cb: () => void) => void][] = [
      ['listen(cb)', (s, cb) => s.listen(cb)],
      ['listen(0, cb)', (s, cb) => s.listen(0, cb)],
      ['listen(0, host4, cb)', (s, cb) => s.listen(0, c.env.host4, cb)],
      ['listen(0, host4, 8, cb)', (s, cb) => s.listen(0, c.env.host4, 8, cb)],
      ['listen(0, 8, cb)', (s, cb) => s.listen(0, 8, cb)],
      ["listen(0, '0.0.0.0', cb)", (s, cb) => s.listen(0, '0.0.0.0', cb)],
      ["listen(0, '::', cb)", (s, cb) => s.listen(0, '::', cb)],
      ['listen(0, host6, cb)', (s, cb) => s.listen(0, c.env.host6, cb)],
      ['listen({port: 0}, cb)', (s, cb) => s.listen({ port: 0 }, cb)],
      [
        'listen({port, host: host4, backlog}, cb)',
        (s, cb) => s.listen({ port: 0, host: c.env.host4, backlog: 4 }, cb),
      ],
      ['listen({port, host: host6}, cb)', (s, cb) => s.listen({ port: 0, host: c.env.host6 }, cb)],
      [
        'listen({port, host: "::", ipv6Only}, cb)',
        (s, cb) => s.listen({ port: 0, host: '::', ipv6Only: true }, cb),
      ],
    ];
    for (const [name, f] of cases) {
      const s = c.env.server.createServer();
      c.ev('server', name, 'before', c.addr(s.address()), s.listening);
      await new Promise<void>((r) => f(s, r));
      c.ev('server', name, c.addr(s.address()), s.listening);
      await new Promise((r) => s.close(r));
    }
    // A fixed port, then the same port again: EADDRINUSE with syscall listen, address and port.
    const a = c.env.server.createServer();
    await new Promise<void>((r) => a.listen(0, c.env.host4, r));
    const port = a.address().port as number;
    const b = c.env.server.createServer();
    b.on('error', (e: unknown) => c.err('server', e));
    b.listen(port, c.env.host4);
    await c.until(() => (c.trace['server'] ?? []).some((e) => Array.isArray(e) && e[0] === 'error'));
    await new Promise((r) => a.close(r));
    let code = '';
    c.env.server.createServer().close((e: { code: string }) => (code = e.code));
    await c.until(() => code !== '');
    c.ev('server', 'close when not listening', code);
  },

  async 'loopback to own address'(c) {
    const [srv, port] = await serve(c, (s) => {
      c.sock('server', s);
      s.pipe(s);
    });
    const s = c.env.self.connect(port, c.env.host4);
    c.sock('client', s);
    s.on('connect', () => s.end('ping'));
    await c.until(() => closed(c, 'client') && closed(c, 'server'));
    srv.close();
  },

  async 'loopback to own address over IPv6'(c) {
    const srv = c.env.server.createServer((s: AnySocketLike) => {
      c.sock('server', s);
      s.pipe(s);
    });
    await new Promise<void>((r) => srv.listen(0, c.env.host6, () => r()));
    const s = c.env.self.connect(srv.address().port, c.env.host6);
    c.sock('client', s);
    s.on('connect', () => s.end('ping6'));
    await c.until(() => closed(c, 'client') && closed(c, 'server'), 2000);
    srv.close();
  },

  async 'listen on one address, connect to another'(c) {
    const [srv, port] = await serve(c, (s) => s.destroy());
    const s = c.env.self.connect(port, c.env.otherOwn);
    c.sock('client', s);
    s.on('connect', () => s.destroy());
    await c.until(() => closed(c, 'client'));
    srv.close();
  },

  async 'dgram send overloads'(c) {
    const rx = c.env.server.createSocket('udp4');
    rx.on('message', (m: Buffer, r: { address: string; family: string; port: number; size: number }) =>
      c.ev('rx', 'message', m.toString(), c.addr(r), r.size),
    );
    await new Promise<void>((r) => rx.bind(0, () => r()));
    c.ev('rx', 'address', c.addr(rx.address()));
    const port = rx.address().port as number;
    const tx = c.env.client.createSocket('udp4');
    tx.on('listening', () => c.ev('tx', 'listening'));
    const cb = (name: string) => (e: unknown, n?: number) => c.ev('tx', name, e === null ? n : 'error');
    tx.send('one', port, c.env.host4, cb('send(msg, port, addr, cb)'));
    await c.sleep(20);
    tx.send(Buffer.from('xxtwoxx'), 2, 3, port, c.env.host4, cb('send(buf, off, len, port, addr, cb)'));
    await c.sleep(20);
    tx.send(['thr', Buffer.from('ee')], port, c.env.host4, cb('send([a, b], port, addr, cb)'));
    await c.sleep(20);
    tx.send(Buffer.from('four'), 0, 4, port, c.env.host4);
    await c.until(() => (c.trace['rx'] ?? []).length === 5);
    tx.close(() => c.ev('tx', 'close'));
    rx.close();
    await c.until(() => (c.trace['tx'] ?? []).includes('close'));
  },

  async 'dgram over IPv6'(c) {
    const rx = c.env.server.createSocket('udp6');
    rx.on('message', (m: Buffer, r: { address: string; family: string; port: number; size: number }) =>
      c.ev('rx', 'message', m.toString(), c.addr(r), r.size),
    );
    await new Promise<void>((r) => rx.bind(0, () => r()));
    c.ev('rx', 'address', c.addr(rx.address()));
    const tx = c.env.client.createSocket('udp6');
    let n: unknown;
    tx.send('six', rx.address().port, c.env.host6, (e: unknown, b: number) => (n = e === null ? b : e));
    await c.until(() => (c.trace['rx'] ?? []).length === 2 && n !== undefined);
    c.ev('tx', 'sent', n, c.addr(tx.address()));
    tx.close();
    rx.close();
  },

  async 'dgram connect'(c) {
    const rx = c.env.server.createSocket('udp4');
    rx.on('message', (m: Buffer) => c.ev('rx', 'message', m.toString()));
    await new Promise<void>((r) => rx.bind(0, () => r()));
    const port = rx.address().port as number;
    const tx = c.env.client.createSocket('udp4');
    const tryIt = (name: string, f: () => unknown): void => {
      try {
        const v = f();
        c.ev('tx', name, c.addr(v ?? null));
      } catch (e) {
        c.ev('tx', name, 'throws', (e as { code?: string }).code);
      }
    };
    tryIt('remoteAddress before connect', () => tx.remoteAddress());
    tryIt('disconnect before connect', () => tx.disconnect());
    tx.on('listening', () => c.ev('tx', 'listening'));
    await new Promise<void>((r) => tx.connect(port, c.env.host4, () => r()));
    c.ev('tx', 'connected');
    tryIt('remoteAddress', () => tx.remoteAddress());
    tryIt('connect again', () => tx.connect(port, c.env.host4));
    // node's quirk: (msg, port, address) on a connected socket takes the port for a callback and
    // sends to the peer; (msg, offset, length, port) throws.
    tryIt('send(msg, port, addr) when connected', () => tx.send('x', port, c.env.host4));
    tryIt('send(msg, 0, 1, port) when connected', () => tx.send('y', 0, 1, port));
    await c.until(() => (c.trace['rx'] ?? []).length === 1);
    tx.send('connected send', (e: unknown, n: number) => c.ev('tx', 'sent', e, n));
    await c.until(() => (c.trace['rx'] ?? []).length === 2);
    tx.send(Buffer.from('__sub__'), 2, 3);
    await c.until(() => (c.trace['rx'] ?? []).length === 3);
    tryIt('disconnect', () => tx.disconnect());
    tryIt('remoteAddress after disconnect', () => tx.remoteAddress());
    tx.close();
    rx.close();
  },

  async 'dgram bind, address, broadcast'(c) {
    const u = c.env.server.createSocket('udp4');
    const tryIt = (name: string, f: () => unknown): void => {
      try {
        c.ev('u', name, c.addr(f() ?? null));
      } catch (e) {
        const x = e as { code?: string; errno?: number; syscall?: string };
        c.ev('u', name, 'throws', x.code, x.errno, x.syscall);
      }
    };
    tryIt('address before bind', () => u.address());
    tryIt('setBroadcast before bind', () => u.setBroadcast(true));
    u.on('listening', () => c.ev('u', 'listening'));
    await new Promise<void>((r) => u.bind(0, () => r()));
    tryIt('address', () => u.address());
    const v = c.env.server.createSocket('udp4');
    v.on('error', (e: unknown) => c.err('v', e));
    v.bind(u.address().port);
    await c.until(() => (c.trace['v'] ?? []).length === 1);
    let err: unknown;
    u.send('b', 9, '255.255.255.255', (e: unknown) => (err = e));
    await c.until(() => err !== undefined);
    c.err('u', err);
    u.close(() => c.ev('u', 'close'));
    tryIt('close twice', () => u.close());
    await c.until(() => (c.trace['u'] ?? []).includes('close'));
  },

  async 'dgram EMSGSIZE'(c) {
    const tx = c.env.client.createSocket('udp4');
    let done = false;
    tx.send(Buffer.alloc(65508), 9, c.env.host4, (e: unknown) => {
      c.err('tx', e);
      done = true;
    });
    await c.until(() => done);
    let ok: unknown;
    tx.send(Buffer.alloc(65507), 9, c.env.host4, (e: unknown, n: number) => (ok = e === null ? n : 'error'));
    await c.until(() => ok !== undefined);
    c.ev('tx', 'largest datagram', ok);
    tx.close();
  },
};
