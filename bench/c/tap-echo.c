/* The least a userspace responder behind a TAP can do: answer ARP and ICMP echo for one IPv4
 * address, in C, with no stack. It is the reference for the unikernel's "ping Linux→uk over TAP"
 * row: the same kernel path (ping → tun_net_xmit → a reader's read(), then its write() →
 * tun_get_user → netif_rx → ping woken), the same wake-ups, none of our code.
 *   tap-echo TAP A.B.C.D block|spin
 * block: read() sleeps in the kernel until a frame comes (the wake-up an idle reader pays);
 * spin: a non-blocking read() in a loop (no wake-up on this side; a core burnt).
 * Prints "ready" once attached; runs until killed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const uint8_t MAC[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x99};

/* The Internet checksum over n bytes (RFC 1071), complemented. */
static uint16_t csum(const uint8_t *p, size_t n) {
  uint32_t s = 0;
  for (size_t i = 0; i + 1 < n; i += 2) s += (uint32_t)p[i] << 8 | p[i + 1];
  if (n & 1) s += (uint32_t)p[n - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

/* Ethernet addresses back to the sender, ours as the source. */
static void turn_eth(uint8_t *f) {
  memcpy(f, f + 6, 6);
  memcpy(f + 6, MAC, 6);
}

/* The frame's reply in place; its length, or 0 when it needs none. */
static size_t answer(uint8_t *f, size_t n, const uint8_t ip[4]) {
  if (n < 14) return 0;
  uint16_t type = (uint16_t)(f[12] << 8 | f[13]);
  if (type == 0x0806 && n >= 42) {
    uint8_t *a = f + 14;
    /* Ethernet/IPv4 request for our address. */
    if (a[7] != 1 || memcmp(a + 24, ip, 4) != 0) return 0;
    a[7] = 2;
    memcpy(a + 18, a + 8, 10); /* target = the requester's MAC and IP */
    memcpy(a + 8, MAC, 6);
    memcpy(a + 14, ip, 4);
    turn_eth(f);
    return 42;
  }
  if (type != 0x0800 || n < 14 + 20 + 8) return 0;
  uint8_t *h = f + 14;
  size_t hl = (size_t)(h[0] & 15) * 4, tot = (size_t)(h[2] << 8 | h[3]);
  if (h[9] != 1 || hl < 20 || tot < hl + 8 || 14 + tot > n || memcmp(h + 16, ip, 4) != 0) return 0;
  uint8_t *icmp = h + hl;
  if (icmp[0] != 8) return 0;
  memcpy(h + 16, h + 12, 4);
  memcpy(h + 12, ip, 4);
  icmp[0] = 0;
  icmp[2] = icmp[3] = 0;
  uint16_t c = csum(icmp, tot - hl);
  icmp[2] = (uint8_t)(c >> 8);
  icmp[3] = (uint8_t)c;
  turn_eth(f);
  return 14 + tot;
}

int main(int argc, char **argv) {
  uint8_t ip[4];
  if (argc != 4 || inet_pton(AF_INET, argv[2], ip) != 1 ||
      (strcmp(argv[3], "block") != 0 && strcmp(argv[3], "spin") != 0)) {
    fprintf(stderr, "usage: tap-echo TAP A.B.C.D block|spin\n");
    return 2;
  }
  int fd = open("/dev/net/tun", O_RDWR);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", argv[1]);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
    perror("tap-echo: TUNSETIFF");
    return 1;
  }
  if (strcmp(argv[3], "spin") == 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  printf("ready\n");
  fflush(stdout);
  static uint8_t f[65536];
  for (;;) {
    ssize_t n = read(fd, f, sizeof f);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      perror("tap-echo: read");
      return 1;
    }
    size_t r = answer(f, (size_t)n, ip);
    if (r > 0 && write(fd, f, r) < 0 && errno != EAGAIN) {
      perror("tap-echo: write");
      return 1;
    }
  }
}
