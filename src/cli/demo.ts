// `ptnet-ts demo`: two unikernels (device model + ptnet driver + TCP/IP stack) on a VALE switch,
// the host sync loop of each in a worker thread, offloads on. It runs a ping, an HTTP request and
// a timed TCP bulk transfer, shows progress on stderr, and prints a summary table (or --json).
// No root and no setup. With --tap NAME, the peer is the Linux kernel behind an existing TAP
// interface instead: the unikernel pings it and fetches from / sends to servers this process runs
// on the kernel's stack (node:http, node:net) bound to the TAP's address.
import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { AppError, PATTERN_CHUNK, httpGet, patternChunk, tcpSend } from '../apps/index.ts';
import {
  HostError,
  ValeSwitch,
  openTapPort,
  type KloopMode,
  type NetmapPort,
  type TapPort,
  type ValePort,
} from '../host/index.ts';
import { TapError } from '../host/tap/index.ts';
import { Unikernel, UnikernelError, type SwitchReport } from '../unikernel/index.ts';
import { addressError, fail, numberOption, parseCommand, type CommandSpec } from './usage.ts';

const USAGE = `usage: ptnet-ts demo [--seconds N] [--json] [--mode worker|inline] [--no-offloads]
                     [--migrate] [--tap NAME [--ipv4 ADDR/LEN]]
  Boots two unikernels on a VALE switch (or one on the TAP NAME, the kernel being the peer) and
  runs a ping, an HTTP GET and a TCP bulk transfer of N seconds (default 3). --migrate adds a
  download during which the downloading unikernel's NIC moves to a new worker thread (and, on
  VALE, a new switch port) several times, with the measured outages.
  Exit 0 all passed, 1 a test failed, 2 a usage or setup error (one line on stderr; a JSON object
  on stderr with --json).`;

interface DemoArgs {
  seconds: number;
  json: boolean;
  mode: KloopMode;
  offloads: boolean;
  migrate: boolean;
  tap?: string;
  ipv4?: string;
}

const SPEC: CommandSpec<DemoArgs> = {
  cmd: 'demo',
  usage: USAGE,
  options: {
    seconds: { type: 'string' },
    json: { type: 'boolean' },
    mode: { type: 'string' },
    'no-offloads': { type: 'boolean' },
    migrate: { type: 'boolean' },
    tap: { type: 'string' },
    ipv4: { type: 'string' },
  },
  build(v, positionals) {
    if (positionals.length > 0) return `unexpected argument ${JSON.stringify(positionals[0])}`;
    const seconds = numberOption('--seconds', v.seconds, 3, 0.01, 3600, false);
    if (typeof seconds === 'string') return seconds;
    const mode = v.mode ?? 'worker';
    if (mode !== 'worker' && mode !== 'inline') return '--mode is worker or inline';
    const o: DemoArgs = {
      seconds,
      json: v.json === true,
      mode,
      offloads: v['no-offloads'] !== true,
      migrate: v.migrate === true,
    };
    if (typeof v.tap === 'string') o.tap = v.tap;
    if (typeof v.ipv4 === 'string') {
      if (o.tap === undefined) return '--ipv4 goes with --tap';
      const bad = addressError('--ipv4', v.ipv4, 4, true);
      if (bad !== null) return bad;
      o.ipv4 = v.ipv4;
    }
    return o;
  },
};

/** One result row. */
interface Row {
  test: string;
  ok: boolean;
  detail: string;
  latencyUs?: { min: number; avg: number; max: number };
  gbps?: number;
  bytes?: number;
  packets: number;
  drops: number;
}

/** Progress on stderr: one line rewritten in place on a terminal, else at most a line a second. */
class Progress {
  private last = 0;
  private readonly tty = process.stderr.isTTY === true;
  constructor(private readonly quiet: boolean) {}
  show(text: string, force = false): void {
    if (this.quiet && !this.tty) return;
    const t = performance.now();
    if (this.tty) {
      if (!force && t - this.last < 100) return;
      process.stderr.write(`\r\x1b[K${text}`);
    } else {
      if (!force && t - this.last < 1000) return;
      process.stderr.write(`${text}\n`);
    }
    this.last = t;
  }
  done(): void {
    if (this.tty) process.stderr.write('\r\x1b[K');
  }
}

const gbps = (bytes: number, ms: number): number => (ms > 0 ? (bytes * 8) / ms / 1e6 : 0);
const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;

/** The far end: another unikernel, or the kernel behind the TAP with our own node servers. */
interface Peer {
  addr: string;
  httpPort: number;
  discardPort: number;
  /** Bytes and SHA-256 of the next discard connection to close (call before connecting). */
  lastDiscard(): Promise<{ bytes: number; sha256: string }>;
  close(): Promise<void>;
}

