// Run inside an interop namespace (root), not a test itself: boots a unikernel on the TAP with the
// discard service, and once the kernel's transfer has started, switches the NIC's sync loop
// between inline and worker on the same TAP `switches` times, `gapMs` apart, while the transfer
// runs (Unikernel.switchBackend). Prints one JSON line when the transfer's connection closes: the
// discard report (bytes, SHA-256), the outages and the unikernel's resets.
import { openTapPort } from '../../src/host/index.ts';
import type { ConnReport } from '../../src/apps/index.ts';
import { Unikernel, type SwitchReport } from '../../src/unikernel/index.ts';

const [tap, ipv4, switchesArg, gapArg] = process.argv.slice(2);
const switches = Number(switchesArg);
const gapMs = Number(gapArg);
const keepAlive = setInterval(() => {}, 1 << 30);
const port = openTapPort(tap!);
const uk = await Unikernel.boot({ port, ipv4: ipv4! });
let report: ConnReport | null = null;
uk.serve({ onClose: (r) => (report ??= r) });
process.stdout.write('ready\n');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
while (uk.stack.tcp.counters.inSegs < 100) await sleep(1);
const moves: SwitchReport[] = [];
for (let i = 0; i < switches && report === null; i++) {
  await sleep(gapMs);
  moves.push(await uk.switchBackend(port, { mode: uk.mode === 'inline' ? 'worker' : 'inline' }));
}
while (report === null) await sleep(5);
const r = report as ConnReport;
process.stdout.write(
  `${JSON.stringify({
    bytes: r.bytes,
    sha256: r.sha256,
    outagesMs: moves.map((m) => Math.round(m.outageMs * 100) / 100),
    txDrained: moves.every((m) => m.txDrained),
    // The connection's resets, from either end; outRsts also counts an RST answering a stray
    // segment after the connection closed (a duplicate ACK of a retransmitted FIN), which is not one.
    resets: uk.stack.tcp.counters.estabResets,
    outRsts: uk.stack.tcp.counters.outRsts,
  })}\n`,
);
await uk.close();
port.close();
clearInterval(keepAlive);
