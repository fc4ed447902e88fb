// Per-stack counters below TCP, named after the kernel's SNMP MIB entries where one exists
// (IPSTATS_MIB_*, ICMP_MIB_*, UDP_MIB_*). Every datapath drop increments exactly one of them.

export class StackCounters {
  // Link layer.
  rxFrames = 0;
  txFrames = 0;
  /** Frames shorter than an Ethernet header or malformed VLAN stacks. */
  rxEthErrors = 0;
  /** Frames for another MAC address. */
  rxOtherHost = 0;
  /** EtherTypes we do not speak. */
  rxUnknownProto = 0;
  /** Exceptions caught in the receive path (a stack bug if ever non-zero). */
  rxExceptions = 0;
  /** Frames too large to linearise (over the receive scratch). */
  rxTooBig = 0;
  /**
   * Chained frames copied into the receive scratch: headers past the first segment, fragments,
   * other than TCP, or a checksum to verify in software (a chained TCP frame is not copied).
   */
  rxLinearised = 0;
  /** transmit() said busy and the frame waits in the backlog; frames dropped because it was full. */
  txBusy = 0;
  txDrops = 0;
  /** No mbuf for an outgoing packet. */
  txNoBuffers = 0;
  // ARP.
  arpIn = 0;
  arpErrors = 0;
  arpRequestsOut = 0;
  arpRepliesOut = 0;
  // IPv4 (IPSTATS_MIB_*).
  /** Packets handed to IPv4 input (ip_rcv): fragments each count, a reassembled datagram does not. */
  ipInReceives = 0;
  ipInHdrErrors = 0;
  ipInAddrErrors = 0;
  ipInUnknownProtos = 0;
  ipOutRequests = 0;
  ipOutNoRoutes = 0;
  /** Packets dropped waiting for ARP (queue overflow or failed resolution). */
  ipOutDiscards = 0;
  // ICMP.
  icmpInMsgs = 0;
  icmpInErrors = 0;
  icmpInEchos = 0;
  icmpInEchoReps = 0;
  icmpOutMsgs = 0;
  // UDP.
  udpInDatagrams = 0;
  udpNoPorts = 0;
  udpInErrors = 0;
  udpInCsumErrors = 0;
  udpOutDatagrams = 0;
}
