// e2e rows unikernel ⇄ Linux over a TAP (root): a network namespace holds a vnet_hdr TAP with the
// kernel's address; a unikernel booted on it (openTapPort must run inside the namespace, so it lives
// in a child process) serves a counting sink (9) and a NODELAY echo (7), and on command acts as the
// client. The kernel side is C (bench/c/tcp-bulk.c, bench/c/tcp-rr.c, built here by gcc) and ping:
//   kernel → uk: tcp-bulk send into the sink, tcp-rr client against the echo, ping from the netns;
//   uk → kernel: the unikernel's bulk send into tcp-bulk sink, its TCP_RR against tcp-rr server, its
//   ping of the kernel address.
// Beside the ping rows, the kernel pings bench/c/tap-echo.c on a second TAP of the namespace: ARP
// and echo answered in C with no stack, once reading with a blocking read() and once spinning on a
// non-blocking one. That is the same kernel path and wake-ups with none of our code: the floor of
// a responder that sleeps, and of one that burns a core, on this machine. The same program then
// pings the kernel back to back, as the unikernel's ping row does: the floor of that row.
// The child: `ip netns exec NS node --import tsx bench/e2e-tap.ts --app MODE on|off TAP [BUSY_POLL_US]` prints
// `ready`, then answers each stdin line `stream|rr ADDR PORT MS` / `ping ADDR COUNT` with one JSON line.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { openTapPort, type KloopMode } from '../src/host/index.ts';
import { Unikernel } from '../src/unikernel/index.ts';
import { SEED_NOTE, bulkSend, countingSink, pingUs, row, rr, rrServer } from './e2e-lib.ts';
import { cacheRefillRows } from './cache-refill.ts';
import type { BenchRow, Target } from './harness.ts';
import type { LinuxReference } from './linux-reference.ts';

const TAP = 'pe2e0';
const KERNEL_IP = '10.82.0.1';
const UK_IP = '10.82.0.2';
/** The C responder's TAP and addresses (a subnet of its own beside the unikernel's). */
const ECHO_TAP = 'pe2e1';
const ECHO_KERNEL_IP = '10.83.0.1';
const ECHO_IP = '10.83.0.2';

/** The unikernel side, inside the namespace. */
async function app(mode: KloopMode, offloads: boolean, tap: string, busyPollUs?: number): Promise<void> {
  const port = openTapPort(tap, busyPollUs === undefined ? {} : { busyPollUs });
  const uk = await Unikernel.boot({
    port,
    ipv4: `${UK_IP}/24`,
    mode,
    offloads,
    tcp: { sndBuf: 1 << 20, rcvBuf: 1 << 20 },
  });
  const sink = countingSink(uk.net, 9);
  const echo = rrServer(uk.net, 7);
  console.log('ready');
  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, addr = '', a = '0', b = '0'] = line.trim().split(' ');
    if (cmd === 'quit') break;
    try {
      let value = 0;
      if (cmd === 'stream') value = await bulkSend(uk.net, addr, Number(a), Number(b));
      else if (cmd === 'rr') value = await rr(uk.net, addr, Number(a), Number(b));
      else if (cmd === 'ping') value = await pingUs((h) => uk.ping(h), addr, Number(a));
      const tap = { busyPoll: port.busyPollStats, watchChanges: port.watchChanges };
      console.log(JSON.stringify({ value, stats: uk.stats(), tap }));
    } catch (e) {
      console.log(JSON.stringify({ error: (e as Error & { code?: string }).code ?? String(e) }));
    }
  }
  sink.server.close();
  echo.close();
  uk.shutdown();
  port.close();
}

const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

function unavailable(): string | null {
  if (process.getuid?.() !== 0) return 'not running as root';
  for (const t of ['ip', 'gcc', 'ping']) if (!has(t)) return `missing ${t}`;
  return null;
}

const sh = (...a: string[]): string => execFileSync(a[0]!, a.slice(1), { encoding: 'utf8', timeout: 60_000 });

/** A process whose stdout is read line by line. */
class Lines {
  private readonly lines: string[] = [];
  private wake: (() => void) | null = null;
  readonly exited: Promise<void>;
  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      this.lines.push(l);
      this.wake?.();
    });
    this.exited = new Promise((r) => child.on('close', () => r()));
    void this.exited.then(() => this.wake?.());
  }
  /** The next line, or null if the process ended first or after `ms`. */
  async next(ms = 30_000): Promise<string | null> {
    const deadline = Date.now() + ms;
    let done = false;
    void this.exited.then(() => (done = true));
    while (this.lines.length === 0 && !done && Date.now() < deadline) {
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 100);
      });
    }
    return this.lines.shift() ?? null;
  }
}

