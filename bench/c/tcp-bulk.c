/* TCP_STREAM kernel side, for peers that are not iperf3 (the unikernel's discard service, its bulk
 * client): one connection, one direction, throughput measured where the bytes are counted.
 *   tcp-bulk sink PORT                  accepts one connection, reads to EOF, prints Gbps from the
 *                                       first byte to EOF (prints "listening" once bound)
 *   tcp-bulk send ADDR PORT SECONDS     writes for SECONDS, half-closes, waits for the peer's close
 *                                       and prints Gbps over the whole connection
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 16];

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "sink") == 0) {
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 1)) return perror("bind/listen"), 1;
    printf("listening\n");
    fflush(stdout);
    int s = accept(ls, NULL, NULL);
    if (s < 0) return perror("accept"), 1;
    double start = 0;
    long long n = 0;
    ssize_t r;
    while ((r = read(s, buf, sizeof buf)) > 0) {
      if (n == 0) start = now();
      n += r;
    }
    double secs = now() - start;
    printf("%.4f %lld %.3f\n", n > 0 && secs > 0 ? n * 8 / secs / 1e9 : 0.0, n, secs);
    return 0;
  }
  if (argc == 5 && strcmp(argv[1], "send") == 0) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
    inet_pton(AF_INET, argv[2], &a.sin_addr);
    if (connect(s, (struct sockaddr *)&a, sizeof a)) return perror("connect"), 1;
    double start = now(), end = start + atof(argv[4]);
    long long n = 0;
    while (now() < end) {
      ssize_t w = write(s, buf, sizeof buf);
      if (w <= 0) return perror("write"), 1;
      n += w;
    }
    /* The bytes still in our send buffer count only once the peer has read them and closed. */
    shutdown(s, SHUT_WR);
    while (read(s, buf, sizeof buf) > 0) {
    }
    double secs = now() - start;
    printf("%.4f %lld %.3f\n", n * 8 / secs / 1e9, n, secs);
    return 0;
  }
  fprintf(stderr, "usage: tcp-bulk sink PORT | send ADDR PORT SECONDS\n");
  return 2;
}
