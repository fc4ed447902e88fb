// koffi (native code) is loaded when a TAP is opened, never by importing the package; a platform
// without Linux TAP devices gets a typed error.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { TapError, checkTapPlatform } from '../../src/host/tap/index.ts';

const CHILD = new URL('./fixtures/native-load.ts', import.meta.url).pathname;

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof TapError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('native code', () => {
  it('importing the package loads no native addon; opening a TAP loads koffi', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', CHILD], { encoding: 'utf8' });
    const r = JSON.parse(out.trim()) as { afterImport: number; afterOpen: number; code: string };
    expect(r.afterImport).toBe(0);
    if (process.platform === 'linux') {
      expect(r.code).toBe('NO_SUCH_INTERFACE');
      expect(r.afterOpen).toBeGreaterThan(0);
    } else {
      expect(r.code).toBe('UNSUPPORTED_PLATFORM');
    }
  });

  it('refuses platforms without Linux TAP devices with a typed error', () => {
    expect(codeOf(() => checkTapPlatform('darwin', 'arm64'))).toBe('UNSUPPORTED_PLATFORM');
    expect(codeOf(() => checkTapPlatform('win32', 'x64'))).toBe('UNSUPPORTED_PLATFORM');
    expect(codeOf(() => checkTapPlatform('linux', 'mips'))).toBe('UNSUPPORTED_PLATFORM');
    expect(codeOf(() => checkTapPlatform('linux', 'x64'))).toBe('no error');
    expect(codeOf(() => checkTapPlatform('linux', 'arm64'))).toBe('no error');
  });
});
