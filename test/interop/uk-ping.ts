// Run inside an interop namespace (root), not a test itself: boots a unikernel on the TAP and
// pings the kernel with its own ping utility (Stack.ping) at each size, over IPv4 and IPv6.
// Prints one JSON line: [family, size, ok] per echo, the drops, and how the driver moved frames
// (frames received by swapping slot buffers, and bytes it copied in and out of slots), and whether
// its NIC counts the kernel as a concurrent peer (NetIf.concurrentPeer: not by default, inline).
import { COPY_SITE, copyBytes } from '../../src/copycount/index.ts';
import { openTapPort } from '../../src/host/index.ts';
import { Unikernel } from '../../src/unikernel/index.ts';

const [tap, ipv4, ipv6, kernel4, kernel6, ...sizes] = process.argv.slice(2);
// Ports, loops and stack timers do not keep the process alive by design (tap-serve does the same).
const keepAlive = setInterval(() => {}, 1 << 30);
const port = openTapPort(tap!);
const uk = await Unikernel.boot({ port, ipv4: ipv4!, ipv6: ipv6! });
const out: [string, number, boolean][] = [];
for (const [family, host] of [
  ['IPv4', kernel4!],
  ['IPv6', kernel6!],
] as const) {
  for (const size of sizes.map(Number)) {
    const ok = await uk.ping(host, { size, timeout: 3000 }).then(
      () => true,
      () => false,
    );
    out.push([family, size, ok]);
  }
}
const drops = uk.stats().drops;
const { rxPackets, rxBorrowed } = uk.netif.counters;
const driver = {
  rxPackets,
  rxBorrowed,
  rxCopied: copyBytes[COPY_SITE.driverRx],
  txCopied: copyBytes[COPY_SITE.driverTx],
};
const concurrentPeer = uk.netif.concurrentPeer;
uk.shutdown();
port.close();
clearInterval(keepAlive);
process.stdout.write(`${JSON.stringify({ out, drops, driver, concurrentPeer })}\n`);
