// The TAP port against the running kernel (root): in a network namespace with a vnet_hdr tap, a
// netmap application (tap-port-app.ts) on the port answers the kernel's ARP and ping, receives
// the kernel's USO super-frames as multi-slot packets, and sends one that the kernel segments for
// a UDP socket, and a TSO super-frame whose kernel segments tshark checks on a veth (spec oracle A
// topology: tc mirred from the tap's ingress to a veth with offloads off) — with the kloop inline
// and in a worker, and both readiness sources.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DROP_REASONS } from '../../src/host/index.ts';
import { destroyNamespace, disableIpv6, freshNamespace, mirrorTapToVeth } from '../support/netns.ts';
import { skipPrivileged } from '../support/privileged.ts';

const NS = `ptnet-tport-${process.pid}`;
const TAP = 'ptq0';
/** Second tap for the TSO capture: everything the app writes into it is redirected to VETH0. */
const TAP2 = 'ptq1';
const VETH0 = 'ptqv0';
const VETH1 = 'ptqv1';
const KERNEL_IP = '10.79.0.1';
const APP_IP = '10.79.0.2';
const APP_MAC = '02:00:00:00:79:02';
const sh = (...args: string[]): string => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' });
const inNs = (...args: string[]): string[] => ['netns', 'exec', NS, ...args];
const zeroDrops = Object.fromEntries(DROP_REASONS.map((r) => [r, 0]));

interface App {
  ready: Promise<void>;
  result: Promise<Record<string, unknown>>;
  child: ChildProcess;
}

/** Starts tap-port-app.ts in the namespace; `ready` once its rings are up, `result` its JSON line. */
function startApp(...args: string[]): App {
  const child = spawn('ip', inNs(process.execPath, '--import', 'tsx', 'test/host/tap-port-app.ts', ...args), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let onReady: () => void = () => {};
  const ready = new Promise<void>((r) => (onReady = r));
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready\n')) onReady();
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const result = new Promise<Record<string, unknown>>((resolve, reject) =>
    child.on('close', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) reject(new Error(`app exited ${code}: ${out}\n${err}`));
      else resolve(JSON.parse(last) as Record<string, unknown>);
    }),
  );
  return { ready: Promise.race([ready, result.then(() => {})]), result, child };
}

/** Carrier reaches the qdisc through linkwatch, up to ~1 s after the fd attached: wait for it. */
async function carrierUp(): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if (sh('ip', '-n', NS, '-o', 'link', 'show', 'dev', TAP).includes('LOWER_UP')) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function run(cmd: string, ...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn('ip', inNs(cmd, ...args), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('close', (code) => resolve({ code, out }));
  });
}

