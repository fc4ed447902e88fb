// migrate (issue 15): one 1 GiB transfer carried across 10 live migrations of its receiver.
// - VALE: between two unikernels of this process; the receiver is frozen and restored on a new
//   port of the same switch, alternating worker and inline loops (make before break: the new NIC
//   is up before the freeze).
// - TAP (root): from the Linux kernel to a chain of processes on one persistent TAP; each link
//   freezes, writes its snapshot and exits, and the next link, started beforehand, restores it
//   (bench/migrate-child.ts). The kernel's RetransSegs over the run is noted.
// Each row: the outage per migration (min / median / max), SHA-256 against the sender's, resets.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { tcpSend } from '../src/apps/index.ts';
import { ValeSwitch, type ValePort } from '../src/host/index.ts';
import type { Socket } from '../src/stack/index.ts';
import { Unikernel } from '../src/unikernel/index.ts';
import { spread, type BenchRow, type BenchSuite } from './harness.ts';

const MIGRATIONS = 10;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** 1 GiB, or 64 MiB with --quick, as a row names it. */
function size(bytes: number): string {
  return bytes >= 1 << 30 ? `${bytes / (1 << 30)} GiB` : `${bytes >> 20} MiB`;
}

async function overVale(bytes: number): Promise<BenchRow> {
  const vale = new ValeSwitch('vmig1g', { vnetHdrLen: 12 });
  let a = await Unikernel.boot({ port: vale.attach('a0'), ipv4: '10.0.0.1/24', mode: 'worker' });
  const b = await Unikernel.boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24' });
  // The receiving application's state, a running hash, moves with it.
  const hash = createHash('sha256');
  let received = 0;
  let digest = '';
  const take = (s: Socket): void => {
    s.on('data', (d: Buffer) => {
      hash.update(d);
      received += d.length;
    });
    s.on('end', () => {
      digest = hash.digest('hex');
      s.end();
    });
  };
  a.net.createServer(take).listen(5000);
  const retransBefore = b.stack.tcp.counters.retransSegs;
  const sent = tcpSend(b.net, { host: '10.0.0.1', port: 5000, bytes, timeoutMs: 600_000 });
  const outages: number[] = [];
  for (let k = 1; k <= MIGRATIONS; k++) {
    while (received < (k * bytes) / (MIGRATIONS + 1)) await sleep(1);
    const old = a.port as ValePort;
    const prev = a;
    a = await Unikernel.boot({
      port: vale.attach(`m${k}`),
      ipv4: '10.0.0.1/24',
      mode: k % 2 === 1 ? 'inline' : 'worker',
      restore: () => prev.freeze(),
    });
    vale.detach(old);
    for (const s of a.restored!.sockets) take(s);
    outages.push(a.restoreReport!.outageMs);
  }
  const r = await sent;
  for (let i = 0; i < 2000 && digest === ''; i++) await sleep(5);
  const resets =
    a.stack.tcp.counters.outRsts + a.stack.tcp.counters.estabResets + b.stack.tcp.counters.outRsts;
  const retrans = b.stack.tcp.counters.retransSegs - retransBefore;
  await a.close();
  await b.close();
  return {
    name: `${size(bytes)} uk→uk over VALE across ${MIGRATIONS} live migrations, outage`,
    value: spread(outages).median,
    unit: 'ms',
    note: `${spread(outages).text}; SHA-256 intact: ${digest === r.sha256 ? 'yes' : 'NO'}, resets ${resets}, sender retransmissions ${retrans}`,
  };
}

const NS = `ptnet-migbench-${process.pid}`;
const TAP = 'ptm0';
const KERNEL_IP = '10.83.0.1';
const UK_IP = '10.83.0.2';
const CHILD = fileURLToPath(new URL('./migrate-child.ts', import.meta.url));
// The kernel's side: send n bytes of a pattern to the unikernel, then print what and its SHA-256.
const SENDER = `
import hashlib, json, socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=120)
n, sent, h = int(sys.argv[3]), 0, hashlib.sha256()
chunk = bytes((i * 7 + 3) & 0xff for i in range(65536))
while sent < n:
    c = chunk[: min(len(chunk), n - sent)]
    s.sendall(c); h.update(c); sent += len(c)
s.shutdown(socket.SHUT_WR)
while s.recv(65536): pass
print(json.dumps({"sent": sent, "sha256": h.hexdigest()}))
`;

function sh(...a: string[]): string {
  return execFileSync(a[0]!, a.slice(1), { encoding: 'utf8', timeout: 120_000 });
}

