// Interleaved A/B (not a bench suite): the e2e measures between two unikernels over VALE, both in
// this thread (inline, as the e2e suite's inline rows) and with a thread each (one in a
// UnikernelWorker, each sync loop inline in its own thread), in turn, so that both see the same
// machine load. One line per round and setting.
//   npx tsx bench/thread-each.ts [--rounds N] [--ms MS] [--pings N] [--busy-poll-us N]
// --busy-poll-us: both threads' BootOptions.busyPollUs (default: off here, the worker's default there).
import { ValeSwitch } from '../src/host/index.ts';
import { Unikernel } from '../src/unikernel/index.ts';
import { E2E_TCP, countingSink, pingUs, rr, rrServer, spawnThreadPeer, stream } from './e2e-lib.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const rounds = opt('--rounds', 3);
const ms = opt('--ms', 1000);
const pings = opt('--pings', 500);
const busy = args.includes('--busy-poll-us') ? opt('--busy-poll-us', 0) : undefined;

/** Stream (Gbps), TCP_RR (tps) and ping (µs) from A to B, B's sink and echo on 5001 and 5002. */
async function measure(a: Unikernel, sinkBytes: () => number): Promise<number[]> {
  return [
    await stream(a.net, '10.0.0.2', 5001, sinkBytes, ms),
    await rr(a.net, '10.0.0.2', 5002, ms),
    await pingUs((h) => a.ping(h), '10.0.0.2', pings),
  ];
}

async function inline(): Promise<number[]> {
  await using vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
  await using a = await Unikernel.boot({ port: vale.attach('a'), ipv4: '10.0.0.1/24', tcp: E2E_TCP });
  await using b = await Unikernel.boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24', tcp: E2E_TCP });
  const sink = countingSink(b.net, 5001);
  const echo = rrServer(b.net, 5002);
  const r = await measure(a, sink.bytes);
  sink.server.close();
  echo.close();
  return r;
}

async function threadEach(): Promise<number[]> {
  await using vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
  await using a = await Unikernel.boot({
    port: vale.attach('a'),
    ipv4: '10.0.0.1/24',
    tcp: E2E_TCP,
    ...(busy === undefined ? {} : { busyPollUs: busy }),
  });
  await using b = await spawnThreadPeer(vale, busy);
  // Awaited here: a plain `return` would dispose of the unikernels before the measure ran.
  return await measure(a, () => b.sinkBytes(5001));
}

const line = (r: number[]): string =>
  `stream ${r[0]!.toFixed(2)} Gbps  TCP_RR ${(r[1]! / 1000).toFixed(1)} K tps  ping ${r[2]!.toFixed(1)} µs`;
for (let i = 0; i < rounds; i++) {
  console.log(`inline       ${line(await inline())}`);
  console.log(`thread each  ${line(await threadEach())}`);
}
