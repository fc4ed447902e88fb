// Readiness thread of a TAP port (tap-port.ts, wake 'thread'): blocks in poll(2) on the tap fd while
// the datapath has armed it (RX ran dry, or a write got EAGAIN) and then rings the port's doorbell
// exactly as PortDatapath.wake does, so a kloop asleep in Atomics.wait / waitAsync runs the ring.
// It never reads or writes frames. Plain JavaScript on purpose: no tsx boot, it starts in ms.
import { workerData } from 'node:worker_threads';
import koffi from 'koffi';

const POLLIN = 0x1;
const POLLOUT = 0x4;
const POLLERR = 0x8;
const POLLHUP = 0x10;
const POLLNVAL = 0x20;
const WANT_RX = 1;
const WANT_TX = 2;

const d = workerData;
const w = new Int32Array(d.state);
const poll = koffi.load('libc.so.6').func('int poll(void *fds, unsigned long nfds, int timeout)');
const pfd = new Uint8Array(8); // struct pollfd { int fd; short events; short revents; }
const dv = new DataView(pfd.buffer);
dv.setInt32(0, d.fd, true);

function ring(bit) {
  Atomics.or(w, d.pending, bit);
  Atomics.add(w, d.seq, 1);
  if (Atomics.load(w, d.sleeping) !== 0) Atomics.notify(w, d.seq);
}

while (Atomics.load(w, d.stop) === 0) {
  const want = Atomics.load(w, d.want);
  if (want === 0) {
    Atomics.wait(w, d.want, 0, d.pollMs);
    continue;
  }
  dv.setInt16(4, (want & WANT_RX ? POLLIN : 0) | (want & WANT_TX ? POLLOUT : 0), true);
  dv.setInt16(6, 0, true);
  if (poll(pfd, 1, d.pollMs) <= 0) continue;
  const ev = dv.getUint16(6, true);
  if ((ev & POLLNVAL) !== 0) break; // the descriptor was closed under us
  // A detached tap reports POLLERR at once, over and over: look again later instead of spinning.
  if ((ev & (POLLERR | POLLHUP)) !== 0) Atomics.wait(w, d.stop, 0, d.pollMs);
  if ((want & WANT_RX) !== 0 && (ev & POLLIN) !== 0) {
    Atomics.and(w, d.want, ~WANT_RX);
    ring(d.rxBit);
  }
  if ((want & WANT_TX) !== 0 && (ev & POLLOUT) !== 0) {
    Atomics.and(w, d.want, ~WANT_TX);
    ring(d.txBit);
  }
}
Atomics.store(w, d.stopped, 1);
Atomics.notify(w, d.stopped);
