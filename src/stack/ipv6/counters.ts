// IPv6 and ICMPv6 counters, named after the kernel's IPSTATS_MIB_* / ICMP6_MIB_* entries where one
// exists. Every IPv6 datapath drop increments exactly one of them.

export class Ipv6Counters {
  inReceives = 0;
  /** Malformed fixed or extension headers, bad payload length (Ip6InHdrErrors). */
  inHdrErrors = 0;
  /** Not for one of our addresses or groups, or a multicast source (Ip6InAddrErrors). */
  inAddrErrors = 0;
  /** For an address still in DAD (RFC 4862 §5.4: silently discarded). */
  inTentative = 0;
  inUnknownProtos = 0;
  /** No next header (59): nothing to deliver. */
  inNoNextHeader = 0;
  /** Routing header with segments left and a type we do not process (type 0 per RFC 5095). */
  inRoutingRefused = 0;
  /** Unknown hop-by-hop / destination option whose action bits say discard. */
  inUnknownOptions = 0;
  /** A fragment header inside a reassembled packet (nested fragmentation). */
  inNestedFragment = 0;
  /** Fragments the reassembler refused at once for framing (length not a multiple of 8, too big). */
  inFragErrors = 0;
  inDelivers = 0;
  outRequests = 0;
  outNoRoutes = 0;
  /** Packets dropped waiting for NDP (queue overflow or failed resolution). */
  outDiscards = 0;
  /** No source address usable for the destination (all tentative or duplicate). */
  outNoSource = 0;
  fragOks = 0;
  fragCreates = 0;
  fragFails = 0;
  // ICMPv6 (ICMP6_MIB_*).
  icmpInMsgs = 0;
  /** Truncated or bad checksum. */
  icmpInErrors = 0;
  icmpInEchos = 0;
  icmpInEchoReplies = 0;
  icmpInDestUnreachs = 0;
  icmpInPktTooBigs = 0;
  icmpInTimeExcds = 0;
  icmpInParmProblems = 0;
  /** Packet too big that lowered a path MTU. */
  ptbApplied = 0;
  /** Packet too big quoting a packet we did not send, or malformed. */
  ptbNotOurs = 0;
  icmpOutMsgs = 0;
  icmpOutErrors = 0;
  /** Errors suppressed by the rate limit. */
  icmpRateLimited = 0;
}
