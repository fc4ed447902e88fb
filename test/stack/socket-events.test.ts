// User code runs outside the datapath: every socket event a received frame raises is queued and
// delivered once the layers that raised it have returned (docs/ARCHITECTURE.md §"The RX walk").
// A handler that writes, destroys or closes inside any event must therefore never find a
// protocol layer (Tcb.input, Tcp.input, the IP layers, UDP input) below it on the call stack, and
// whatever it does must take effect. Each case checks both, on two stacks joined in memory.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket, Stack } from '../../src/stack/index.ts';
import { makePair, runUntil, type Pair } from './harness.ts';

/** Protocol-layer frames that must not be below a user handler. */
const LAYER_FRAMES =
  /\b(Tcb\.input\w*|Tcp\.input|Ipv4Layer\.input|Ipv6Layer\.input|UdpLayer\.input|Link\.ethInput)\b/;

let savedLimit = 10;
beforeAll(() => {
  savedLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 200;
});
afterAll(() => {
  Error.stackTraceLimit = savedLimit;
});

/** The protocol layers on the current call stack ('' when none). */
function layersBelow(): string {
  const m = LAYER_FRAMES.exec(new Error().stack ?? '');
  return m === null ? '' : m[1]!;
}

type Action = 'write' | 'destroy' | 'end';
const ACTIONS: Action[] = ['write', 'destroy', 'end'];

function act(s: Socket, a: Action): void {
  if (a === 'write') s.write('reply');
  else if (a === 'destroy') s.destroy();
  else s.end('bye');
}

/** What the peer must see after `a` on the other side. */
async function expectEffect(
  p: Pair,
  peer: Socket,
  a: Action,
  got: () => string,
  closed: () => boolean,
): Promise<void> {
  if (a === 'write') {
    await runUntil(p, () => got().includes('reply'));
  } else if (a === 'end') {
    await runUntil(p, () => got().includes('bye') && closed());
  } else {
    await runUntil(p, () => closed());
  }
  expect(peer.destroyed || a === 'write').toBe(true);
}

function noExceptions(...stacks: Stack[]): void {
  for (const s of stacks) expect(s.counters.rxExceptions).toBe(0);
}

/** A client on a, a server on b; returns both ends once connected, the peer's reads collected. */
async function connected(p: Pair): Promise<{ client: Socket; server: Socket }> {
  let server: Socket | null = null;
  p.b.net.createServer((s) => (server = s)).listen(80);
  const client = p.a.net.connect({ host: '10.0.0.2', port: 80 });
  await runUntil(p, () => server !== null && !client.connecting);
  return { client, server: server! };
}

function collect(s: Socket): { text: () => string; closed: () => boolean } {
  let text = '';
  let closed = false;
  s.on('data', (b: Buffer) => (text += b.toString()));
  s.on('error', () => {});
  s.on('close', () => (closed = true));
  return { text: () => text, closed: () => closed };
}

