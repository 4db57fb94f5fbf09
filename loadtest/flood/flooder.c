/*
 * Garbage flood of the flood benchmark (loadtest/flood/bench.ts): datagrams at a fixed rate from
 * one loopback source address to the relay's cell port, paced in 1 ms slices with sendmmsg.
 *
 *   flooder <mode> <port> <session u32> <cell bytes> <rate per s> <duration ms> <source ip>
 *   mode "tag":    cells of the right length for a live session id, fresh (growing) counters and a
 *                  random body and tag: they pass every cheap check and fail only the AEAD open;
 *   mode "random": random bytes of that length (an unknown session almost always).
 * It stops at the duration even when the machine cannot reach the rate (then fewer are sent).
 * Prints one JSON line: {"sent":N,"sendFail":N,"lateSlices":N,"elapsedMs":T}.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define BATCH 64

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}
static void w32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

int main(int argc, char **argv) {
  if (argc < 8) return fprintf(stderr, "usage: see source\n"), 2;
  const int tag = strcmp(argv[1], "tag") == 0;
  const int port = atoi(argv[2]);
  const uint32_t session = (uint32_t)strtoul(argv[3], NULL, 10);
  const int bytes = atoi(argv[4]);
  const double rate = atof(argv[5]), duration_ms = atof(argv[6]);
  if (bytes < 12 || bytes > 1400) return fprintf(stderr, "cell bytes out of range\n"), 2;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  int b = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &b, sizeof b);
  struct sockaddr_in src = {.sin_family = AF_INET};
  if (inet_pton(AF_INET, argv[7], &src.sin_addr) != 1 || (ntohl(src.sin_addr.s_addr) >> 24) != 127) return fprintf(stderr, "source must be loopback\n"), 2;
  if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0) return perror("bind"), 2;
  struct sockaddr_in relay = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &relay.sin_addr);
  static uint8_t out[BATCH][1400];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  for (int m = 0; m < BATCH; m++) {
    iov[m].iov_base = out[m];
    iov[m].iov_len = bytes;
    memset(&msgs[m].msg_hdr, 0, sizeof msgs[m].msg_hdr);
    msgs[m].msg_hdr.msg_iov = &iov[m];
    msgs[m].msg_hdr.msg_iovlen = 1;
    msgs[m].msg_hdr.msg_name = &relay;
    msgs[m].msg_hdr.msg_namelen = sizeof relay;
  }
  uint64_t counter = 1ull << 40; /* far ahead of any real sender: always "fresh" to the window */
  uint64_t sent = 0, send_fail = 0, late = 0;
  const uint64_t t0 = now_ns(), end = t0 + (uint64_t)(duration_ms * 1e6);
  double due = 0;
  for (uint64_t next = t0; next < end; next += 1000000ull) {
    uint64_t now = now_ns();
    if (now >= end) break; /* bounded in time even when the rate is out of reach */
    if (now < next) {
      struct timespec ts = {0, (long)(next - now)};
      nanosleep(&ts, NULL);
    } else if (now > next + 2000000ull) late++;
    due += rate / 1000.0;
    int want = (int)due;
    due -= want;
    while (want > 0) {
      int m = want < BATCH ? want : BATCH;
      for (int i = 0; i < m; i++) {
        uint8_t *o = out[i];
        for (int k = 0; k < bytes; k += 8) { uint64_t r = next_rand(); memcpy(o + k, &r, bytes - k < 8 ? bytes - k : 8); }
        if (tag) {
          w32(o, session);
          w32(o + 4, (uint32_t)(counter >> 32));
          w32(o + 8, (uint32_t)counter);
          counter++;
        }
      }
      int k = 0;
      while (k < m) {
        int r = sendmmsg(fd, msgs + k, m - k, 0);
        if (r > 0) k += r;
        else if (errno == EINTR) continue;
        else if (errno == EAGAIN) { struct pollfd q = {fd, POLLOUT, 0}; poll(&q, 1, 1); }
        else { send_fail += m - k; break; }
      }
      sent += k;
      want -= m;
    }
  }
  printf("{\"sent\":%llu,\"sendFail\":%llu,\"lateSlices\":%llu,\"elapsedMs\":%.1f}\n", (unsigned long long)sent, (unsigned long long)send_fail, (unsigned long long)late,
         (now_ns() - t0) / 1e6);
  return 0;
}
