// `ptnet-ts tap-serve --tap NAME --ipv4 ADDR/LEN …`: one unikernel whose ptnet NIC is backed by
// the existing TAP interface NAME (in this network namespace), serving TCP echo (7), TCP discard
// (9, one line per connection with bytes and SHA-256), UDP echo (7) and HTTP (80), and answering
// ping (v4, and v6 with --ipv6 once DAD has passed). Prints a line containing `ready` once it
// serves; SIGINT/SIGTERM shut it down with exit 0.
// `--fetch URL` also makes the unikernel a client: it GETs URL once and prints bytes and SHA-256.
// Exit 2 with one line on a usage error, a missing TAP or an unopenable /dev/net/tun.
import { httpGet, type ConnReport, type HttpLogEntry } from '../apps/index.ts';
import { openTapPort, type KloopMode, type TapPort } from '../host/index.ts';
import { TapError } from '../host/tap/index.ts';
import { Unikernel, UnikernelError } from '../unikernel/index.ts';
import { addressError, parseOrExit } from './usage.ts';

const USAGE =
  'usage: ptnet-ts tap-serve --tap NAME --ipv4 ADDR/LEN [--ipv6 ADDR/LEN] [--gateway ADDR]\n' +
  '                          [--mode inline|worker] [--no-offloads] [--fetch http://HOST[:PORT]/PATH]';

interface ServeArgs {
  tap: string;
  ipv4: string;
  ipv6?: string;
  gateway?: string;
  gateway6?: string;
  mode: KloopMode;
  offloads: boolean;
  fetch?: { host: string; port: number; path: string };
}

function parseArgs(args: string[]): ServeArgs | string {
  const v: Record<string, string> = {};
  const gateways: string[] = [];
  let offloads = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--no-offloads') {
      offloads = false;
      continue;
    }
    if (!['--tap', '--ipv4', '--ipv6', '--gateway', '--mode', '--fetch'].includes(a))
      return `unknown argument ${a}`;
    const x = args[++i];
    if (x === undefined) return `${a} needs a value`;
    if (a === '--gateway') gateways.push(x);
    else v[a.slice(2)] = x;
  }
  if (v.tap === undefined || v.ipv4 === undefined) return '--tap and --ipv4 are required';
  const badAddress =
    addressError('--ipv4', v.ipv4, 4, true) ??
    (v.ipv6 === undefined ? null : addressError('--ipv6', v.ipv6, 6, true)) ??
    gateways.map((g) => addressError('--gateway', g, g.includes(':') ? 6 : 4, false)).find((x) => x !== null);
  if (badAddress !== null && badAddress !== undefined) return badAddress;
  const mode = v.mode ?? 'worker';
  if (mode !== 'inline' && mode !== 'worker') return '--mode is inline or worker';
  const o: ServeArgs = { tap: v.tap, ipv4: v.ipv4, mode, offloads };
  if (v.ipv6 !== undefined) o.ipv6 = v.ipv6;
  // One --gateway per family: an address with a colon is the IPv6 router.
  for (const g of gateways) {
    const key = g.includes(':') ? 'gateway6' : 'gateway';
    if (o[key] !== undefined) return `more than one ${key === 'gateway6' ? 'IPv6' : 'IPv4'} --gateway`;
    o[key] = g;
  }
  if (v.fetch !== undefined) {
    const m = /^http:\/\/(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?(\/\S*)?$/.exec(v.fetch);
    if (m === null) return '--fetch takes http://A.B.C.D[:PORT]/PATH or http://[IPV6][:PORT]/PATH';
    o.fetch = { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2] ?? 80), path: m[3] ?? '/' };
  }
  return o;
}

/** "A.B.C.D:port" or "[v6]:port". */
const endpoint = (addr: string, port: number): string =>
  addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function report(r: ConnReport): void {
  const err = r.error === undefined ? '' : ` error=${r.error}`;
  const hash = r.sha256 === undefined ? '' : ` sha256=${r.sha256}`;
  out(
    `${r.service} ${endpoint(r.remoteAddress, r.remotePort)} closed bytes=${r.bytes}${hash} sent=${r.bytesWritten} ms=${Math.round(r.ms)}${err}`,
  );
}

function logHttp(e: HttpLogEntry): void {
  out(`http ${e.remoteAddress} ${e.method} ${e.target} ${e.status} bytes=${e.bytes}`);
}

export async function run(args: string[]): Promise<number> {
  const o = parseOrExit('tap-serve', USAGE, args, parseArgs);
  if (typeof o === 'number') return o;
  let port: TapPort | null = null;
  let uk: Unikernel;
  // Ports, loops and stack timers do not keep the process alive by design; a server must.
  const keepAlive = setInterval(() => {}, 1 << 30);
  try {
    port = openTapPort(o.tap);
    uk = await Unikernel.boot({
      port,
      ipv4: o.ipv4,
      mode: o.mode,
      offloads: o.offloads,
      ...(o.ipv6 === undefined ? {} : { ipv6: o.ipv6 }),
      ...(o.gateway === undefined ? {} : { gateway: o.gateway }),
      ...(o.gateway6 === undefined ? {} : { gateway6: o.gateway6 }),
    });
  } catch (e) {
    clearInterval(keepAlive);
    port?.close();
    if (e instanceof TapError || e instanceof UnikernelError) {
      process.stderr.write(`ptnet-ts tap-serve: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const svc = uk.serve({ onClose: report, http: { onRequest: logHttp } });
  const stopped = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const v6 = o.ipv6 === undefined ? '' : ` and ${o.ipv6}`;
  out(
    `ready: ${o.ipv4}${v6} on tap ${o.tap} (mac ${[...uk.netif.mac].map((b) => b.toString(16).padStart(2, '0')).join(':')}, ` +
      `${o.mode} sync loop, offloads ${uk.offloads ? 'on' : 'off'}): tcp echo 7, discard 9, udp echo 7, http 80`,
  );
  if (o.fetch !== undefined) {
    const f = o.fetch;
    const url = `http://${endpoint(f.host, f.port)}${f.path}`;
    httpGet(uk.net, { host: f.host, port: f.port, path: f.path, timeoutMs: 120_000 }).then(
      (r) =>
        out(`fetch ${url} status=${r.status} bytes=${r.bytes} sha256=${r.sha256} ms=${Math.round(r.ms)}`),
      (e: Error & { code?: string }) => out(`fetch ${url} error=${e.code ?? e.message}`),
    );
  }
  const sig = await stopped;
  clearInterval(keepAlive);
  svc.close();
  const s = uk.stats();
  uk.shutdown();
  port.close();
  out(
    `stopped (${sig}): tx ${s.txPackets} pkts, rx ${s.rxPackets} pkts, drops ${s.drops}, retransmits ${s.retransmits}`,
  );
  return 0;
}
