// TAP wake-up driver (not a bench suite; root): one unikernel on a vnet_hdr TAP in a fresh network
// namespace, the kernel pinging it and running TCP_RR (bench/c/tcp-rr.c) and TCP_STREAM
// (bench/c/tcp-bulk.c) against it, then the unikernel's TCP_STREAM into the kernel (streamUpGbps). The unikernel is `bench/e2e-tap.ts --app` of the checkout given
// by --tree (default this one), so the same command compares two checkouts (interleaved A/B).
//   npx tsx bench/tap-latency.ts [--mode worker|inline] [--tree DIR] [--pings 500] [--secs 2]
//     [--busy-poll US] (the app's TapPortOptions.busyPollUs; a checkout without it ignores it)
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const mode = opt('--mode') === 'inline' ? 'inline' : 'worker';
const tree = opt('--tree') ?? fileURLToPath(new URL('..', import.meta.url));
const pings = Number(opt('--pings') ?? 500);
const secs = opt('--secs') ?? '2';
const busyPoll = opt('--busy-poll');
const NS = `tapH-lat-${process.pid}`;
const TAP = 'ptl0';
// The addresses bench/e2e-tap.ts's app uses.
const KERNEL_IP = '10.82.0.1';
const UK_IP = '10.82.0.2';
const sh = (...a: string[]): string =>
  execFileSync(a[0]!, a.slice(1), { encoding: 'utf8', timeout: 120_000 });
const inNs = (...a: string[]): string => sh('ip', 'netns', 'exec', NS, ...a);

const dir = mkdtempSync(join(tmpdir(), 'ptnet-taplat-'));
const rrBin = join(dir, 'tcp-rr');
const bulkBin = join(dir, 'tcp-bulk');
sh('gcc', '-O2', '-o', rrBin, new URL('./c/tcp-rr.c', import.meta.url).pathname);
sh('gcc', '-O2', '-o', bulkBin, new URL('./c/tcp-bulk.c', import.meta.url).pathname);
sh('ip', 'netns', 'add', NS);
try {
  sh('ip', '-n', NS, 'link', 'set', 'lo', 'up');
  sh('ip', '-n', NS, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap', 'vnet_hdr');
  sh('ip', '-n', NS, 'addr', 'add', `${KERNEL_IP}/24`, 'dev', TAP);
  sh('ip', '-n', NS, 'link', 'set', TAP, 'up');
  inNs('sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      NS,
      process.execPath,
      '--import',
      'tsx',
      'bench/e2e-tap.ts',
      '--app',
      mode,
      'on',
      TAP,
      ...(busyPoll === undefined ? [] : [busyPoll]),
    ],
    { cwd: tree, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.value !== 'ready') throw new Error(`unikernel did not boot: ${String(first.value)}`);
  for (let i = 0; i < 40 && !sh('ip', '-n', NS, '-o', 'link', 'show', 'dev', TAP).includes('LOWER_UP'); i++)
    await new Promise((r) => setTimeout(r, 50));
  inNs('ping', '-q', '-c', '20', '-i', '0.002', UK_IP); // ARP
  const stats = (out: string): number[] =>
    (/= ([\d.]+)\/([\d.]+)\//.exec(out) ?? []).slice(1).map((v) => Number(v) * 1000);
  // Cold: the ICMP path has run a few times only (V8's lower tiers); then warm, after a flood of
  // 10000 echoes, as the e2e suite's row measures it (bench/e2e-tap.ts kernelPing).
  const [coldMin, coldAvg] = stats(inNs('ping', '-q', '-c', String(pings), '-i', '0.002', UK_IP));
  inNs('ping', '-q', '-f', '-c', '10000', '-w', '20', UK_IP);
  const [min, avg] = stats(inNs('ping', '-q', '-c', String(pings), '-i', '0.002', UK_IP));
  const rr = Number(inNs(rrBin, 'client', UK_IP, '7', secs).split(/\s/)[0]);
  const gbps = Number(inNs(bulkBin, 'send', UK_IP, '9', secs).split(/\s/)[0]);
  // uk → Linux: the unikernel's bulk send into the kernel's sink (it prints Gbps at EOF).
  const sink = spawn('ip', ['netns', 'exec', NS, bulkBin, 'sink', '5001'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const sinkOut = createInterface({ input: sink.stdout })[Symbol.asyncIterator]();
  await sinkOut.next(); // listening
  child.stdin!.write(`stream ${KERNEL_IP} 5001 ${Number(secs) * 1000}\n`);
  await lines.next();
  const upGbps = Number(String((await sinkOut.next()).value ?? 'NaN').split(' ')[0]);
  sink.kill('SIGKILL');
  // The app's TAP counters (busy polls, watch changes), from a checkout that reports them.
  child.stdin!.write('stats\n');
  const reply = JSON.parse(String((await lines.next()).value ?? '{}')) as { tap?: unknown };
  child.stdin!.end('quit\n');
  const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
  await new Promise((r) => child.on('close', r));
  clearTimeout(kill);
  console.log(
    JSON.stringify({
      mode,
      pingColdAvgUs: Number(coldAvg!.toFixed(1)),
      pingColdMinUs: Number(coldMin!.toFixed(1)),
      pingAvgUs: Number(avg!.toFixed(1)),
      pingMinUs: Number(min!.toFixed(1)),
      rrTps: Math.round(rr),
      streamGbps: gbps,
      streamUpGbps: upGbps,
      ...(reply.tap === undefined ? {} : { tap: reply.tap }),
    }),
  );
} finally {
  execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
}
