// Scripted TCP segment tests, packetdrill-like: a readable table of the segments a peer sends and
// of the segments the stack under test must answer with, in tcpdump's notation and relative
// sequence numbers. The same script runs against our stack and against the Linux kernel
// (test/script/*.test.ts), so the expected replies are checked against Linux, not only against
// our reading of the RFCs. One line per step:
//
//   # comment
//   listen 80                 the application listens on port 80
//   connect 80                the application connects to the peer's port 80
//   write 100 | end | destroy the application writes 100 bytes / half-closes / destroys the socket
//   keepalive 1               the application turns SO_KEEPALIVE on, first probe after 1 s idle
//                             (TCP_KEEPIDLE: whole seconds, at least 1)
//   +0.2                      0.2 s pass (also as a prefix of any other line: "+0.2 < . 1:1(0) ack 1")
//   < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
//                             the peer sends: flags, seq:end(len) relative to the peer's ISN,
//                             ack relative to the stack's ISN, window, options (absent: none)
//   > S. 0:0(0) ack 1 <...>   the stack must send this next (within 3 s): the first SYN it sends
//                             fixes its ISN (seq 0); "win" only when given; "<...>" or no
//                             options: any; "*" for a value: any; listed options are compared
//                             as a set (order and NOPs are implementation choices)
//   > S 0:0(0) within 0.3 <...>
//                             as above, but within 0.3 s (before any options)
//   > none 1.0                the stack sends nothing for 1.0 s (default 0.5)
//   sysctl net.ipv4.tcp_ecn=1 a setting of the stack under test, before listen/connect (Linux:
//                             sysctl in its namespace; ours: the matching socket option)
//
// After seq:end(len), "ack N" and "win N" a segment may give "ecn none|ect1|ect0|ce": the ECN
// field of its IP header (RFC 3168 §5). Inbound segments default to none; outbound ones are
// checked only when it is given.
// Flags: S F R P . (ACK) E (ECE) W (CWR), as tcpdump prints them; a flag followed by "?" may be
// set or not in an expected segment (PSH is an implementation's choice, RFC 9293 §3.9.1).
//
// A script whose first line is "# ours-only: <why>" covers something Linux does not do (an RFC
// mechanism it replaced with its own); linux.test.ts skips it.

export type OptSpec =
  | { kind: 'mss'; value: number | '*' }
  | { kind: 'wscale'; value: number | '*' }
  | { kind: 'sackOK' }
  | { kind: 'sack'; blocks: Array<[number, number]> }
  | { kind: 'TS'; val: number | '*' | 'echo'; ecr: number | '*' | 'echo' }
  | { kind: 'nop' }
  | { kind: 'raw'; bytes: number[] };

export interface SegSpec {
  flags: number;
  /** Flags an expected segment may carry or not. */
  optional: number;
  seq: number;
  len: number;
  ack: number | null;
  win: number | '*';
  /** null: any options (outbound) / none (inbound). */
  options: OptSpec[] | null;
  /** IP ECN field (0 not-ECT, 1 ECT(1), 2 ECT(0), 3 CE); '*': not checked / 0 inbound. */
  ecn: number | '*';
  /** Expected segments: how long it may take to come, s (null: the runner's default). */
  within: number | null;
}

const ECN_NAMES: Record<string, number> = { none: 0, ect1: 1, ect0: 2, ce: 3 };

/** The script name of an ECN field value. */
export function ecnText(e: number): string {
  return Object.keys(ECN_NAMES).find((k) => ECN_NAMES[k] === e) ?? String(e);
}

export type Step =
  | { op: 'wait'; seconds: number; line: number }
  | { op: 'listen' | 'connect'; port: number; line: number }
  | { op: 'write'; bytes: number; line: number }
  | { op: 'keepalive'; seconds: number; line: number }
  | { op: 'end' | 'destroy'; line: number }
  | { op: 'in'; seg: SegSpec; line: number }
  | { op: 'out'; seg: SegSpec; line: number }
  | { op: 'none'; seconds: number; line: number }
  | { op: 'sysctl'; name: string; value: number; line: number };

export class ScriptError extends Error {
  override readonly name = 'ScriptError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

const FLAG_BITS: Record<string, number> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, '.': 0x10, E: 0x40, W: 0x80 };

export function flagsText(f: number): string {
  let s = '';
  for (const c of ['S', 'F', 'R', 'P', 'E', 'W']) if ((f & FLAG_BITS[c]!) !== 0) s += c;
  if ((f & 0x10) !== 0) s += '.';
  return s === '' ? 'none' : s;
}

function num(tok: string | undefined, line: number, what: string): number {
  const n = Number(tok);
  if (tok === undefined || !Number.isFinite(n)) throw new ScriptError(line, `bad ${what} '${tok ?? ''}'`);
  return n;
}

function valueOrStar(tok: string | undefined, line: number, what: string): number | '*' {
  return tok === '*' ? '*' : num(tok, line, what);
}

