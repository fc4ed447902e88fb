// switch: the outage of Unikernel.switchBackend while TCP transfers run between two unikernels
// over VALE (issue 15). Three kinds of move, each repeated: to another VALE port with an inline
// loop, to another port with a worker loop (both plugged before the old NIC stops: make before
// break), and re-plugging the same port between inline and worker (which must wait for the old
// loop, a worker thread's start included). Transfers of 256 MiB (64 MiB with --quick) run back to
// back through every move and must arrive intact with no reset; the rows note the sender's
// retransmissions. Wall time; an outage runs from the moment transmit stops to the moment the new
// NIC takes frames. Then live migration (Unikernel.freeze, then boot with `restore` on a new port
// of the same switch, inline or worker, the new NIC plugged before the freeze), repeated under the
// same kind of transfers: its outage runs from the start of freeze() to the restored NIC carrying
// traffic (docs/SNAPSHOT.md §1).
import { createHash, type Hash } from 'node:crypto';
import { tcpSend, type ConnReport } from '../src/apps/index.ts';
import { ValeSwitch, type ValePort } from '../src/host/index.ts';
import type { Socket } from '../src/stack/index.ts';
import { Unikernel, type SwitchReport } from '../src/unikernel/index.ts';
import { spread, type BenchRow, type BenchSuite } from './harness.ts';

type Kind = 'other port, inline' | 'other port, worker' | 'same port, inline ⇄ worker';
const KINDS: Kind[] = ['other port, inline', 'other port, worker', 'same port, inline ⇄ worker'];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const switchSuite: BenchSuite = {
  name: 'switch',
  async run({ quick }) {
    const rows: BenchRow[] = [];
    const perKind = quick ? 3 : 5;
    const bytes = (quick ? 64 : 256) * 1048576;
    const vale = new ValeSwitch('vsw', { vnetHdrLen: 12 });
    const a = await Unikernel.boot({ port: vale.attach('a0'), ipv4: '10.0.0.1/24' });
    const b = await Unikernel.boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24' });
    const reports: ConnReport[] = [];
    a.serve({ onClose: (r) => reports.push(r) });
    const out = new Map<Kind, number[]>(KINDS.map((k) => [k, []]));
    const retransBefore = b.stack.tcp.counters.retransSegs;
    // Transfers back to back: a move always finds one running (a new one starts when one ends).
    const sent: Promise<{ sha256: string }>[] = [];
    let running = false;
    const ensureTransfer = (): void => {
      if (running) return;
      running = true;
      sent.push(
        tcpSend(b.net, { host: '10.0.0.1', port: 9, bytes, timeoutMs: 600_000 }).finally(
          () => (running = false),
        ),
      );
    };
    let n = 0;
    for (const kind of KINDS) {
      for (let i = 0; i < perKind; i++) {
        ensureTransfer();
        await sleep(40);
        ensureTransfer();
        const old = a.port as ValePort;
        let r: SwitchReport;
        if (kind === 'same port, inline ⇄ worker') {
          r = await a.switchBackend(old, { mode: a.mode === 'inline' ? 'worker' : 'inline' });
        } else {
          const mode = kind.endsWith('worker') ? 'worker' : 'inline';
          r = await a.switchBackend(vale.attach(`a${++n}`), { mode });
          vale.detach(old);
        }
        out.get(kind)!.push(r.outageMs);
      }
    }
    const results = await Promise.all(sent);
    for (let i = 0; i < 2000 && reports.length < results.length; i++) await sleep(5);
    const got = new Set(
      reports.filter((x) => x.service === 'discard' && x.bytes === bytes).map((x) => x.sha256),
    );
    const intact = results.every((r) => got.has(r.sha256));
    const resets = a.stack.tcp.counters.outRsts + b.stack.tcp.counters.outRsts;
    const retrans = b.stack.tcp.counters.retransSegs - retransBefore;
    const total = (results.length * bytes) / 1048576;
    for (const kind of KINDS) {
      const v = out.get(kind)!;
      const sp = spread(v);
      rows.push({
        name: `backend switch outage, ${kind}`,
        value: sp.median,
        unit: 'ms',
        note: `${sp.text} over ${v.length} moves during ${results.length} transfers, ${total} MiB in all (SHA-256 intact: ${intact ? 'yes' : 'NO'}, resets ${resets}, sender retransmissions ${retrans})`,
      });
    }
    await a.close();
    await b.close();
    rows.push(...(await migrations(perKind, bytes)));
    return rows;
  },
};