function nsSpawn(ns: string, args: string[]): Lines {
  return new Lines(spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['pipe', 'pipe', 'inherit'] }));
}

/** Runs a kernel client in the namespace to the end and returns its first output number. */
async function kernel(ns: string, args: string[]): Promise<number> {
  const p = nsSpawn(ns, args);
  const out: string[] = [];
  for (let l = await p.next(); l !== null; l = await p.next()) out.push(l);
  const v = Number(/^([\d.]+)/.exec(out.join('\n'))?.[1] ?? NaN);
  if (Number.isNaN(v)) throw new Error(`${args.join(' ')}: no figure (its stderr is above)`);
  return v;
}

/** The unikernel's answer to one command: its JSON line's value. */
async function ask(uk: Lines, cmd: string): Promise<number> {
  uk.child.stdin!.write(`${cmd}\n`);
  const reply = JSON.parse((await uk.next(60_000)) ?? '{"error":"no reply"}') as {
    value?: number;
    error?: string;
  };
  if (reply.error !== undefined) throw new Error(`unikernel ${cmd}: ${reply.error}`);
  return reply.value ?? NaN;
}

/**
 * A kernel server in the namespace and one unikernel client command against it: the figure the
 * server prints (tcp-bulk sink) or the one the unikernel reports (TCP_RR).
 */
async function ukClient(
  ns: string,
  uk: Lines,
  server: string[],
  cmd: string,
  from: 'server' | 'uk',
): Promise<number> {
  const srv = nsSpawn(ns, server);
  try {
    await srv.next(5000); // "listening"
    const v = await ask(uk, cmd);
    if (from === 'uk') return v;
    return Number((await srv.next(10_000))?.split(' ')[0] ?? NaN);
  } finally {
    srv.child.kill('SIGKILL');
  }
}

/**
 * Mean RTTs of the kernel pinging the unikernel: `flood`, 10000 echoes back to back (`ping -f`),
 * which also warms the path (an ICMP echo path run only a few hundred times stays in V8's lower
 * tiers: min RTT 77–85 µs cold, 22–29 µs warm, same machine); then `paced`, one every 2 ms, the
 * row with the target. The two differ by what a 2 ms pause costs (bench/cache-refill.ts).
 */
