// Runs a parsed script against a backend (our stack, or the Linux kernel behind a TAP) and reports
// the first step that went differently. ARP requests for the peer are answered on the way and are
// not segments of the script; any other TCP segment the stack sends that the script does not
// expect at that point fails the run (as in packetdrill).
import type { Step } from './format.ts';
import { Conn, arpReplyFor, buildInbound, describe, match, parseOutbound, type OutSeg } from './segments.ts';

/** The stack under test, seen from the wire and from its application. */
export interface Backend {
  readonly stackMac: Uint8Array;
  listen(port: number): Promise<void>;
  connect(port: number): Promise<void>;
  write(bytes: number): Promise<void>;
  end(): Promise<void>;
  destroy(): Promise<void>;
  /** SO_KEEPALIVE on, the first probe after `seconds` idle (TCP_KEEPIDLE). */
  keepalive(seconds: number): Promise<void>;
  /** A setting of the stack under test (before listen/connect); unknown names throw. */
  sysctl(name: string, value: number): Promise<void>;
  /** Hands the frame to the stack. */
  inject(frame: Uint8Array): Promise<void>;
  /** The next frame the stack sends within `seconds` of its time (which passes), or null. */
  next(seconds: number): Promise<Uint8Array | null>;
  /** Lets `seconds` of the stack's time pass. */
  advance(seconds: number): Promise<void>;
  close(): Promise<void>;
}

/** How long an expected segment may take to come (retransmission timers are longer). */
const EXPECT_WITHIN = 3;

export interface RunResult {
  ok: boolean;
  /** One line per step run, with what was sent and seen; the failing step last. */
  trace: string[];
}

async function nextSegment(b: Backend, c: Conn, seconds: number): Promise<OutSeg | null> {
  for (;;) {
    const f = await b.next(seconds);
    if (f === null) return null;
    const arp = arpReplyFor(f);
    if (arp !== null) {
      await b.inject(arp);
      continue;
    }
    const s = parseOutbound(f);
    if (s !== null && (c.stackPort === 0 || s.srcPort === c.stackPort)) {
      c.stackPort = s.srcPort;
      return s;
    }
  }
}

export async function runScript(steps: readonly Step[], b: Backend): Promise<RunResult> {
  const c = new Conn();
  const trace: string[] = [];
  const fail = (line: number, msg: string): RunResult => {
    trace.push(`line ${line}: ${msg}`);
    return { ok: false, trace };
  };
  for (const st of steps) {
    switch (st.op) {
      case 'wait':
        await b.advance(st.seconds);
        break;
      case 'listen':
        c.stackPort = st.port;
        await b.listen(st.port);
        break;
      case 'connect':
        c.peerPort = st.port;
        await b.connect(st.port);
        break;
      case 'write':
        await b.write(st.bytes);
        break;
      case 'end':
        await b.end();
        break;
      case 'destroy':
        await b.destroy();
        break;
      case 'keepalive':
        await b.keepalive(st.seconds);
        break;
      case 'sysctl':
        await b.sysctl(st.name, st.value);
        break;
      case 'in': {
        if (c.stackPort === 0) return fail(st.line, 'a peer segment before listen/connect told the port');
        await b.inject(buildInbound(st.seg, c, b.stackMac));
        trace.push(`line ${st.line}: sent`);
        break;
      }
      case 'out': {
        const within = st.seg.within ?? EXPECT_WITHIN;
        const s = await nextSegment(b, c, within);
        if (s === null) return fail(st.line, `expected a segment within ${within} s, the stack sent none`);
        const d = match(st.seg, s, c);
        if (d !== null) return fail(st.line, `got ${describe(s, c)}: ${d}`);
        trace.push(`line ${st.line}: got ${describe(s, c)}`);
        break;
      }
      case 'none': {
        const s = await nextSegment(b, c, st.seconds);
        if (s !== null) return fail(st.line, `expected nothing for ${st.seconds} s, got ${describe(s, c)}`);
        trace.push(`line ${st.line}: nothing for ${st.seconds} s`);
        break;
      }
    }
  }
  return { ok: true, trace };
}
