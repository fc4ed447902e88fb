// Boot-option addresses: every string of BootOptions goes through the one parser of
// src/wire/address.ts (ip-num underneath); a refusal becomes UnikernelError BAD_OPTION naming the
// option, with the parser's WireError BAD_ADDRESS as `cause`.
import {
  WireError,
  parseIpv4,
  parseIpv4Prefixed,
  parseIpv6,
  parseIpv6Prefixed,
  type Ipv4Prefixed,
  type Ipv6Prefixed,
} from '../wire/index.ts';
import { UnikernelError } from './errors.ts';

/** The parsed addresses of BootOptions (gateways as u32 / 16 bytes, undefined when not given). */
export interface BootAddresses {
  ipv4: Ipv4Prefixed;
  ipv6: Ipv6Prefixed | undefined;
  gateway: number | undefined;
  gateway6: Uint8Array | undefined;
}

function option<T>(name: string, s: string, shape: string, parse: (s: string) => T): T {
  try {
    return parse(s);
  } catch (e) {
    if (!(e instanceof WireError)) throw e;
    throw new UnikernelError('BAD_OPTION', `${name} ${JSON.stringify(s)} is not ${shape}`, { cause: e });
  }
}

/**
 * Parses `ipv4` ("A.B.C.D/LEN", prefix required), `ipv6` ("ADDR/LEN", prefix required) and the
 * gateways (bare addresses). Throws UnikernelError BAD_OPTION, cause WireError BAD_ADDRESS.
 */
export function checkAddressOptions(o: {
  ipv4: string;
  ipv6?: string | undefined;
  gateway?: string | undefined;
  gateway6?: string | undefined;
}): BootAddresses {
  const str = (name: string, v: unknown): string => {
    if (typeof v !== 'string') throw new UnikernelError('BAD_OPTION', `${name} must be a string`);
    return v;
  };
  return {
    ipv4: option('ipv4', str('ipv4', o.ipv4), 'A.B.C.D/LEN', (s) => parseIpv4Prefixed(s)),
    ipv6:
      o.ipv6 === undefined
        ? undefined
        : option('ipv6', str('ipv6', o.ipv6), 'ADDR/LEN', (s) => parseIpv6Prefixed(s)),
    gateway:
      o.gateway === undefined
        ? undefined
        : option('gateway', str('gateway', o.gateway), 'A.B.C.D', parseIpv4),
    gateway6:
      o.gateway6 === undefined
        ? undefined
        : option('gateway6', str('gateway6', o.gateway6), 'an IPv6 address', parseIpv6),
  };
}