describe('socket events are delivered outside the datapath', () => {
  for (const a of ACTIONS) {
    it(`'connection' handler that does ${a}`, async () => {
      const p = makePair();
      let below = 'not run';
      p.b.net
        .createServer((s) => {
          below = layersBelow();
          s.on('error', () => {});
          act(s, a);
        })
        .listen(80);
      const c = p.a.net.connect({ host: '10.0.0.2', port: 80 });
      const seen = collect(c);
      await expectEffect(p, c, a, seen.text, seen.closed);
      expect(below).toBe('');
      noExceptions(p.a, p.b);
    });

    it(`'connect' handler that does ${a}`, async () => {
      const p = makePair();
      let server: Socket | null = null;
      p.b.net.createServer((s) => (server = s)).listen(80);
      const c = p.a.net.connect({ host: '10.0.0.2', port: 80 });
      c.on('error', () => {});
      let below = 'not run';
      c.on('connect', () => {
        below = layersBelow();
        act(c, a);
      });
      await runUntil(p, () => server !== null);
      const seen = collect(server!);
      await expectEffect(p, server!, a, seen.text, seen.closed);
      expect(below).toBe('');
      noExceptions(p.a, p.b);
    });

    it(`'data' handler that does ${a}`, async () => {
      const p = makePair();
      const { client, server } = await connected(p);
      let below = 'not run';
      server.on('error', () => {});
      server.once('data', () => {
        below = layersBelow();
        act(server, a);
      });
      const seen = collect(client);
      client.write('hello');
      await expectEffect(p, client, a, seen.text, seen.closed);
      expect(below).toBe('');
      noExceptions(p.a, p.b);
    });

    it(`'end' handler that does ${a}`, async () => {
      const p = makePair();
      const { client, server } = await connected(p);
      let below = 'not run';
      server.on('error', () => {});
      server.on('data', () => {});
      server.on('end', () => {
        below = layersBelow();
        // After 'end' a write is allowed on a half-open socket only with allowHalfOpen; node's
        // default ends the socket, so the write case is an end with data here.
        act(server, a === 'write' ? 'end' : a);
      });
      const seen = collect(client);
      client.end();
      await runUntil(p, () => seen.closed());
      expect(below).toBe('');
      noExceptions(p.a, p.b);
    });

    it(`'drain' handler that does ${a}`, async () => {
      const p = makePair();
      const { client, server } = await connected(p);
      const seen = collect(server);
      client.on('error', () => {});
      let below = 'not run';
      // Fill the send buffer until write() says to wait; 'drain' comes as ACKs free space.
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      while (client.write(chunk));
      client.once('drain', () => {
        below = layersBelow();
        act(client, a);
      });
      if (a === 'write') await runUntil(p, () => seen.text().includes('reply'));
      else if (a === 'end') await runUntil(p, () => seen.text().endsWith('bye'));
      else await runUntil(p, () => seen.closed());
      expect(below).toBe('');
      noExceptions(p.a, p.b);
    });
  }

  it("a 'close' handler that connects again reaches the server", async () => {
    const p = makePair();
    const { client, server } = await connected(p);
    let below = 'not run';
    let second: Socket | null = null;
    client.on('error', () => {});
    // Flowing, so the peer's FIN surfaces as 'end' and the socket closes.
    client.resume();
    client.on('close', () => {
      below = layersBelow();
      second = p.a.net.connect({ host: '10.0.0.2', port: 80 });
    });
    server.destroy();
    await runUntil(p, () => second !== null && !second.connecting);
    expect(second!.remotePort).toBe(80);
    // 'close' is a stream event (emitted on a later tick), so the stack is certainly unwound.
    expect(below).toBe('');
    noExceptions(p.a, p.b);
  });

  it("UDP 'message' handlers that send, and that close the socket, run outside UDP input", async () => {
    const p = makePair();
    const echo = p.b.net.createSocket('udp4');
    let below = 'not run';
    echo.on('message', (m, r) => {
      below = layersBelow();
      echo.send(m, r.port, r.address);
    });
    echo.bind(7);
    const client = p.a.net.createSocket('udp4');
    const got: string[] = [];
    let closedInHandler = false;
    client.on('message', (m) => {
      got.push(m.toString());
      client.close();
      closedInHandler = true;
    });
    client.bind(0);
    client.send('ping', 7, '10.0.0.2');
    // Two datagrams back to back: the second must not be emitted once the handler closed.
    client.send('ping', 7, '10.0.0.2');
    await runUntil(p, () => closedInHandler);
    // The second reply finds the port closed (the handler unbound it): counted, not emitted.
    await runUntil(p, () => p.a.counters.udpInDatagrams + p.a.counters.udpNoPorts >= 2);
    expect(got).toEqual(['ping']);
    expect(below).toBe('');
    noExceptions(p.a, p.b);
  });

  it('an exception thrown by a handler reaches the process, and the datapath goes on', async () => {
    const p = makePair();
    const { client, server } = await connected(p);
    const thrown: unknown[] = [];
    const onUncaught = (e: unknown): void => {
      thrown.push(e);
    };
    process.prependListener('uncaughtException', onUncaught);
    try {
      server.once('data', () => {
        throw new Error('handler bug');
      });
      const seen = collect(server);
      client.write('first');
      await runUntil(p, () => thrown.length > 0);
      client.write('second');
      await runUntil(p, () => seen.text().includes('second'));
    } finally {
      process.removeListener('uncaughtException', onUncaught);
    }
    expect((thrown[0] as Error).message).toBe('handler bug');
    noExceptions(p.a, p.b);
  });
});