function retransSegs(): number {
  const lines = sh('ip', 'netns', 'exec', NS, 'cat', '/proc/net/snmp')
    .split('\n')
    .filter((l) => l.startsWith('Tcp:'));
  return Number(lines[1]!.split(/\s+/)[lines[0]!.split(/\s+/).indexOf('RetransSegs')]);
}

interface Link {
  proc: ChildProcess;
  next: (re: RegExp) => Promise<string>;
  exit: Promise<number | null>;
}

function link(args: string[]): Link {
  const proc = spawn('ip', ['netns', 'exec', NS, process.execPath, '--import', 'tsx', CHILD, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiters: [RegExp, (l: string) => void][] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    lines.push(l);
    for (const [re, r] of waiters) if (re.test(l)) r(l);
  });
  const exit = new Promise<number | null>((r) => proc.on('exit', r));
  const next = (re: RegExp): Promise<string> =>
    new Promise((resolve, reject) => {
      const seen = lines.find((l) => re.test(l));
      if (seen !== undefined) return resolve(seen);
      waiters.push([re, resolve]);
      void exit.then((c) => reject(new Error(`migrate-child exited ${c} before ${re}`)));
    });
  return { proc, next, exit };
}

async function overTap(bytes: number): Promise<BenchRow> {
  const name = `${size(bytes)} Linux→uk over TAP across ${MIGRATIONS} migrations between processes, outage`;
  if (process.getuid?.() !== 0) return { name, value: 0, unit: 'ms', note: 'skipped: not running as root' };
  const dir = mkdtempSync(join(tmpdir(), 'ptnet-migbench-'));
  const out = join(dir, 'stream');
  writeFileSync(out, '');
  const snap = (k: number): string => join(dir, `snap${k}`);
  sh('ip', 'netns', 'add', NS);
  const links: Link[] = [];
  try {
    sh('ip', '-n', NS, 'link', 'set', 'lo', 'up');
    // A persistent TAP: it outlives each process that opens and closes it.
    sh('ip', '-n', NS, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap', 'vnet_hdr');
    sh('ip', '-n', NS, 'addr', 'add', `${KERNEL_IP}/24`, 'dev', TAP);
    sh('ip', '-n', NS, 'link', 'set', TAP, 'up');
    const until = (k: number): string => String(Math.round(((k + 1) * bytes) / (MIGRATIONS + 1)));
    const args = (k: number): string[] => [
      TAP,
      `${UK_IP}/24`,
      out,
      k === 0 ? '-' : snap(k - 1),
      k === MIGRATIONS ? '-' : snap(k),
      until(k),
    ];
    links.push(link(args(0)), link(args(1)));
    await links[0]!.next(/^ready$/);
    const before = retransSegs();
    const sender = new Promise<string>((resolve, reject) => {
      const p = spawn('ip', ['netns', 'exec', NS, 'python3', '-c', SENDER, UK_IP, '9', String(bytes)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let s = '';
      p.stdout.on('data', (d: Buffer) => (s += d.toString()));
      p.on('exit', (c) => (c === 0 ? resolve(s) : reject(new Error(`kernel sender exited ${c}`))));
    });
    const outages: number[] = [];
    for (let k = 0; k < MIGRATIONS; k++) {
      await links[k]!.next(/^frozen$/);
      await links[k]!.exit;
      // The link after next starts now, well before it is needed (a process start takes ~1 s).
      if (k + 2 <= MIGRATIONS) links.push(link(args(k + 2)));
      links[k + 1]!.proc.stdin!.write('go\n');
      outages.push((JSON.parse(await links[k + 1]!.next(/^\{"restored"/)) as { restored: number }).restored);
    }
    const last = JSON.parse(await links[MIGRATIONS]!.next(/^\{"resets"/)) as { resets: number };
    const sent = JSON.parse(await sender) as { sent: number; sha256: string };
    await links[MIGRATIONS]!.exit;
    const data = readFileSync(out);
    const intact =
      data.length === sent.sent && createHash('sha256').update(data).digest('hex') === sent.sha256;
    return {
      name,
      value: spread(outages).median,
      unit: 'ms',
      note: `${spread(outages).text}; SHA-256 intact: ${intact ? 'yes' : 'NO'}, resets ${last.resets}, the kernel's RetransSegs +${retransSegs() - before}`,
    };
  } finally {
    for (const l of links) l.proc.kill('SIGKILL');
    execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
}

export const migrateSuite: BenchSuite = {
  name: 'migrate',
  async run({ quick }) {
    const bytes = quick ? 64 << 20 : 1 << 30;
    return [await overVale(bytes), await overTap(bytes)];
  },
};