/** Live migrations of the receiving unikernel during back-to-back transfers, inline and worker. */
async function migrations(perKind: number, bytes: number): Promise<BenchRow[]> {
  const vale = new ValeSwitch('vmig', { vnetHdrLen: 12 });
  // Worker first, then alternating: each inline restore freezes a worker unikernel and the reverse.
  let a = await Unikernel.boot({ port: vale.attach('a0'), ipv4: '10.0.0.1/24', mode: 'worker' });
  const b = await Unikernel.boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24' });
  // The receiving application's state (a hash per connection) moves with it.
  const hashes = new Map<number, Hash>();
  const digests = new Set<string>();
  const take = (s: Socket): void => {
    const port = s.remotePort!;
    if (!hashes.has(port)) hashes.set(port, createHash('sha256'));
    s.on('data', (d: Buffer) => hashes.get(port)!.update(d));
    s.on('end', () => {
      digests.add(hashes.get(port)!.digest('hex'));
      s.end();
    });
  };
  a.net.createServer(take).listen(5000);
  const sent: Promise<{ sha256: string }>[] = [];
  let running = false;
  const ensureTransfer = (): void => {
    if (running) return;
    running = true;
    sent.push(
      tcpSend(b.net, { host: '10.0.0.1', port: 5000, bytes, timeoutMs: 600_000 }).finally(
        () => (running = false),
      ),
    );
  };
  const modes = ['inline', 'worker'] as const;
  const out = new Map<string, number[]>(modes.map((m) => [m, []]));
  const retransBefore = b.stack.tcp.counters.retransSegs;
  let n = 0;
  for (let i = 0; i < perKind; i++) {
    for (const mode of modes) {
      ensureTransfer();
      await sleep(40);
      ensureTransfer();
      const old = a.port as ValePort;
      const prev = a;
      // Make before break: the freeze starts once the new NIC (and its worker thread) is up.
      a = await Unikernel.boot({
        port: vale.attach(`m${++n}`),
        ipv4: '10.0.0.1/24',
        mode,
        restore: () => prev.freeze(),
      });
      vale.detach(old);
      for (const s of a.restored!.sockets) take(s);
      out.get(mode)!.push(a.restoreReport!.outageMs);
    }
  }
  const results = await Promise.all(sent);
  for (let i = 0; i < 2000 && digests.size < results.length; i++) await sleep(5);
  const intact = results.every((r) => digests.has(r.sha256));
  const resets =
    a.stack.tcp.counters.outRsts + a.stack.tcp.counters.estabResets + b.stack.tcp.counters.outRsts;
  const retrans = b.stack.tcp.counters.retransSegs - retransBefore;
  const total = (results.length * bytes) / 1048576;
  await a.close();
  await b.close();
  return modes.map((mode) => {
    const v = out.get(mode)!;
    const sp = spread(v);
    return {
      name: `live migration outage, new VALE port, ${mode === 'inline' ? 'worker → inline' : 'inline → worker'} loop`,
      value: sp.median,
      unit: 'ms',
      note: `no target (issue 15 gives none): — ; ${sp.text} over ${v.length} migrations during ${results.length} transfers, ${total} MiB in all (SHA-256 intact: ${intact ? 'yes' : 'NO'}, resets ${resets}, sender retransmissions ${retrans})`,
    };
  });
}
