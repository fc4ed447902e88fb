// The reference every network figure is compared with, measured in the same run: Linux ⇄ Linux over
// a veth pair between two network namespaces made here (TCP_STREAM with iperf3, TCP_RR with
// bench/c/tcp-rr.c built by gcc, ping RTT). Needs root; otherwise every figure is null with a reason.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LinuxReference {
  tcpStreamGbps: number | null;
  tcpRrTps: number | null;
  pingRttUs: number | null;
  note: string;
}

const NS_A = 'ptnet-bench-a';
const NS_B = 'ptnet-bench-b';
const ADDR_A = '10.201.0.1';
const ADDR_B = '10.201.0.2';

function run(cmd: string, args: string[], timeoutMs = 30_000): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
}

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

function teardown(): void {
  for (const ns of [NS_A, NS_B]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
}

function setup(): void {
  teardown();
  run('ip', ['netns', 'add', NS_A]);
  run('ip', ['netns', 'add', NS_B]);
  run('ip', ['link', 'add', 'pbv-a', 'netns', NS_A, 'type', 'veth', 'peer', 'name', 'pbv-b', 'netns', NS_B]);
  run('ip', ['-n', NS_A, 'addr', 'add', `${ADDR_A}/24`, 'dev', 'pbv-a']);
  run('ip', ['-n', NS_B, 'addr', 'add', `${ADDR_B}/24`, 'dev', 'pbv-b']);
  for (const [ns, dev] of [
    [NS_A, 'pbv-a'],
    [NS_B, 'pbv-b'],
  ] as const) {
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    run('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  }
}

/** Starts `args` in NS_B, waits for its first stdout line, runs `client`, then stops the server. */
async function withServer<T>(args: string[], client: () => T): Promise<T> {
  const server = spawn('ip', ['netns', 'exec', NS_B, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.stdout.once('data', () => resolve());
    setTimeout(resolve, 1500).unref(); // iperf3 -s prints its banner late when stdout is a pipe
  });
  try {
    return client();
  } finally {
    server.kill('SIGKILL');
  }
}

async function tcpStream(seconds: number): Promise<number | null> {
  if (!has('iperf3')) return null;
  return withServer(['iperf3', '-s', '-1', '-p', '5201'], () => {
    const out = run('ip', [
      'netns',
      'exec',
      NS_A,
      'iperf3',
      '-c',
      ADDR_B,
      '-p',
      '5201',
      '-t',
      String(seconds),
      '-J',
    ]);
    const j = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
    return j.end.sum_received.bits_per_second / 1e9;
  });
}

async function tcpRr(seconds: number): Promise<number | null> {
  if (!has('gcc')) return null;
  const dir = mkdtempSync(join(tmpdir(), 'ptnet-bench-'));
  const exe = join(dir, 'tcp-rr');
  run('gcc', ['-O2', '-o', exe, new URL('./c/tcp-rr.c', import.meta.url).pathname]);
  return withServer([exe, 'server', '5202'], () =>
    Number(run('ip', ['netns', 'exec', NS_A, exe, 'client', ADDR_B, '5202', String(seconds)]).trim()),
  );
}

function pingRtt(count: number): number | null {
  const out = run('ip', ['netns', 'exec', NS_A, 'ping', '-q', '-c', String(count), '-i', '0.002', ADDR_B]);
  const m = /= [\d.]+\/([\d.]+)\//.exec(out); // rtt min/avg/max/mdev = a/b/c/d ms
  return m ? Number(m[1]) * 1000 : null;
}

const cached = new Map<number, Promise<LinuxReference>>();

/**
 * Measures once per round of the bench (BenchOptions.round); every suite of that round that
 * compares with Linux awaits the same figures, and the next round measures Linux again, so each
 * round's ratios divide by a reference taken minutes from the figures.
 */
export function linuxReference(quick: boolean, round: number): Promise<LinuxReference> {
  let r = cached.get(round);
  if (r === undefined) {
    r = measure(quick);
    cached.set(round, r);
  }
  return r;
}

async function measure(quick: boolean): Promise<LinuxReference> {
  if (process.getuid?.() !== 0 || !has('ip')) {
    return {
      tcpStreamGbps: null,
      tcpRrTps: null,
      pingRttUs: null,
      note: 'Linux reference skipped: needs root and iproute2',
    };
  }
  setup();
  try {
    const secs = quick ? 1 : 5;
    const tcpStreamGbps = await tcpStream(secs);
    const tcpRrTps = await tcpRr(secs);
    const pingRttUs = pingRtt(quick ? 50 : 500);
    const missing = [tcpStreamGbps === null ? 'iperf3' : '', tcpRrTps === null ? 'gcc' : ''].filter(Boolean);
    return {
      tcpStreamGbps,
      tcpRrTps,
      pingRttUs,
      note: `Linux ⇄ Linux over veth, two netns${missing.length ? `; missing ${missing.join(', ')}` : ''}`,
    };
  } finally {
    teardown();
  }
}