const TOOLS = ['ip', 'tc', 'ping', 'python3', 'tcpdump', 'tshark', 'ethtool'];
describe.skipIf(skipPrivileged('TAP port tests', TOOLS))('TAP port on a kernel tap', () => {
  beforeAll(() => {
    freshNamespace(NS, [TAP, TAP2]); // a leftover of a killed run goes first
    sh('ip', '-n', NS, 'addr', 'add', `${KERNEL_IP}/24`, 'dev', TAP);
    sh('ip', '-n', NS, 'link', 'set', TAP, 'up');
    disableIpv6(NS); // no ND/MLD chatter on the ports
    // Software GSO and full checksums on the way out, so the capture holds wire bytes.
    mirrorTapToVeth(NS, TAP2, VETH0, VETH1);
  });

  afterAll(() => destroyNamespace(NS, [TAP, TAP2]));

  it.each([
    ['inline', 'timer', 'csb'],
    ['worker', 'thread', 'csb'],
    ['worker', 'thread', 'ptnet'],
  ])('answers the kernel ARP and ping -c 3 (kloop %s, readiness %s, %s guest)', async (mode, wake, guest) => {
    const app = startApp('echo', mode, wake, TAP, APP_MAC, APP_IP, KERNEL_IP, '0', '3', guest);
    await app.ready;
    await carrierUp();
    const ping = await run('ping', '-n', '-c', '3', '-i', '0.2', '-w', '10', APP_IP);
    const r = await app.result;
    expect(ping.out).toContain('3 received');
    expect(ping.code).toBe(0);
    expect(r.arp).toBeGreaterThanOrEqual(1);
    expect(r.echo).toBe(3);
    expect(r.txPackets).toBe((r.arp as number) + 3);
    expect(r.drops).toEqual(zeroDrops);
    expect(r.hdrLen).toBe(12);
    expect(r.guestHdrLen).toBe(12);
    expect(r.setHdr10).toBe(false);
    expect(r.rescues).toBe(0);
  });

  it.each([
    ['worker', 'csb'],
    ['inline', 'ptnet'],
  ])(
    'receives the kernel USO super-frames as multi-slot packets with their vnet header (kloop %s, %s guest)',
    async (mode, guest) => {
      sh('ip', '-n', NS, 'neigh', 'replace', APP_IP, 'lladdr', APP_MAC, 'dev', TAP, 'nud', 'permanent');
      const app = startApp('rx', mode, 'thread', TAP, APP_MAC, APP_IP, KERNEL_IP, '9999', '2', guest);
      await app.ready;
      await carrierUp();
      // UDP_SEGMENT (103): one sendto becomes one GSO_UDP_L4 skb, which a USO-capable tap hands over whole.
      const py = [
        'import socket',
        's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
        'p = bytes(i % 251 for i in range(56000))',
        's.setsockopt(socket.SOL_UDP, 103, 1000)',
        `s.sendto(p[:3000], ('${APP_IP}', 9999))`,
        's.setsockopt(socket.SOL_UDP, 103, 1400)',
        `s.sendto(p, ('${APP_IP}', 9999))`,
      ].join('\n');
      expect((await run('python3', '-c', py)).code).toBe(0);
      const r = await app.result;
      const hdr = { flags: 1, gsoType: 5, hdrLen: 42, csumStart: 34, csumOffset: 6, numBuffers: 0 };
      const ok = { payloadOk: true, partialOk: true };
      expect(r.udp).toEqual([
        { ...hdr, ...ok, slots: 2, len: 12 + 42 + 3000, gsoSize: 1000, payload: 3000 },
        { ...hdr, ...ok, slots: 28, len: 12 + 42 + 56000, gsoSize: 1400, payload: 56000 },
      ]);
      expect(r.drops).toEqual(zeroDrops);
    },
  );

  it("receives a kernel TCP sender's TSO super-frames as multi-slot TCPV4 packets", async () => {
    sh('ip', '-n', NS, 'neigh', 'replace', APP_IP, 'lladdr', APP_MAC, 'dev', TAP, 'nud', 'permanent');
    // The app answers the SYN and never ACKs data: the first flight is cwnd 10 × MSS 1460.
    const app = startApp(
      'tcp',
      'inline',
      'thread',
      TAP,
      APP_MAC,
      APP_IP,
      KERNEL_IP,
      '5001',
      String(10 * 1460),
    );
    await app.ready;
    await carrierUp();
    const py = [
      'import socket, time',
      `s = socket.create_connection(('${APP_IP}', 5001), timeout=5)`,
      's.send(bytes(i % 251 for i in range(100000)))',
      'time.sleep(1)',
    ].join('\n');
    const client = run('timeout', '8', 'python3', '-c', py);
    const r = await app.result;
    await client;
    const frames = r.tcp as Record<string, number | boolean>[];
    const hdr = {
      flags: 1,
      gsoType: 1,
      hdrLen: 54,
      gsoSize: 1460,
      csumStart: 34,
      csumOffset: 16,
      numBuffers: 0,
    };
    for (const f of frames) {
      // An skb of one MSS is not GSO (tcp_set_skb_tso_segs): a loaded sender may push one alone
      // before the rest of its write is in the queue; it still carries a partial checksum.
      const one = f.gsoType === 0;
      expect(f).toMatchObject({
        ...(one ? { ...hdr, gsoType: 0, gsoSize: 0, hdrLen: f.hdrLen } : hdr),
        payloadOk: true,
        partialOk: true,
        len: 12 + 54 + (f.payload as number),
      });
      expect((f.payload as number) % 1460).toBe(0);
      if (one) expect(f.payload).toBe(1460);
    }
    expect(frames.reduce((a, f) => a + (f.payload as number), 0)).toBe(10 * 1460);
    expect(frames.some((f) => f.gsoType === 1)).toBe(true);
    expect(Math.max(...frames.map((f) => f.slots as number))).toBeGreaterThan(1);
    expect(r.drops).toEqual(zeroDrops);
  });

  it.each(['inline', 'worker'])(
    'sends a USO super-frame the kernel segments; a refused header is counted and the loop goes on (kloop %s)',
    async (mode) => {
      // A kernel UDP socket collects what arrives: 3 segments of the super-frame, then the plain one.
      const py = [
        'import socket, json',
        's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
        `s.bind(('${KERNEL_IP}', 7777))`,
        's.settimeout(8)',
        "print('listening', flush=True)",
        'got = []',
        'while len(got) < 4: got.append(s.recv(65535))',
        'p = bytes(i % 251 for i in range(3000))',
        'print(json.dumps({"lens": [len(g) for g in got], "same": got[:3] == [p[:1000], p[1000:2000], p[2000:]] and got[3] == p[:500]}))',
      ].join('\n');
      const listener = spawn('ip', inNs('python3', '-c', py), { stdio: ['ignore', 'pipe', 'inherit'] });
      let lout = '';
      const listening = new Promise<void>((res) =>
        listener.stdout.on('data', (d: Buffer) => {
          lout += d.toString();
          if (lout.includes('listening')) res();
        }),
      );
      const closed = new Promise<void>((res) => listener.on('close', () => res()));
      await listening;
      const app = startApp('tx', mode, 'thread', TAP, APP_MAC, APP_IP, KERNEL_IP, '7777', '0');
      const r = await app.result;
      await closed;
      expect(JSON.parse(lout.trim().split('\n').at(-1)!)).toEqual({
        lens: [1000, 1000, 1000, 500],
        same: true,
      });
      expect(r.stats).toMatchObject({ rejected: 1, ioErrors: 0, txEagain: 0 });
      expect(r.drops).toEqual({ ...zeroDrops, BAD_VNET_HDR: 1 });
      expect(r.txPackets).toBe(2);
    },
  );

  it('writes TCPv4 and TCPv6 TSO super-frames that the kernel cuts into the segments Linux would send', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ptnet-tport-'));
    const pcap = join(dir, 'tso.pcap');
    try {
      const td = spawn('ip', inNs('tcpdump', '-i', VETH1, '-U', '-s', '0', '-c', '7', '-w', pcap), {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let terr = '';
      await new Promise<void>((res) =>
        td.stderr.on('data', (d: Buffer) => {
          terr += d.toString();
          if (terr.includes('listening')) res();
        }),
      );
      const done = new Promise<void>((res) => td.on('close', () => res()));
      const timer = setTimeout(() => td.kill(), 10_000);
      const r = await startApp('tso', 'worker', 'thread', TAP2, APP_MAC, APP_IP, KERNEL_IP, '5001', '0')
        .result;
      await done;
      clearTimeout(timer);
      expect(r.txPackets).toBe(2);
      expect(r.drops).toEqual(zeroDrops);
      const fieldsOf = (filter: string, fields: string[]): string[][] =>
        sh(
          'tshark',
          '-r',
          pcap,
          '-Y',
          filter,
          '-o',
          'tcp.check_checksum:TRUE',
          '-o',
          'ip.check_checksum:TRUE',
          '-o',
          'tcp.relative_sequence_numbers:FALSE',
          '-T',
          'fields',
          ...fields.flatMap((f) => ['-e', f]),
        )
          .trim()
          .split('\n')
          .map((l) => l.split('\t'));
      // tcp_gso_segment: consecutive IP ids, seq + gso_size, PSH/FIN only on the last, checksums Good.
      const tcp = ['tcp.seq', 'tcp.len', 'tcp.flags', 'tcp.checksum.status'];
      expect(fieldsOf('ip', ['frame.len', 'ip.id', 'ip.len', ...tcp, 'ip.checksum.status'])).toEqual(
        [0, 1, 2, 3].map((k) => [
          '1054',
          `0x${(0x100 + k).toString(16).padStart(4, '0')}`,
          '1040',
          String(0x1000 + 1000 * k),
          '1000',
          k === 3 ? '0x0018' : '0x0010',
          '1',
          '1',
        ]),
      );
      expect(fieldsOf('ipv6', ['frame.len', 'ipv6.plen', ...tcp])).toEqual(
        [0, 1, 2].map((k) => {
          const len = k === 2 ? 600 : 1200;
          return [
            String(74 + len),
            String(20 + len),
            String(0x2000 + 1200 * k),
            String(len),
            k === 2 ? '0x0019' : '0x0010',
            '1',
          ];
        }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
