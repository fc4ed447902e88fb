// Hostile ring indices on both sides of the CSB. Host side: a Kring fed (head, cur) pairs as a
// guest would publish them must keep every shadow index in range and count one reinit per refused
// prologue. Guest side: an attached ptnet adapter whose "host" writes arbitrary hwcur/hwtail into
// the CSB must keep its ring indices in range through txsync/rxsync. Input: big-endian u32s.
import { Machine } from '../../src/device/index.ts';
import { PtnetAdapter } from '../../src/driver/index.ts';
import { KRING_WORDS, Kring } from '../../src/host/index.ts';
import { FakeKloop, FakePort } from '../../test/device/fake-backend.ts';

export const maxLen = 1024;

export function seeds(): Uint8Array[] {
  return [
    new Uint8Array([0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 5, 0, 0, 0, 9, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1]),
  ];
}

const machine = new Machine({ size: 16 * 4096 });
machine.addPtnet(new FakePort('p', 1, 1, 16, 32), (port, c, i) => new FakeKloop(port, c, i));
const a = PtnetAdapter.attach(machine);
const tx = a.krings[0]!;
const rx = a.krings[1]!;

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function inRange(what: string, n: number, ...v: number[]): void {
  for (const x of v) if (!(x >= 0 && x < n)) throw new Error(`${what}: index ${x} outside a ${n}-slot ring`);
}

export function fuzz(data: Uint8Array): void {
  const words: number[] = [];
  for (let o = 0; o + 4 <= data.length; o += 4) words.push(u32(data, o));
  if (words.length === 0) return;
  // Host side
  const n = 2 + (words[0]! % 63);
  const kr = new Kring(new Int32Array(KRING_WORDS), 0, n, (words[0]! & 0x80) !== 0);
  kr.reset();
  let refused = 0;
  for (let i = 1; i + 1 < words.length; i += 2) {
    if (!kr.prologue(words[i]! | 0, words[i + 1]! | 0)) refused++;
    inRange('host kring', n, kr.rhead, kr.rcur, kr.rtail, kr.hwcur, kr.hwtail);
  }
  if (kr.reinits !== refused) throw new Error(`${refused} refused prologues, ${kr.reinits} reinits`);
  // Guest side: the words are what a hostile host writes into ktoa between syncs.
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const k = (w & 1) === 0 ? tx : rx;
    if ((w & 2) === 0) k.ktoa.hwtail = w >>> 2;
    else k.ktoa.hwcur = w >>> 2;
    k.ring.head = k.ring.cur = (w >>> 8) % k.numSlots;
    if (k === tx) a.txsync(k, 0);
    else a.rxsync(k);
    inRange(
      'guest kring',
      k.numSlots,
      k.ring.head,
      k.ring.cur,
      k.ring.tail,
      k.hwcur,
      k.hwtail,
      k.rhead,
      k.rcur,
    );
  }
}
