/* The least a userspace host behind a TAP can do, in C, with no stack: answer ARP and ICMP echo
 * for one IPv4 address, or ping the kernel. It is the reference for the unikernel's ping rows over
 * TAP: the same kernel path (ping → tun_net_xmit → a reader's read(), then its write() →
 * tun_get_user → netif_rx → ping woken), the same wake-ups, none of our code.
 *   tap-echo TAP A.B.C.D block|spin
 *     answers until killed; prints "ready" once attached. block: read() sleeps in the kernel until
 *     a frame comes (the wake-up an idle reader pays); spin: a non-blocking read() in a loop (no
 *     wake-up on this side; a core burnt).
 *   tap-echo TAP A.B.C.D ping KERNEL_IP KERNEL_MAC COUNT
 *     sends COUNT echo requests to the kernel back to back, each after the last reply, as the
 *     unikernel's ping row does (answering the kernel's ARP meanwhile), after 1000 unmeasured;
 *     prints the mean round trip in microseconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
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

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Echo requests from ip to kip (MAC kmac), each sent when the last reply came; the mean round trip
 * of the last `count` in µs, or -1 on an I/O error. */
static double ping_kernel(int fd, const uint8_t ip[4], const uint8_t kip[4], const uint8_t kmac[6], long count) {
  static uint8_t f[65536];
  uint8_t req[14 + 20 + 8 + 56];
  memset(req, 0, sizeof req);
  memcpy(req, kmac, 6);
  memcpy(req + 6, MAC, 6);
  req[12] = 0x08;
  uint8_t *h = req + 14;
  h[0] = 0x45;
  h[3] = 20 + 8 + 56;
  h[8] = 64;
  h[9] = 1;
  memcpy(h + 12, ip, 4);
  memcpy(h + 16, kip, 4);
  uint16_t c = csum(h, 20);
  h[10] = (uint8_t)(c >> 8);
  h[11] = (uint8_t)c;
  uint8_t *icmp = h + 20;
  icmp[0] = 8;
  icmp[5] = 0x42; /* identifier */
  double t0 = 0;
  for (long i = 0; i < count + 1000; i++) {
    if (i == 1000) t0 = now_us();
    icmp[6] = (uint8_t)(i >> 8);
    icmp[7] = (uint8_t)i;
    icmp[2] = icmp[3] = 0;
    c = csum(icmp, 8 + 56);
    icmp[2] = (uint8_t)(c >> 8);
    icmp[3] = (uint8_t)c;
    if (write(fd, req, sizeof req) < 0) return -1;
    for (;;) {
      ssize_t n = read(fd, f, sizeof f);
      if (n < 0) return -1;
      if (n >= 42 && f[12] == 0x08 && f[13] == 0x00 && f[14 + 9] == 1 && f[34] == 0 && f[39] == 0x42 &&
          f[40] == icmp[6] && f[41] == icmp[7])
        break;
      size_t r = answer(f, (size_t)n, ip); /* the kernel's ARP for us */
      if (r > 0 && write(fd, f, r) < 0) return -1;
    }
  }
  return (now_us() - t0) / count;
}

int main(int argc, char **argv) {
  uint8_t ip[4], kip[4], kmac[6];
  int pinging = argc == 7 && strcmp(argv[3], "ping") == 0;
  if ((argc != 4 && !pinging) || inet_pton(AF_INET, argv[2], ip) != 1 ||
      (!pinging && strcmp(argv[3], "block") != 0 && strcmp(argv[3], "spin") != 0) ||
      (pinging && (inet_pton(AF_INET, argv[4], kip) != 1 ||
                   sscanf(argv[5], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &kmac[0], &kmac[1], &kmac[2], &kmac[3],
                          &kmac[4], &kmac[5]) != 6 ||
                   atol(argv[6]) <= 0))) {
    fprintf(stderr, "usage: tap-echo TAP A.B.C.D block|spin\n"
                    "       tap-echo TAP A.B.C.D ping KERNEL_IP KERNEL_MAC COUNT\n");
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
  if (pinging) {
    double us = ping_kernel(fd, ip, kip, kmac, atol(argv[6]));
    if (us < 0) {
      perror("tap-echo: ping");
      return 1;
    }
    printf("%.2f\n", us);
    return 0;
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
