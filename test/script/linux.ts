// The script backend for the Linux kernel: the kernel's TCP is the stack under test, at 10.77.0.1
// on a TAP in a namespace of its own; the runner is the peer on the other side of the TAP, with a
// permanent neighbour entry so the kernel never has to ARP. The kernel's application is a node
// child in the namespace, driven over stdin (listen, connect, write, end, destroy).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface, type Interface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { LinuxTap } from '../../src/host/tap/index.ts';
import { destroyNamespace, disableIpv6, freshNamespace, inNetns } from '../support/netns.ts';
import type { Backend } from './runner.ts';
import { PEER_MAC } from './segments.ts';

const APP = String.raw`
const net = require('node:net');
const rl = require('node:readline').createInterface({ input: process.stdin });
let sock = null;
const waiting = [];
const keep = (s) => {
  sock = s;
  s.on('data', () => {});
  s.on('error', () => {});
  while (waiting.length > 0) waiting.shift()();
};
// Socket commands wait for the connection: accept() may come a moment after the handshake.
const withSock = (fn) => (sock !== null ? fn() : waiting.push(fn));
rl.on('line', (l) => {
  const [cmd, arg] = l.split(' ');
  const ok = () => console.log('ok');
  if (cmd === 'listen') net.createServer({ allowHalfOpen: true }, keep).listen(Number(arg), '10.77.0.1', ok);
  else if (cmd === 'connect') {
    keep(net.connect({ host: '10.77.0.2', port: Number(arg), localAddress: '10.77.0.1', allowHalfOpen: true }));
    ok();
  } else if (cmd === 'write') withSock(() => sock.write(Buffer.alloc(Number(arg), 0x62), ok));
  else if (cmd === 'end') withSock(() => (sock.end(), ok()));
  else if (cmd === 'destroy') withSock(() => (sock.destroy(), ok()));
  else if (cmd === 'keepalive') withSock(() => (sock.setKeepAlive(true, Number(arg)), ok()));
});`;

const VNET = 12;

export class LinuxKernel implements Backend {
  readonly stackMac: Uint8Array;
  private readonly tap: LinuxTap;
  private readonly app: ChildProcess;
  private readonly lines: Interface;
  private readonly buf = new Uint8Array(VNET + 65_536);

  constructor(readonly ns: string) {
    freshNamespace(ns, ['pkt0']);
    disableIpv6(ns);
    const ip = (...a: string[]): void => void execFileSync('ip', ['-n', ns, ...a], { stdio: 'ignore' });
    ip('addr', 'add', '10.77.0.1/24', 'dev', 'pkt0');
    ip('link', 'set', 'pkt0', 'up');
    ip('link', 'set', 'lo', 'up');
    const mac = [...PEER_MAC].map((b) => b.toString(16).padStart(2, '0')).join(':');
    ip('neigh', 'add', '10.77.0.2', 'lladdr', mac, 'dev', 'pkt0', 'nud', 'permanent');
    this.tap = inNetns(ns, () => LinuxTap.open('pkt0', { vnetHdrLen: VNET, offloads: 0 }));
    const addr = execFileSync('ip', ['-n', ns, '-br', 'link', 'show', 'pkt0'], { encoding: 'utf8' });
    this.stackMac = Uint8Array.from(
      (/([0-9a-f]{2}(?::[0-9a-f]{2}){5})/.exec(addr)?.[1] ?? '').split(':').map((h) => parseInt(h, 16)),
    );
    this.app = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', APP], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.lines = createInterface({ input: this.app.stdout! });
  }

  private async command(c: string): Promise<void> {
    const ok = once(this.lines, 'line');
    this.app.stdin!.write(`${c}\n`);
    await ok;
  }

  listen(port: number): Promise<void> {
    return this.command(`listen ${port}`);
  }
  connect(port: number): Promise<void> {
    return this.command(`connect ${port}`);
  }
  write(bytes: number): Promise<void> {
    return this.command(`write ${bytes}`);
  }
  end(): Promise<void> {
    return this.command('end');
  }
  destroy(): Promise<void> {
    return this.command('destroy');
  }
  keepalive(seconds: number): Promise<void> {
    // Node turns the delay (ms) into TCP_KEEPIDLE (s).
    return this.command(`keepalive ${seconds * 1000}`);
  }
  sysctl(name: string, value: number): Promise<void> {
    // Per network namespace (net.ipv4.tcp_ecn is): the namespace goes with the backend.
    execFileSync('ip', ['netns', 'exec', this.ns, 'sysctl', '-q', '-w', `${name}=${value}`], {
      stdio: 'ignore',
    });
    return Promise.resolve();
  }

  inject(frame: Uint8Array): Promise<void> {
    const w = new Uint8Array(VNET + frame.length);
    w.set(frame, VNET);
    this.tap.write(w, 0, w.length);
    return Promise.resolve();
  }

  async next(seconds: number): Promise<Uint8Array | null> {
    const deadline = performance.now() + seconds * 1000;
    for (;;) {
      const n = this.tap.recv(this.buf, this.buf.length);
      if (n > VNET) return this.buf.slice(VNET, n);
      if (performance.now() > deadline) return null;
      await sleep(1);
    }
  }

  async advance(seconds: number): Promise<void> {
    await sleep(seconds * 1000);
  }

  async close(): Promise<void> {
    this.app.kill();
    this.tap.close();
    destroyNamespace(this.ns, ['pkt0']);
    return Promise.resolve();
  }
}
