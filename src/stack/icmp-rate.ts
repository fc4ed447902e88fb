// Global ICMP error rate limit, a token bucket as Linux icmp_global_allow(): up to `perSec` errors a
// second (net.ipv4.icmp_msgs_per_sec, 1000) with bursts of `burst` (icmp_msgs_burst, 50). Shared by
// ICMPv4 and ICMPv6 errors; echo replies are not limited.
export class IcmpRateLimit {
  private credit: number;
  private stamp = -Infinity;
  /** Errors suppressed. */
  limited = 0;

  constructor(
    readonly perSec = 1000,
    readonly burst = 50,
  ) {
    this.credit = burst;
  }

  /** True when one more error may be sent at `now` (ms); takes a token. */
  allow(now: number): boolean {
    if (this.perSec <= 0) return true;
    if (now > this.stamp) {
      const add = this.stamp === -Infinity ? this.burst : ((now - this.stamp) * this.perSec) / 1000;
      this.credit = Math.min(this.burst, this.credit + add);
      this.stamp = now;
    }
    if (this.credit >= 1) {
      this.credit--;
      return true;
    }
    this.limited++;
    return false;
  }
}
