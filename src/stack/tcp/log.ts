// TCP's two loggers: `ptnet:tcp` has one line per connection event (state change, open, close,
// reset, timeout, SYN cookie), `ptnet:tcp:seg` one line per segment sent or received. Every call
// is guarded by `.enabled` (CONTRIBUTING: hot paths), so a disabled logger costs one property read.
import debug from 'debug';
import { ipv4ToString, ipv6ToString } from '../../wire/index.ts';

export const tcpLog = debug('ptnet:tcp');
export const segLog = debug('ptnet:tcp:seg');

/** What names a connection in a log line. */
export interface ConnEnds {
  readonly family: 4 | 6;
  readonly laddr: number;
  readonly raddr: number;
  readonly laddr6: Uint8Array;
  readonly raddr6: Uint8Array;
  readonly lport: number;
  readonly rport: number;
}

/** "10.0.0.1:7-10.0.0.2:40000" or "[fd00::1]:7-[fd00::2]:40000": local end first. Logging only. */
export function connName(t: ConnEnds): string {
  return t.family === 6
    ? `[${ipv6ToString(t.laddr6)}]:${t.lport}-[${ipv6ToString(t.raddr6)}]:${t.rport}`
    : `${ipv4ToString(t.laddr)}:${t.lport}-${ipv4ToString(t.raddr)}:${t.rport}`;
}
