/* What one cross-thread wake-up costs on this machine, in C: two threads pass a token back and
 * forth through a shared word, as a kick and an interrupt pass between a guest thread and a
 * sync-loop worker. The reference for the rows whose path crosses threads (worker, one kloop
 * thread, a thread each): a ping there is several such hand-offs.
 *   futex-pingpong block|spin ROUNDS
 * block: the waiting thread sleeps in FUTEX_WAIT and the other wakes it with FUTEX_WAKE (what
 *   Atomics.wait / Atomics.notify do underneath);
 * spin: the waiting thread polls the word (no sleep, no wake-up; a core each).
 * Prints the mean round trip (two hand-offs) in microseconds after 1000 rounds of warm-up.
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static _Atomic int word; /* whose turn: 0 the main thread's, 1 the other's */
static int spin;
static long rounds;

static void wait_for(int v) {
  for (;;) {
    int cur = atomic_load_explicit(&word, memory_order_acquire);
    if (cur == v) return;
    if (!spin) syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, cur, NULL, NULL, 0);
  }
}

static void hand_to(int v) {
  atomic_store_explicit(&word, v, memory_order_release);
  if (!spin) syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *other(void *arg) {
  (void)arg;
  for (long i = 0; i < rounds + 1000; i++) {
    wait_for(1);
    hand_to(0);
  }
  return NULL;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
  if (argc != 3 || (strcmp(argv[1], "block") != 0 && strcmp(argv[1], "spin") != 0) ||
      (rounds = atol(argv[2])) <= 0) {
    fprintf(stderr, "usage: futex-pingpong block|spin ROUNDS\n");
    return 2;
  }
  spin = strcmp(argv[1], "spin") == 0;
  pthread_t t;
  if (pthread_create(&t, NULL, other, NULL) != 0) return 1;
  double t0 = 0;
  for (long i = 0; i < rounds + 1000; i++) {
    if (i == 1000) t0 = now();
    hand_to(1);
    wait_for(0);
  }
  double us = (now() - t0) / rounds;
  pthread_join(t, NULL);
  printf("%.2f\n", us);
  return 0;
}
