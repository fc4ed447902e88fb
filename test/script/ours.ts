// The script backend for our stack: a Stack on one end of the in-memory NetIf pair, on a virtual
// clock; the runner owns the other end. Time moves only when the script or a wait says so, in
// 1 ms steps with the event loop drained between them (socket events run from the loop). Sockets
// are half-open capable (allowHalfOpen), as the Linux backend's, so "end" is the script's to say.
import type { Mbuf } from '../../src/mbuf/index.ts';
import { createNetIfPair, type MemNetIf } from '../../src/netif/index.ts';
import { Stack, VirtualClock, type Socket, type TcbOptions } from '../../src/stack/index.ts';
import type { Backend } from './runner.ts';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

export class OurStack implements Backend {
  readonly clock = new VirtualClock(1000);
  readonly stack: Stack;
  private readonly wire: MemNetIf;
  private readonly rx: Uint8Array[] = [];
  private sock: Socket | null = null;
  /** Socket options the script's sysctl steps set. */
  private readonly opts: TcbOptions = {};
  private readonly deliver = (m: Mbuf): void => {
    const f = new Uint8Array(m.length);
    m.copyTo(f);
    m.free();
    this.rx.push(f);
  };

  /** `iss`: the ISS of every connection (scripts number relative to it), else RFC 6528's. */
  constructor(iss?: number) {
    const { a, b } = createNetIfPair();
    this.wire = b;
    this.stack = new Stack({
      netif: a,
      ipv4: '10.77.0.1/24',
      time: this.clock,
      isnKey: new Uint8Array(32).fill(7),
    });
    if (iss !== undefined) this.stack.tcp.isn.isn = () => iss;
  }

  get stackMac(): Uint8Array {
    return this.stack.netif.mac;
  }

  private async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await tick();
      while (this.wire.poll(64, this.deliver) === 64);
    }
  }

  async listen(port: number): Promise<void> {
    this.stack.net
      .createServer(
        (s) => {
          this.sock = s;
          s.on('data', () => {});
          s.on('error', () => {});
        },
        { allowHalfOpen: true, ...this.opts },
      )
      .listen(port);
    await this.settle();
  }

  async connect(port: number): Promise<void> {
    const s = this.stack.net.connect({ host: '10.77.0.2', port, allowHalfOpen: true, ...this.opts });
    s.on('data', () => {});
    s.on('error', () => {});
    this.sock = s;
    await this.settle();
  }

  async write(bytes: number): Promise<void> {
    this.sock?.write(Buffer.alloc(bytes, 0x62));
    await this.settle();
  }

  async end(): Promise<void> {
    this.sock?.end();
    await this.settle();
  }

  async destroy(): Promise<void> {
    this.sock?.destroy();
    await this.settle();
  }

  async keepalive(seconds: number): Promise<void> {
    this.sock?.setKeepAlive(true, seconds * 1000);
    await this.settle();
  }

  /** The sysctls a script may set, as the socket options that mean the same here. */
  sysctl(name: string, value: number): Promise<void> {
    if (name !== 'net.ipv4.tcp_ecn' || value > 2)
      throw new Error(`sysctl ${name}=${value} has no equivalent here`);
    this.opts.ecn = value as 0 | 1 | 2;
    return Promise.resolve();
  }

  async inject(frame: Uint8Array): Promise<void> {
    const m = this.stack.pool.alloc();
    if (m === null) throw new Error('pool exhausted');
    m.append(frame);
    this.stack.input(m);
    await this.settle();
  }

  async next(seconds: number): Promise<Uint8Array | null> {
    await this.settle();
    for (let ms = 0; this.rx.length === 0 && ms < seconds * 1000; ms++) {
      this.clock.advance(1);
      await this.settle();
    }
    return this.rx.shift() ?? null;
  }

  async advance(seconds: number): Promise<void> {
    for (let ms = 0; ms < seconds * 1000; ms++) {
      this.clock.advance(1);
      if (ms % 16 === 0) await this.settle();
    }
    await this.settle();
  }

  close(): Promise<void> {
    this.sock?.destroy();
    return Promise.resolve();
  }
}
