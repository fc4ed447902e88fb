/*
 * C baseline for bench/checksum.bench.ts: the RFC 1071 sum over big-endian 16-bit words, written
 * the way a portable C library would (32-bit native loads into a 64-bit accumulator, four
 * independent lanes, one fold and byte swap at the end; compare Linux lib/checksum.c do_csum and
 * RFC 1071 §4.1). Built by the bench with the machine's `gcc -O2`.
 *
 * Usage: csum MS RUNS SIZE...   For each SIZE prints "SIZE GBPS", the best of RUNS ~MS ms runs.
 * Self-check: the sum of a known 8-byte vector (RFC 1071 §3 example) must be 0xddf2.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* noinline + the clobber in main keep gcc from hoisting or merging calls on unchanged data. */
__attribute__((noinline)) static uint16_t csum_partial(const uint8_t *p, size_t len)
{
	uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	uint32_t w[4];
	size_t i = 0;
	for (; i + 16 <= len; i += 16) {
		memcpy(w, p + i, 16);
		s0 += w[0];
		s1 += w[1];
		s2 += w[2];
		s3 += w[3];
	}
	for (; i + 4 <= len; i += 4) {
		memcpy(w, p + i, 4);
		s0 += w[0];
	}
	if (i + 2 <= len) {
		uint16_t h;
		memcpy(&h, p + i, 2);
		s1 += h;
		i += 2;
	}
	if (i < len)
		s2 += p[i]; /* little-endian: the odd byte is the low byte, swapped to high below */
	uint64_t s = s0 + s1 + s2 + s3;
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)(((s & 0xff) << 8) | (s >> 8));
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	static const uint8_t rfc1071[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	if (csum_partial(rfc1071, 8) != 0xddf2) {
		fprintf(stderr, "csum: self-check failed\n");
		return 1;
	}
	if (argc < 4)
		return 2;
	double ms = atof(argv[1]);
	int runs = atoi(argv[2]);
	size_t max = 0;
	for (int a = 3; a < argc; a++)
		if ((size_t)atol(argv[a]) > max)
			max = (size_t)atol(argv[a]);
	uint8_t *buf = aligned_alloc(64, max + 64);
	if (buf == NULL)
		return 1;
	for (size_t i = 0; i < max + 64; i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 24);
	volatile uint16_t sink = 0;
	for (int a = 3; a < argc; a++) {
		size_t len = (size_t)atol(argv[a]);
		double end = now_ms() + ms / 4;
		while (now_ms() < end)
			sink ^= csum_partial(buf + 2, len);
		/* Best of RUNS runs, as the JS side does; eight even offsets in turn. */
		double best = 0;
		for (int run = 0; run < runs; run++) {
			unsigned long calls = 0;
			double start = now_ms(), t = start;
			while (t - start < ms) {
				for (int k = 0; k < 64; k++) {
					__asm__ volatile("" ::: "memory");
					sink ^= csum_partial(buf + ((calls + k) & 7) * 2, len);
				}
				calls += 64;
				t = now_ms();
			}
			double gbps = (double)calls * len / ((t - start) * 1e6);
			if (gbps > best)
				best = gbps;
		}
		printf("%zu %.3f\n", len, best);
	}
	(void)sink;
	free(buf);
	return 0;
}
