// Runs one generated case through our engine and states how it differs from the kernel's result.
import { gsoSegment, SegmentList, TsoError } from '../../../src/tso/index.ts';
import {
  TapWriteInfo,
  tapVerdict,
  validateTapWrite,
  type TapKernelBehaviour,
} from '../../../src/vnethdr/index.ts';
import { tapRecord, type GenCase } from './gen.ts';
import type { CaseResult } from './session.ts';

const out = new SegmentList();
const info = new TapWriteInfo();

/** The Fragment header identification Linux chose (random per datagram), or 0. */
function kernelFragId(frames: Uint8Array[]): number {
  const f = frames[0];
  if (f === undefined || f.length < 62) return 0;
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  let nh = 14;
  while (v.getUint16(nh - 2) === 0x8100) nh += 4;
  if (v.getUint16(nh - 2) !== 0x86dd) return 0;
  let p = nh + 40;
  let next = f[nh + 6]!;
  while ((next === 0 || next === 60 || next === 43) && p + 8 <= f.length) {
    next = f[p]!;
    p += (f[p + 1]! + 1) * 8;
  }
  return next === 44 && p + 8 <= f.length ? v.getUint32(p + 4) : 0;
}

function hex(b: Uint8Array, from: number, n = 16): string {
  return Buffer.from(b.subarray(from, from + n)).toString('hex');
}

/** null when identical; else a one-line description of the first difference. */
export function compareCase(c: GenCase, k: CaseResult, kernel: TapKernelBehaviour): string | null {
  let ours: Uint8Array[] = [];
  let err: TsoError | null = null;
  try {
    gsoSegment(c.hdr, c.frame, out, { ipv6FragId: kernelFragId(k.frames), kernel });
    ours = out.toArray();
  } catch (e) {
    if (!(e instanceof TsoError)) throw e;
    err = e;
  }
  if (err !== null) {
    if (err.verdict === 'reject' && k.errno === 22 && k.frames.length === 0) return null;
    if (err.verdict === 'drop' && k.errno === 0 && k.frames.length === 0) return null;
    return `ours ${err.code}, kernel errno=${k.errno} frames=${k.frames.length}`;
  }
  if (k.errno !== 0) return `ours ${ours.length} frames, kernel errno=${k.errno}`;
  if (ours.length !== k.frames.length) {
    return `ours ${ours.length} frames [${ours.slice(0, 4).map((f) => f.length)}], kernel ${k.frames.length} [${k.frames.slice(0, 4).map((f) => f.length)}]`;
  }
  for (let i = 0; i < ours.length; i++) {
    const a = ours[i]!;
    const b = k.frames[i]!;
    if (a.length !== b.length) return `frame ${i}: length ours ${a.length} kernel ${b.length}`;
    for (let j = 0; j < a.length; j++) {
      if (a[j] !== b[j]) return `frame ${i} byte ${j}: ours ${hex(a, j & ~15)} kernel ${hex(b, j & ~15)}`;
    }
  }
  return null;
}

/** null when src/vnethdr's validateTapWrite predicts the kernel's verdict for this write. */
export function compareTapVerdict(c: GenCase, k: CaseResult, behaviour: TapKernelBehaviour): string | null {
  const rec = tapRecord(c.hdr, c.frame);
  const code = validateTapWrite(rec, 0, rec.length, 12, info, behaviour);
  const ours = tapVerdict(code);
  const kernel = k.errno === 22 ? 'einval' : k.frames.length === 0 ? 'dropped' : 'accepted';
  return ours === kernel ? null : `validateTapWrite ${code ?? 'null'} (${ours}), kernel ${kernel}`;
}
