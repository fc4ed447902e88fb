// One link of bench/migrate.bench.ts's chain of processes (root, inside its namespace): a
// unikernel on a persistent TAP receiving the kernel's stream on port 9 and appending it to OUT.
//
//   migrate-child.ts TAP IPV4 OUT SNAP_IN|- SNAP_OUT|- UNTIL
//
// With SNAP_IN '-' it boots fresh and prints "ready"; otherwise it waits for a line on stdin (the
// previous link has frozen), restores SNAP_IN and prints {"restored":outageMs}. Once OUT holds
// UNTIL bytes (what earlier links wrote included) it freezes, writes SNAP_OUT, prints "frozen"
// and exits; the last link (SNAP_OUT '-') receives to the end and prints {"resets":n}.
import { openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { openTapPort, type TapPort } from '../src/host/index.ts';
import type { Socket } from '../src/stack/index.ts';
import { Unikernel } from '../src/unikernel/index.ts';

const [tap, ipv4, out, snapIn, snapOut, untilArg] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const keepAlive = setInterval(() => {}, 1 << 30);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const fd = openSync(out, 'a');
let got = statSync(out).size;
let over = false;
const until = Number(untilArg);
const take = (s: Socket): void => {
  s.on('data', (d: Buffer) => {
    writeSync(fd, d);
    got += d.length;
    // A link that is to hand the stream on stops reading at its share: the rest waits in the
    // receive buffer and the closed window, and moves with the snapshot. Reading on, a link could
    // take the whole stream and its FIN between two looks of the loop below, and freeze a
    // connection already closed, leaving the last link nothing to wait for.
    if (snapOut !== '-' && got >= until) s.pause();
  });
  s.on('end', () => s.end());
  s.on('close', () => (over = true));
};

let uk: Unikernel;
let port: TapPort;
if (snapIn === '-') {
  port = openTapPort(tap);
  uk = await Unikernel.boot({ port, ipv4 });
  uk.net.createServer(take).listen(9);
  process.stdout.write('ready\n');
} else {
  await new Promise<void>((r) => {
    const rl = createInterface({ input: process.stdin });
    rl.once('line', () => {
      rl.close();
      process.stdin.destroy();
      r();
    });
  });
  // Only now: a single-queue TAP takes one opener at a time, and the previous link has closed it.
  port = openTapPort(tap);
  uk = await Unikernel.boot({ port, ipv4, restore: readFileSync(snapIn) });
  for (const s of uk.restored!.sockets) take(s);
  process.stdout.write(`${JSON.stringify({ restored: uk.restoreReport!.outageMs })}\n`);
}
if (snapOut !== '-') {
  while (got < until && !over) await sleep(1);
  const snap = await uk.freeze();
  port.close();
  writeFileSync(snapOut, snap);
  process.stdout.write('frozen\n');
} else {
  while (!over) await sleep(5);
  const c = uk.stack.tcp.counters;
  process.stdout.write(`${JSON.stringify({ resets: c.outRsts + c.estabResets })}\n`);
  await uk.close();
  port.close();
}
clearInterval(keepAlive);
