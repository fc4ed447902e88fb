// `ptnet-ts tap-serve --tap NAME --ipv4 ADDR/LEN …`: one unikernel whose ptnet NIC is backed by
// the existing TAP interface NAME (in this network namespace), serving TCP echo (7), TCP discard
// (9, one line per connection with bytes and SHA-256), UDP echo (7) and HTTP (80), and answering
// ping (v4, and v6 with --ipv6 once DAD has passed). Prints a line containing `ready` once it
// serves; SIGINT/SIGTERM shut it down with exit 0.
// `--fetch URL` also makes the unikernel a client: it GETs URL once and prints bytes and SHA-256.
// Exit 2 with one line on a usage error, a missing TAP or an unopenable /dev/net/tun.
import { httpGet, type ConnReport, type HttpLogEntry } from '../apps/index.ts';
import { HostError, openTapPort, type KloopMode, type TapPort } from '../host/index.ts';
import { TapError } from '../host/tap/index.ts';
import { Unikernel, UnikernelError } from '../unikernel/index.ts';
import { addressError, fail, parseCommand, type CommandSpec } from './usage.ts';

const USAGE =
  'usage: ptnet-ts tap-serve --tap NAME --ipv4 ADDR/LEN [--ipv6 ADDR/LEN] [--gateway ADDR]\n' +
  '                          [--mode inline|worker] [--no-offloads] [--fetch http://HOST[:PORT]/PATH]\n' +
  '  Serves TCP echo 7, discard 9, UDP echo 7 and HTTP 80 from one unikernel behind the TAP NAME;\n' +
  '  prints a line with "ready" once it serves; SIGINT/SIGTERM stop it with exit 0.\n' +
  '  Exit 2 on a usage error or a TAP that cannot be opened (one line on stderr).';

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

const SPEC: CommandSpec<ServeArgs> = {
  cmd: 'tap-serve',
  usage: USAGE,
  options: {
    tap: { type: 'string' },
    ipv4: { type: 'string' },
    ipv6: { type: 'string' },
    gateway: { type: 'string', multiple: true },
    mode: { type: 'string' },
    'no-offloads': { type: 'boolean' },
    fetch: { type: 'string' },
  },
  build(v, positionals) {
    if (positionals.length > 0) return `unknown argument ${positionals[0]}`;
    const str = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);
    const tap = str(v.tap);
    const ipv4 = str(v.ipv4);
    const ipv6 = str(v.ipv6);
    const gateways = Array.isArray(v.gateway) ? v.gateway : [];
    if (tap === undefined || ipv4 === undefined) return '--tap and --ipv4 are required';
    const badAddress =
      addressError('--ipv4', ipv4, 4, true) ??
      (ipv6 === undefined ? null : addressError('--ipv6', ipv6, 6, true)) ??
      gateways
        .map((g) => addressError('--gateway', g, g.includes(':') ? 6 : 4, false))
        .find((x) => x !== null);
    if (badAddress !== null && badAddress !== undefined) return badAddress;
    const mode = str(v.mode) ?? 'worker';
    if (mode !== 'inline' && mode !== 'worker') return '--mode is inline or worker';
    const o: ServeArgs = { tap, ipv4, mode, offloads: v['no-offloads'] !== true };
    if (ipv6 !== undefined) o.ipv6 = ipv6;
    // One --gateway per family: an address with a colon is the IPv6 router.
    for (const g of gateways) {
      const key = g.includes(':') ? 'gateway6' : 'gateway';
      if (o[key] !== undefined) return `more than one ${key === 'gateway6' ? 'IPv6' : 'IPv4'} --gateway`;
      o[key] = g;
    }
    const fetch = str(v.fetch);
    if (fetch !== undefined) {
      const m = /^http:\/\/(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?(\/\S*)?$/.exec(fetch);
      if (m === null || Number(m[2] ?? 80) > 65535)
        return '--fetch takes http://A.B.C.D[:PORT]/PATH or http://[IPV6][:PORT]/PATH';
      o.fetch = { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2] ?? 80), path: m[3] ?? '/' };
    }
    return o;
  },
};

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
  const parsed = parseCommand(SPEC, args);
  if (typeof parsed === 'number') return parsed;
  const { o, cli } = parsed;
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
    if (e instanceof TapError || e instanceof UnikernelError || e instanceof HostError) {
      return fail(cli, e.code, e.message);
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
