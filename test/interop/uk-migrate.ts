// Run inside an interop namespace (root), not a test itself: one half of a live migration over a
// persistent TAP (test/interop/migrate-tap.test.ts).
//
//   uk-migrate.ts freeze TAP IPV4 OUT AFTER: boots on the TAP with a receiver on port 9 that
//     appends what it reads to OUT; once AFTER bytes arrived, freezes, writes the snapshot to
//     OUT.snap, prints "frozen" and exits.
//   uk-migrate.ts restore TAP IPV4 OUT: waits for a line on stdin (the snapshot is ready), boots on
//     the TAP with `restore`, appends the rest of the stream to OUT, ends its side when the peer
//     does, and prints one JSON line (outage, resets) once the connection is over.
import { openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { openTapPort } from '../../src/host/index.ts';
import type { Socket } from '../../src/stack/index.ts';
import { Unikernel } from '../../src/unikernel/index.ts';

const [role, tap, ipv4, out, afterArg] = process.argv.slice(2);
const keepAlive = setInterval(() => {}, 1 << 30);
const fd = openSync(out!, 'a');
let got = 0;
let over = false;
const take = (s: Socket): void => {
  s.on('data', (d: Buffer) => {
    writeSync(fd, d);
    got += d.length;
  });
  s.on('end', () => s.end());
  s.on('close', () => (over = true));
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

if (role === 'freeze') {
  const port = openTapPort(tap!);
  const uk = await Unikernel.boot({ port, ipv4: ipv4! });
  uk.net.createServer(take).listen(9);
  process.stdout.write('ready\n');
  while (got < Number(afterArg)) await sleep(1);
  const snap = await uk.freeze();
  port.close();
  writeFileSync(`${out!}.snap`, snap);
  process.stdout.write('frozen\n');
} else {
  await new Promise<void>((r) => {
    const rl = createInterface({ input: process.stdin });
    rl.once('line', () => {
      // stdin would keep the process alive.
      rl.close();
      process.stdin.destroy();
      r();
    });
  });
  const snap = readFileSync(`${out!}.snap`);
  const port = openTapPort(tap!);
  const uk = await Unikernel.boot({ port, ipv4: ipv4!, restore: snap });
  const s = uk.restored!.sockets[0]!;
  take(s);
  while (!over) await sleep(5);
  const c = uk.stack.tcp.counters;
  process.stdout.write(
    `${JSON.stringify({
      outageMs: Math.round(uk.restoreReport!.outageMs),
      restoredAt: got,
      resets: c.outRsts + c.estabResets,
    })}\n`,
  );
  await uk.close();
  port.close();
}
clearInterval(keepAlive);
