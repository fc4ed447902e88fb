// The script parser: the steps a line becomes, and the typed error (naming the line) for a bad one.
import { describe, expect, it } from 'vitest';
import { ScriptError, parseScript } from './format.ts';

describe('parseScript', () => {
  it('reads keepalive as a whole-second idle time, also after a wait', () => {
    expect(parseScript('listen 80\n+0.5 keepalive 2\n')).toEqual([
      { op: 'listen', port: 80, line: 1 },
      { op: 'wait', seconds: 0.5, line: 2 },
      { op: 'keepalive', seconds: 2, line: 2 },
    ]);
  });

  it.each(['keepalive', 'keepalive 0', 'keepalive 1.5', 'keepalive x'])(
    'rejects "%s" naming its line',
    (l) => {
      const run = (): unknown => parseScript(`listen 80\n${l}\n`);
      expect(run).toThrow(ScriptError);
      expect(run).toThrow(/^line 2: /);
    },
  );

  it('reads "within" as the time an expected segment may take, and refuses it on a peer segment', () => {
    const [out] = parseScript('> S 0:0(0) within 0.3 <...>\n');
    expect(out).toMatchObject({ op: 'out', seg: { flags: 0x02, within: 0.3, options: null } });
    const [dflt] = parseScript('> S 0:0(0)\n');
    expect(dflt).toMatchObject({ op: 'out', seg: { within: null } });
    expect(() => parseScript('listen 80\n< S 0:0(0) within 0.3\n')).toThrow(/^line 2: "within"/);
    expect(() => parseScript('> S 0:0(0) within soon\n')).toThrow(/^line 1: bad within/);
  });
});