/** Hands each finished discard connection to the oldest waiter (the demo runs one at a time). */
class DiscardReports {
  private readonly waiters: ((v: { bytes: number; sha256: string }) => void)[] = [];
  next(): Promise<{ bytes: number; sha256: string }> {
    return new Promise((r) => this.waiters.push(r));
  }
  closed(bytes: number, sha256: string): void {
    this.waiters.shift()?.({ bytes, sha256 });
  }
}

function unikernelPeer(a: Unikernel, addr: string): Peer {
  const reports = new DiscardReports();
  const svc = a.serve({
    onClose: (r) => {
      if (r.service === 'discard') reports.closed(r.bytes, r.sha256 ?? '');
    },
  });
  return {
    addr,
    httpPort: 80,
    discardPort: 9,
    lastDiscard: () => reports.next(),
    close: async () => svc.close(),
  };
}

/** node:http and node:net servers on the kernel's address of the TAP. */
async function kernelPeer(addr: string): Promise<Peer> {
  const http: HttpServer = createHttpServer((req, res) => {
    const m = /^\/bytes\/(\d{1,12})$/.exec(req.url ?? '');
    if (m === null) {
      res.writeHead(404).end();
      return;
    }
    const n = Number(m[1]);
    res.writeHead(200, { 'Content-Length': n, 'Content-Type': 'application/octet-stream' });
    let off = 0;
    const pump = (): void => {
      while (off < n) {
        const c = patternChunk(off, Math.min(PATTERN_CHUNK, n - off));
        off += c.length;
        if (!res.write(c) && off < n) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  const reports = new DiscardReports();
  const discard: NetServer = createNetServer((s) => {
    const h = createHash('sha256');
    let bytes = 0;
    s.on('data', (d) => {
      bytes += d.length;
      h.update(d);
    });
    s.on('error', () => {});
    s.on('close', () => reports.closed(bytes, h.digest('hex')));
  });
  await new Promise<void>((r, j) => http.once('error', j).listen(8080, addr, () => r()));
  await new Promise<void>((r, j) => discard.once('error', j).listen(9009, addr, () => r()));
  return {
    addr,
    httpPort: 8080,
    discardPort: 9009,
    lastDiscard: () => reports.next(),
    close: async () => {
      http.closeAllConnections();
      await Promise.all([new Promise((r) => http.close(r)), new Promise((r) => discard.close(r))]);
    },
  };
}

/** The TAP's IPv4 address and prefix in this namespace, and a free-looking neighbour for us. */
function tapAddresses(name: string, ipv4: string | undefined): { kernel: string; ours: string } | string {
  const info = networkInterfaces()[name]?.find((i) => i.family === 'IPv4');
  if (info === undefined)
    return `interface ${name} has no IPv4 address (ip addr add A.B.C.D/LEN dev ${name})`;
  if (ipv4 !== undefined) return { kernel: info.address, ours: ipv4 };
  const len = Number(info.cidr?.split('/')[1] ?? 24);
  const parts = info.address.split('.').map(Number);
  parts[3] = parts[3]! === 254 ? 253 : parts[3]! + 1;
  return { kernel: info.address, ours: `${parts.join('.')}/${len}` };
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(SPEC, args);
  if (typeof parsed === 'number') return parsed;
  const { o, cli } = parsed;
  const progress = new Progress(o.json);
  progress.show('booting…', true);
  const guests: Unikernel[] = [];
  let tapPort: TapPort | null = null;
  let setup: { client: Unikernel; peer: Peer; where: string };
  // Where the client's NIC moves for --migrate: a new VALE port, or the same TAP again.
  let nextPort: (() => NetmapPort) | null = null;
  let releasePort: (p: NetmapPort) => void = () => {};
  try {
    if (o.tap !== undefined) {
      tapPort = openTapPort(o.tap);
      // After the open: node lists only running interfaces, and a TAP runs once a queue is attached
      // and linkwatch has set its operstate, which can take up to a second (linkwatch_fire_event).
      let ad = tapAddresses(o.tap, o.ipv4);
      for (let i = 0; i < 40 && typeof ad === 'string'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        ad = tapAddresses(o.tap, o.ipv4);
      }
      if (typeof ad === 'string') {
        progress.done();
        tapPort.close();
        return fail(cli, 'TAP_NO_ADDRESS', ad);
      }
      const client = await Unikernel.boot({
        port: tapPort,
        ipv4: ad.ours,
        mode: o.mode,
        offloads: o.offloads,
      });
      guests.push(client);
      const where = `1 unikernel (${ad.ours}) on TAP ${o.tap}, peer: the Linux kernel at ${ad.kernel}`;
      setup = { client, peer: await kernelPeer(ad.kernel), where };
      const tp = tapPort;
      nextPort = () => tp;
    } else {
      const vale = new ValeSwitch('vale0', { vnetHdrLen: o.offloads ? 12 : 0 });
      let moves = 0;
      nextPort = () => vale.attach(`b${++moves}`);
      releasePort = (p) => vale.detach(p as ValePort);
      const boot = (n: string, ip: string): Promise<Unikernel> =>
        Unikernel.boot({ port: vale.attach(n), ipv4: ip, mode: o.mode, offloads: o.offloads });
      const a = await boot('a', '10.0.0.1/24');
      guests.push(a);
      const client = await boot('b', '10.0.0.2/24');
      guests.push(client);
      setup = {
        client,
        peer: unikernelPeer(a, '10.0.0.1'),
        where: '2 unikernels (10.0.0.1, 10.0.0.2) on VALE switch vale0',
      };
    }
  } catch (e) {
    progress.done();
    for (const g of guests) g.shutdown();
    tapPort?.close();
    if (e instanceof TapError || e instanceof UnikernelError || e instanceof HostError) {
      return fail(cli, e.code, e.message);
    }
    throw e;
  }
  const { client, peer, where } = setup;
  const rows: Row[] = [];
  const totals = (): { packets: number; drops: number } => {
    let packets = 0;
    let drops = 0;
    for (const g of guests) {
      const s = g.stats();
      packets += s.txPackets + s.rxPackets;
      drops += s.drops;
    }
    return { packets, drops };
  };
  const measure = async (
    test: string,
    body: () => Promise<Omit<Row, 'test' | 'packets' | 'drops'>>,
  ): Promise<void> => {
    const t0 = totals();
    let r: Omit<Row, 'test' | 'packets' | 'drops'>;
    try {
      r = await body();
    } catch (e) {
      const code = e instanceof AppError ? e.code : ((e as { code?: string }).code ?? String(e));
      r = { ok: false, detail: `failed: ${code}` };
    }
    const t1 = totals();
    rows.push({ test, ...r, packets: t1.packets - t0.packets, drops: t1.drops - t0.drops });
  };

  const pings = 10;
  await measure('ping', async () => {
    const rtts: number[] = [];
    for (let i = 0; i < pings; i++) {
      progress.show(`ping ${peer.addr}: ${i}/${pings}`);
      try {
        rtts.push((await client.ping(peer.addr, { timeout: 1000 })) * 1000);
      } catch {
        // counted as lost below
      }
    }
    if (rtts.length === 0) return { ok: false, detail: `0/${pings} replies` };
    // The first reply includes ARP resolution: latency is taken from the others when there are any.
    const warm = rtts.length > 1 ? rtts.slice(1) : rtts;
    const avg = warm.reduce((x, y) => x + y, 0) / warm.length;
    return {
      ok: rtts.length === pings,
      detail: `${rtts.length}/${pings} replies`,
      latencyUs: { min: Math.min(...warm), avg, max: Math.max(...warm) },
    };
  });

  const httpBytes = 32 * 1048576;
  await measure('http', async () => {
    const want = createHash('sha256');
    for (let off = 0; off < httpBytes; off += PATTERN_CHUNK)
      want.update(patternChunk(off, Math.min(PATTERN_CHUNK, httpBytes - off)));
    const r = await httpGet(client.net, {
      host: peer.addr,
      port: peer.httpPort,
      path: `/bytes/${httpBytes}`,
      timeoutMs: 20_000,
      onProgress: (b, t) => progress.show(`http GET /bytes/${httpBytes}: ${mib(b)} of ${mib(t)}`),
    });
    const ok = r.status === 200 && r.bytes === httpBytes && r.sha256 === want.digest('hex');
    return {
      ok,
      detail: `GET /bytes/${httpBytes} → ${r.status}, ${mib(r.bytes)}, sha256 ${ok ? 'ok' : 'MISMATCH'}`,
      latencyUs: { min: r.firstByteMs * 1000, avg: r.firstByteMs * 1000, max: r.firstByteMs * 1000 },
      gbps: gbps(r.bytes, r.ms),
      bytes: r.bytes,
    };
  });

  if (o.migrate && nextPort !== null) {
    const next = nextPort;
    await measure('http, migrating', async () => {
      const bytes = 256 * 1048576;
      const moves: SwitchReport[] = [];
      let finished = false;
      const get = httpGet(client.net, {
        host: peer.addr,
        port: peer.httpPort,
        path: `/bytes/${bytes}`,
        timeoutMs: 60_000,
        onProgress: (b) => {
          progress.show(`http GET while migrating: ${mib(b)} of ${mib(bytes)}, ${moves.length} moves`);
        },
      }).finally(() => (finished = true));
      // A move every 60 ms of the download (up to eight), each to a fresh worker thread.
      for (let i = 0; i < 8 && !finished; i++) {
        await new Promise((r) => setTimeout(r, 60));
        if (finished) break;
        const old = client.port;
        const m = await client.switchBackend(next(), { mode: 'worker' });
        if (old !== client.port) releasePort(old);
        moves.push(m);
        progress.show(`moved (${moves.length}): outage ${m.outageMs.toFixed(1)} ms`, true);
      }
      const r = await get;
      const want = createHash('sha256');
      for (let off = 0; off < bytes; off += PATTERN_CHUNK)
        want.update(patternChunk(off, Math.min(PATTERN_CHUNK, bytes - off)));
      const ok = r.status === 200 && r.bytes === bytes && r.sha256 === want.digest('hex');
      const outages = moves.map((m) => m.outageMs.toFixed(1)).join(', ');
      return {
        ok,
        detail: `${mib(r.bytes)} across ${moves.length} moves (outage ms: ${outages}), sha256 ${ok ? 'ok' : 'MISMATCH'}`,
        gbps: gbps(r.bytes, r.ms),
        bytes: r.bytes,
      };
    });
  }

  await measure('tcp bulk', async () => {
    const ms = o.seconds * 1000;
    const t0 = performance.now();
    const seen = peer.lastDiscard();
    const r = await tcpSend(client.net, {
      host: peer.addr,
      port: peer.discardPort,
      bytes: Number.MAX_SAFE_INTEGER,
      durationMs: ms,
      timeoutMs: ms + 20_000,
      onProgress: (sent) => {
        const el = performance.now() - t0;
        progress.show(
          `tcp bulk → ${peer.addr}:${peer.discardPort}: ${(el / 1000).toFixed(1)}/${o.seconds} s, ${mib(sent)}, ${gbps(sent, el).toFixed(2)} Gbps`,
        );
      },
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const d = await Promise.race([
      seen,
      new Promise<null>((res) => (timer = setTimeout(() => res(null), 5000))),
    ]);
    clearTimeout(timer);
    const ok = d !== null && d.bytes === r.sent && d.sha256 === r.sha256;
    return {
      ok,
      detail: `${mib(r.sent)} in ${(r.ms / 1000).toFixed(1)} s to discard, sha256 ${ok ? 'ok' : 'MISMATCH'}`,
      gbps: gbps(r.sent, r.ms),
      bytes: r.sent,
    };
  });
  progress.done();

  const stats = guests.map((g) => g.stats());
  await peer.close();
  for (const g of guests) g.shutdown();
  tapPort?.close();
  const ok = rows.every((r) => r.ok);
  if (o.json) {
    const out = {
      where,
      mode: o.mode,
      offloads: o.offloads,
      seconds: o.seconds,
      ok,
      tests: rows,
      guests: stats,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    process.stdout.write(table(where, o, rows, stats));
  }
  return ok ? 0 : 1;
}

function table(where: string, o: DemoArgs, rows: Row[], stats: ReturnType<Unikernel['stats']>[]): string {
  const lat = (r: Row): string => (r.latencyUs === undefined ? '-' : `${Math.round(r.latencyUs.avg)}`);
  const head = ['test', 'latency µs', 'Gbps', 'packets', 'drops', 'result'];
  const body = rows.map((r) => [
    r.test,
    r.test === 'http' ? `${lat(r)} (1st byte)` : lat(r),
    r.gbps === undefined ? '-' : r.gbps.toFixed(2),
    String(r.packets),
    String(r.drops),
    `${r.ok ? 'ok' : 'FAIL'}: ${r.detail}`,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (c: string[]): string =>
    c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(w[i]!))).join('  ');
  const ping = rows.find((r) => r.test === 'ping')?.latencyUs;
  let s = `ptnet-ts demo: ${where}\nsync loop: ${o.mode === 'worker' ? 'worker threads' : 'inline'}, offloads ${o.offloads ? 'on (virtio-net header, checksum offload, TSO)' : 'off'}\n\n`;
  s += `${line(head)}\n${line(w.map((n) => '-'.repeat(n)))}\n`;
  for (const b of body) s += `${line(b)}\n`;
  if (ping !== undefined)
    s += `\nping rtt min/avg/max ${Math.round(ping.min)}/${Math.round(ping.avg)}/${Math.round(ping.max)} µs\n`;
  stats.forEach((g, i) => {
    s += `guest ${i}: tx ${g.txPackets} pkts / ${mib(g.txBytes)}, rx ${g.rxPackets} pkts / ${mib(g.rxBytes)}, drops ${g.drops}, retransmits ${g.retransmits}\n`;
  });
  return s;
}
