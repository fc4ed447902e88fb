import { describe, expect, it } from 'vitest';
import {
  CsbAtok,
  CsbKtoa,
  NetmapError,
  nmSyncKloopApplRead,
  nmSyncKloopApplWrite,
  nmCsbAtok,
  nmCsbKtoa,
  syncKloopKernelRead,
  syncKloopKernelWrite,
} from '../../src/netmap/index.ts';

/** Records the order of word accesses made through Atomics on one buffer. */
function traceAtomics(fn: () => void): string[] {
  const log: string[] = [];
  const load = Atomics.load;
  const store = Atomics.store;
  (Atomics as { load: unknown }).load = (a: Uint32Array, i: number) => {
    log.push(`load ${a.byteOffset + i * 4}`);
    return load(a, i);
  };
  (Atomics as { store: unknown }).store = (a: Uint32Array, i: number, v: number) => {
    log.push(`store ${a.byteOffset + i * 4}`);
    return store(a, i, v);
  };
  try {
    fn();
  } finally {
    (Atomics as { load: unknown }).load = load;
    (Atomics as { store: unknown }).store = store;
  }
  return log;
}

describe('CSB entries (§2.4, §3.1)', () => {
  const sab = new SharedArrayBuffer(4096);
  const gh = 1024;
  const hg = 2048 + 64;
  const atok = new CsbAtok(sab, gh);
  const ktoa = new CsbKtoa(sab, hg);

  it('fields land at the layout offsets, little-endian', () => {
    atok.head = 5;
    atok.cur = 6;
    atok.applNeedKick = 1;
    atok.syncFlags = 2;
    ktoa.hwcur = 0x01020304;
    ktoa.hwtail = 8;
    ktoa.kernNeedKick = 1;
    const a = nmCsbAtok.decode(new Uint8Array(sab), gh);
    expect([a.head, a.cur, a.appl_need_kick, a.sync_flags]).toEqual([5, 6, 1, 2]);
    const k = nmCsbKtoa.decode(new Uint8Array(sab), hg);
    expect([k.hwcur, k.hwtail, k.kern_need_kick]).toEqual([0x01020304, 8, 1]);
    expect(new Uint8Array(sab, hg, 4)).toEqual(new Uint8Array([4, 3, 2, 1]));
  });

  it('appl_write stores cur before head', () => {
    const log = traceAtomics(() => nmSyncKloopApplWrite(atok, 11, 10));
    expect(log).toEqual([`store ${gh + 4}`, `store ${gh}`]);
    expect([atok.head, atok.cur]).toEqual([10, 11]);
  });

  it('appl_read loads hwtail before hwcur', () => {
    ktoa.hwcur = 3;
    ktoa.hwtail = 9;
    const out = { hwcur: 0, hwtail: 0 };
    const log = traceAtomics(() => nmSyncKloopApplRead(ktoa, out));
    expect(log).toEqual([`load ${hg + 4}`, `load ${hg}`]);
    expect(out).toEqual({ hwcur: 3, hwtail: 9 });
  });

  it('kernel_write stores hwcur before hwtail', () => {
    const log = traceAtomics(() => syncKloopKernelWrite(ktoa, 12, 13));
    expect(log).toEqual([`store ${hg}`, `store ${hg + 4}`]);
    expect([ktoa.hwcur, ktoa.hwtail]).toEqual([12, 13]);
  });

  it('kernel_read loads head, then cur and sync_flags', () => {
    nmSyncKloopApplWrite(atok, 21, 20);
    atok.syncFlags = 1;
    const shadow = { head: 0, cur: 0, syncFlags: 0 };
    const log = traceAtomics(() => syncKloopKernelRead(atok, shadow));
    expect(log).toEqual([`load ${gh}`, `load ${gh + 4}`, `load ${gh + 12}`]);
    expect(shadow).toEqual({ head: 20, cur: 21, syncFlags: 1 });
  });

  it('refuses entries outside the buffer or misaligned', () => {
    expect(() => new CsbAtok(sab, 4096 - 32)).toThrow(NetmapError);
    expect(() => new CsbKtoa(sab, 2)).toThrow(NetmapError);
    expect(() => new CsbKtoa(sab, -64)).toThrow(NetmapError);
    expect(() => new CsbAtok(sab, 4096)).toThrow(expect.objectContaining({ code: 'NM_RANGE', offset: 4096 }));
  });
});