function parseOptions(text: string, line: number): OptSpec[] | null {
  if (text === '...') return null;
  if (text.trim() === '') return [];
  return text.split(',').map((raw): OptSpec => {
    const t = raw.trim().split(/\s+/);
    switch (t[0]) {
      case 'mss':
        return { kind: 'mss', value: valueOrStar(t[1], line, 'mss') };
      case 'wscale':
        return { kind: 'wscale', value: valueOrStar(t[1], line, 'wscale') };
      case 'sackOK':
        return { kind: 'sackOK' };
      case 'nop':
        return { kind: 'nop' };
      case 'TS': {
        if (t[1] !== 'val' || t[3] !== 'ecr') throw new ScriptError(line, `TS needs "TS val V ecr E"`);
        const v = (x: string | undefined): number | '*' | 'echo' =>
          x === 'echo' ? 'echo' : valueOrStar(x, line, 'TS');
        return { kind: 'TS', val: v(t[2]), ecr: v(t[4]) };
      }
      case 'sack': {
        const blocks = t.slice(1).map((b): [number, number] => {
          const m = /^(\d+):(\d+)$/.exec(b);
          if (m === null) throw new ScriptError(line, `bad SACK block '${b}'`);
          return [Number(m[1]), Number(m[2])];
        });
        return { kind: 'sack', blocks };
      }
      case 'raw':
        return { kind: 'raw', bytes: t.slice(1).map((x) => num(x, line, 'raw byte')) };
      default:
        throw new ScriptError(line, `unknown option '${raw.trim()}'`);
    }
  });
}

function parseSeg(text: string, line: number): SegSpec {
  const optAt = text.indexOf('<');
  const opts = optAt >= 0 ? text.slice(optAt + 1, text.lastIndexOf('>')) : null;
  const t = (optAt >= 0 ? text.slice(0, optAt) : text).trim().split(/\s+/);
  let flags = 0;
  let optional = 0;
  let last = 0;
  for (const c of t[0] ?? '') {
    if (c === '?' && last !== 0) {
      optional |= last;
      flags &= ~last;
      continue;
    }
    const b = FLAG_BITS[c];
    if (b === undefined) throw new ScriptError(line, `unknown flag '${c}' in '${t[0]}'`);
    flags |= b;
    last = b;
  }
  const m = /^(-?\d+):(-?\d+)\((\d+)\)$/.exec(t[1] ?? '');
  if (m === null) throw new ScriptError(line, `expected seq:end(len), got '${t[1] ?? ''}'`);
  const seq = Number(m[1]);
  const len = Number(m[3]);
  if (Number(m[2]) !== seq + len) throw new ScriptError(line, `end ${m[2]} is not seq + len`);
  let ack: number | null = null;
  let win: number | '*' = '*';
  let ecn: number | '*' = '*';
  let within: number | null = null;
  for (let i = 2; i < t.length; i += 2) {
    if (t[i] === 'ack') ack = num(t[i + 1], line, 'ack');
    else if (t[i] === 'within') within = num(t[i + 1], line, 'within');
    else if (t[i] === 'win') win = valueOrStar(t[i + 1], line, 'win');
    else if (t[i] === 'ecn') {
      const e = ECN_NAMES[t[i + 1] ?? ''];
      if (e === undefined) throw new ScriptError(line, `bad ecn '${t[i + 1] ?? ''}'`);
      ecn = e;
    } else throw new ScriptError(line, `unexpected '${t[i]}'`);
  }
  if (ack !== null && (flags & 0x10) === 0) throw new ScriptError(line, 'an ack number without the ACK flag');
  return {
    flags,
    optional,
    seq,
    len,
    ack,
    win,
    ecn,
    within,
    options: opts === null ? null : parseOptions(opts, line),
  };
}

/** Parses a script; throws ScriptError naming the line. */
export function parseScript(text: string): Step[] {
  const steps: Step[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    let s = raw.replace(/#.*$/, '').trim();
    if (s === '') return;
    const wait = /^\+(\d+(?:\.\d+)?)\s*/.exec(s);
    if (wait !== null) {
      steps.push({ op: 'wait', seconds: Number(wait[1]), line });
      s = s.slice(wait[0].length);
      if (s === '') return;
    }
    const [cmd, ...rest] = s.split(/\s+/);
    switch (cmd) {
      case 'listen':
      case 'connect':
        steps.push({ op: cmd, port: num(rest[0], line, 'port'), line });
        return;
      case 'write':
        steps.push({ op: 'write', bytes: num(rest[0], line, 'byte count'), line });
        return;
      case 'end':
      case 'destroy':
        steps.push({ op: cmd, line });
        return;
      case 'keepalive': {
        const seconds = num(rest[0], line, 'keepalive idle');
        if (!Number.isInteger(seconds) || seconds < 1)
          throw new ScriptError(line, `keepalive idle must be whole seconds >= 1, got ${seconds}`);
        steps.push({ op: 'keepalive', seconds, line });
        return;
      }
      case 'sysctl': {
        const m = /^([\w.]+)=(\d+)$/.exec(rest[0] ?? '');
        if (m === null) throw new ScriptError(line, `expected sysctl NAME=VALUE`);
        steps.push({ op: 'sysctl', name: m[1]!, value: Number(m[2]), line });
        return;
      }
      case '<': {
        const seg = parseSeg(s.slice(1), line);
        if (seg.within !== null) throw new ScriptError(line, `"within" is for expected segments`);
        steps.push({ op: 'in', seg, line });
        return;
      }
      case '>':
        if (rest[0] === 'none') {
          steps.push({
            op: 'none',
            seconds: rest[1] === undefined ? 0.5 : num(rest[1], line, 'seconds'),
            line,
          });
        } else steps.push({ op: 'out', seg: parseSeg(s.slice(1), line), line });
        return;
      default:
        throw new ScriptError(line, `unknown step '${cmd}'`);
    }
  });
  return steps;
}
