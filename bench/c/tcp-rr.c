/* TCP_RR reference, as netperf's TCP_RR measures it: one connection, 1-byte request and 1-byte
 * response, TCP_NODELAY on both ends; prints transactions per second.
 *   tcp-rr server PORT          (serves one connection, then exits)
 *   tcp-rr client ADDR PORT SECONDS
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int main(int argc, char **argv) {
  char b = 0;
  if (argc == 3 && strcmp(argv[1], "server") == 0) {
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 1)) return perror("bind/listen"), 1;
    printf("listening\n");
    fflush(stdout);
    int s = accept(ls, NULL, NULL);
    nodelay(s);
    while (read(s, &b, 1) == 1 && write(s, &b, 1) == 1) {
    }
    return 0;
  }
  if (argc == 5 && strcmp(argv[1], "client") == 0) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
    inet_pton(AF_INET, argv[2], &a.sin_addr);
    if (connect(s, (struct sockaddr *)&a, sizeof a)) return perror("connect"), 1;
    nodelay(s);
    double secs = atof(argv[4]), start = now(), end = start + secs, t = start;
    long n = 0;
    while (t < end) {
      for (int i = 0; i < 256; i++) {
        if (write(s, &b, 1) != 1 || read(s, &b, 1) != 1) return perror("rr"), 1;
      }
      n += 256;
      t = now();
    }
    printf("%.1f\n", n / (t - start));
    return 0;
  }
  fprintf(stderr, "usage: tcp-rr server PORT | client ADDR PORT SECONDS\n");
  return 2;
}