function kernelPing(ns: string, count: number, to = UK_IP): { paced: number; flood: number } {
  // rtt min/avg/max/mdev, ms
  const avgUs = (out: string): number => Number(/= [\d.]+\/([\d.]+)\//.exec(out)?.[1] ?? NaN) * 1000;
  const flood = avgUs(sh('ip', 'netns', 'exec', ns, 'ping', '-q', '-f', '-c', '10000', '-w', '20', to));
  const out = sh('ip', 'netns', 'exec', ns, 'ping', '-q', '-c', String(count), '-i', '0.002', to);
  return { paced: avgUs(out), flood };
}

/** bench/c/tap-echo.c (`bin`) pinging the kernel's address on its TAP, back to back: mean µs. */
function cPingerPing(ns: string, bin: string, count: number): number {
  const link = sh('ip', '-n', ns, '-o', 'link', 'show', 'dev', ECHO_TAP);
  const mac = /link\/ether ([0-9a-f:]{17})/.exec(link)?.[1];
  if (mac === undefined) throw new Error(`no MAC on ${ECHO_TAP}`);
  const out = sh(
    'ip',
    'netns',
    'exec',
    ns,
    'timeout',
    '60',
    bin,
    ECHO_TAP,
    ECHO_IP,
    'ping',
    ECHO_KERNEL_IP,
    mac,
    String(count),
  );
  return Number(out.trim());
}

/**
 * The kernel's ping of bench/c/tap-echo.c (`bin`) on its own TAP in `ns`, as kernelPing measures
 * the unikernel: reading with a blocking read() (`block`) or spinning on a non-blocking one (`spin`).
 */
async function cResponderPing(
  ns: string,
  bin: string,
  how: 'block' | 'spin',
  count: number,
): Promise<{ paced: number; flood: number }> {
  const echo = nsSpawn(ns, [bin, ECHO_TAP, ECHO_IP, how]);
  try {
    if ((await echo.next(5000)) !== 'ready') throw new Error('tap-echo did not attach');
    for (
      let i = 0;
      i < 40 && !sh('ip', '-n', ns, '-o', 'link', 'show', 'dev', ECHO_TAP).includes('LOWER_UP');
      i++
    )
      await new Promise((r) => setTimeout(r, 50));
    return kernelPing(ns, count, ECHO_IP);
  } finally {
    echo.child.kill('SIGKILL');
    await echo.exited;
  }
}

async function oneBoot(
  ns: string,
  bin: { rr: string; bulk: string },
  mode: KloopMode,
  offloads: boolean,
  ms: number,
  pings: number,
  ref: LinuxReference,
): Promise<BenchRow[]> {
  const self = fileURLToPath(import.meta.url);
  const uk = nsSpawn(ns, [
    process.execPath,
    '--import',
    'tsx',
    self,
    '--app',
    mode,
    offloads ? 'on' : 'off',
    TAP,
  ]);
  try {
    const ready = await uk.next(60_000);
    if (ready !== 'ready') throw new Error(`unikernel did not boot: ${ready ?? 'exited'}`);
    // Carrier reaches the qdisc through linkwatch, up to ~1 s after the fd attaches.
    for (let i = 0; i < 40 && !sh('ip', '-n', ns, '-o', 'link', 'show', 'dev', TAP).includes('LOWER_UP'); i++)
      await new Promise((r) => setTimeout(r, 50));
    // The TAP port's TUNSETOFFLOAD turned the kernel's TSO/checksum offloads on; off means off both ways.
    if (!offloads)
      sh('ip', 'netns', 'exec', ns, 'ethtool', '-K', TAP, 'tx', 'off', 'tso', 'off', 'gso', 'off');
    const secs = String(ms / 1000);
    // Not measured: the unikernel is a fresh process, and the kernel's tools time their whole run,
    // so a first run would count the JIT's warm-up of both directions' paths (every other row
    // measures steady state).
    await kernel(ns, [bin.bulk, 'send', UK_IP, '9', '1']);
    await kernel(ns, [bin.rr, 'client', UK_IP, '7', '1']);
    await ukClient(ns, uk, [bin.bulk, 'sink', '5001'], `stream ${KERNEL_IP} 5001 1000`, 'server');
    const k2uPing = kernelPing(ns, pings);
    const k2u = {
      stream: await kernel(ns, [bin.bulk, 'send', UK_IP, '9', secs]),
      rr: await kernel(ns, [bin.rr, 'client', UK_IP, '7', secs]),
      ping: k2uPing.paced,
    };
    const u2k = {
      stream: await ukClient(ns, uk, [bin.bulk, 'sink', '5001'], `stream ${KERNEL_IP} 5001 ${ms}`, 'server'),
      rr: await ukClient(ns, uk, [bin.rr, 'server', '5002'], `rr ${KERNEL_IP} 5002 ${ms}`, 'uk'),
      ping: await ask(uk, `ping ${KERNEL_IP} ${pings}`),
    };
    const cfg = `${mode}, offloads ${offloads ? 'on' : 'off'}`;
    const rows: BenchRow[] = [];
    // Issue 11 (offloads on): TCP_STREAM ≥ 0.5 × Linux over veth (same run) both ways; ping ≤ 30 µs.
    const target = (m: 'stream' | 'rr' | 'ping'): Target | undefined =>
      !offloads
        ? undefined
        : m === 'stream' && ref.tcpStreamGbps !== null
          ? { value: 0.5 * ref.tcpStreamGbps, higherIsBetter: true }
          : m === 'ping'
            ? { value: 30, higherIsBetter: false }
            : undefined;
    for (const m of ['stream', 'rr', 'ping'] as const) {
      rows.push(
        row(
          `Linux→uk TAP ${cfg}`,
          m,
          k2u[m],
          ref,
          `kernel client, unikernel server; ${SEED_NOTE}`,
          target(m),
        ),
      );
      rows.push(
        row(
          `uk→Linux TAP ${cfg}`,
          m,
          u2k[m],
          ref,
          `unikernel client, kernel server; ${SEED_NOTE}`,
          target(m),
        ),
      );
    }
    rows.push(
      row(
        `Linux→uk TAP ${cfg}, back to back (ping -f)`,
        'ping',
        k2uPing.flood,
        ref,
        'kernel client, unikernel server, the next echo as soon as the last was answered: the paced row without its pauses',
      ),
    );
    return rows;
  } finally {
    uk.child.stdin!.end('quit\n');
    const kill = setTimeout(() => uk.child.kill('SIGKILL'), 3000);
    await uk.exited;
    clearTimeout(kill);
  }
}

/** The TAP rows, or one row saying why they were skipped. */
export async function tapRows(quick: boolean, ref: LinuxReference): Promise<BenchRow[]> {
  const why = unavailable();
  if (why !== null) {
    return [{ name: 'uk⇄Linux over TAP', value: 0, unit: 'Gbps', note: `skipped: ${why}` }];
  }
  const dir = mkdtempSync(join(tmpdir(), 'ptnet-e2e-'));
  const bin = { rr: join(dir, 'tcp-rr'), bulk: join(dir, 'tcp-bulk'), echo: join(dir, 'tap-echo') };
  sh('gcc', '-O2', '-o', bin.rr, new URL('./c/tcp-rr.c', import.meta.url).pathname);
  sh('gcc', '-O2', '-o', bin.bulk, new URL('./c/tcp-bulk.c', import.meta.url).pathname);
  sh('gcc', '-O2', '-o', bin.echo, new URL('./c/tap-echo.c', import.meta.url).pathname);
  const ns = `ptnet-e2e-${process.pid}`;
  spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  const rows: BenchRow[] = [];
  try {
    sh('ip', 'netns', 'add', ns);
    sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    sh('ip', '-n', ns, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap', 'vnet_hdr');
    sh('ip', '-n', ns, 'addr', 'add', `${KERNEL_IP}/24`, 'dev', TAP);
    sh('ip', '-n', ns, 'link', 'set', TAP, 'up');
    sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
    sh('ip', '-n', ns, 'tuntap', 'add', 'dev', ECHO_TAP, 'mode', 'tap');
    sh('ip', '-n', ns, 'addr', 'add', `${ECHO_KERNEL_IP}/24`, 'dev', ECHO_TAP);
    sh('ip', '-n', ns, 'link', 'set', ECHO_TAP, 'up');
    const pings = quick ? 10 : 500;
    rows.push(...cacheRefillRows(quick));
    for (const how of ['block', 'spin'] as const) {
      const name = `Linux→C responder TAP, ${how === 'block' ? 'blocking read' : 'spinning read'}`;
      const note =
        'reference: bench/c/tap-echo.c answers ARP and echo with no stack; the same kernel path and ' +
        (how === 'block'
          ? 'wake-ups as the unikernel rows (the floor of a reader that sleeps)'
          : 'no wake-up of the reader (a core burnt)');
      try {
        const p = await cResponderPing(ns, bin.echo, how, pings);
        rows.push(row(name, 'ping', p.paced, ref, note));
        rows.push(row(`${name}, back to back (ping -f)`, 'ping', p.flood, ref, note));
      } catch (e) {
        rows.push({ name: `ping ${name}`, value: 0, unit: 'µs', note: `failed: ${(e as Error).message}` });
      }
    }
    const pingerName = 'C pinger→Linux TAP, back to back';
    try {
      const pingerNote =
        'reference: bench/c/tap-echo.c pings the kernel over a TAP with no stack, each request after the last reply, as the unikernel row does';
      rows.push(row(pingerName, 'ping', cPingerPing(ns, bin.echo, quick ? 1000 : 20_000), ref, pingerNote));
    } catch (e) {
      rows.push({
        name: `ping ${pingerName}`,
        value: 0,
        unit: 'µs',
        note: `failed: ${(e as Error).message}`,
      });
    }
    const configs: [KloopMode, boolean][] = quick
      ? [['inline', true]]
      : [
          ['inline', true],
          ['worker', true],
          ['inline', false],
          ['worker', false],
        ];
    for (const [mode, offloads] of configs) {
      if (!offloads && !has('ethtool')) {
        const name = `uk⇄Linux TAP ${mode}, offloads off`;
        rows.push({
          name,
          value: 0,
          unit: 'Gbps',
          note: 'skipped: missing ethtool (the kernel side keeps TSO)',
        });
        continue;
      }
      try {
        rows.push(...(await oneBoot(ns, bin, mode, offloads, quick ? 200 : 3000, pings, ref)));
      } catch (e) {
        const name = `uk⇄Linux TAP ${mode}, offloads ${offloads ? 'on' : 'off'}`;
        rows.push({ name, value: 0, unit: 'Gbps', note: `failed: ${(e as Error).message}` });
      }
    }
  } finally {
    spawnSync('ip', ['-n', ns, 'tuntap', 'del', 'dev', TAP, 'mode', 'tap'], { stdio: 'ignore' });
    spawnSync('ip', ['-n', ns, 'tuntap', 'del', 'dev', ECHO_TAP, 'mode', 'tap'], { stdio: 'ignore' });
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--app') {
  const busy = process.argv[6];
  await app(
    process.argv[3] as KloopMode,
    process.argv[4] === 'on',
    process.argv[5]!,
    busy === undefined ? undefined : Number(busy),
  );
}
