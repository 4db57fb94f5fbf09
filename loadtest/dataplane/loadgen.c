/*
 * Load generator of the data-plane benchmark: N client sessions on a few UDP sockets, each sending
 * one cell per tick (spread over the tick in 1 ms slices, as independent clients would), each cell
 * carrying one record stamped with its send time; it receives the relay's cells, opens them and
 * matches records to sends, for loss and latency. Crypto through OpenSSL EVP (the system
 * libcrypto with Node's headers, as the addon). Mode "fwd" does the same sealing and opening (all
 * keys zero) so the generator costs the same CPU against the C forwarder, which passes the sealed
 * cells through unchanged.
 *
 *   loadgen relay|fwd <port> <sessions-file> <duration_ms> <tick_ms> <up_body> <room_size> <sockets>
 *   sessions-file: one line per session: "<session u32> <up key hex> <down key hex>"
 * Prints one JSON line of results.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#define BATCH 64
#define MAXSOCK 16
#define HBUCKETS 200000 /* 10 us buckets: 2 s */

typedef struct {
  uint32_t id;
  uint8_t up[32], down[32];
  uint64_t counter;
  int sock;
} Sess;

static Sess *S;
static int N;
static int32_t by_index[65536];
static uint64_t hist[HBUCKETS];
static EVP_CIPHER_CTX *enc, *dec;

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}
static void w32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static uint32_t r32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static void hex(const char *h, uint8_t *out) { for (int i = 0; i < 32; i++) sscanf(h + 2 * i, "%2hhx", &out[i]); }

int main(int argc, char **argv) {
  if (argc < 9) return fprintf(stderr, "usage: see source\n"), 2;
  const int fwd = strcmp(argv[1], "fwd") == 0;
  const int port = atoi(argv[2]);
  const double duration_ms = atof(argv[4]), tick_ms = atof(argv[5]);
  const int up_body = atoi(argv[6]), room = atoi(argv[7]);
  int nsock = atoi(argv[8]);
  if (nsock < 1) nsock = 1;
  if (nsock > MAXSOCK) nsock = MAXSOCK;
  FILE *f = fopen(argv[3], "r");
  if (!f) return perror("sessions"), 2;
  S = calloc(65536, sizeof(Sess));
  char up[80], down[80];
  unsigned id;
  memset(by_index, -1, sizeof by_index);
  while (N < 65536 && fscanf(f, "%u %70s %70s", &id, up, down) == 3) {
    S[N].id = id;
    hex(up, S[N].up);
    hex(down, S[N].down);
    S[N].sock = N % nsock;
    by_index[id & 0xffff] = N;
    N++;
  }
  fclose(f);
  enc = EVP_CIPHER_CTX_new();
  dec = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(enc, EVP_chacha20_poly1305(), NULL, NULL, NULL);
  EVP_DecryptInit_ex(dec, EVP_chacha20_poly1305(), NULL, NULL, NULL);

  int fds[MAXSOCK];
  struct sockaddr_in relay = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &relay.sin_addr);
  for (int i = 0; i < nsock; i++) {
    fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int b = 4 << 20;
    setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &b, sizeof b);
    setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &b, sizeof b);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    bind(fds[i], (struct sockaddr *)&a, sizeof a);
  }
  const size_t wire = 12 + up_body + 16;
  uint8_t body[1400];
  static uint8_t out[BATCH][1500];
  static uint8_t rbuf[BATCH][2048];
  uint8_t plain[2048];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  uint64_t sent_records = 0, recv_records = 0, down_cells = 0, bad = 0, send_fail = 0, late_slices = 0;
  const uint64_t t0 = now_ns();
  const uint64_t warm_ns = (uint64_t)(3 * tick_ms * 1e6);  /* dummies first: every session confirmed */
  const uint64_t end_send = t0 + warm_ns + (uint64_t)(duration_ms * 1e6);
  const uint64_t end_all = end_send + 400000000ull;
  const int slices = (int)tick_ms;  /* 1 ms slices */
  uint64_t next = t0;
  int slice = 0;
  uint32_t seq = 0;
  for (;;) {
    uint64_t now = now_ns();
    if (now >= end_all) break;
    if (next < end_send && now >= next) {
      if (now > next + 2000000ull) late_slices++;
      const int measuring = next >= t0 + warm_ns;
      const int from = (int)((int64_t)N * slice / slices), to = (int)((int64_t)N * (slice + 1) / slices);
      for (int sk = 0; sk < nsock; sk++) {
        int m = 0;
        for (int i = from; i < to; i++) {
          Sess *s = &S[i];
          if (s->sock != sk) continue;
          memset(body, 0, up_body);
          if (measuring) {
            /* one record: slot 0, len = up_body - 5, payload = send time | sender | seq */
            const int len = up_body - 5;
            body[0] = 1;
            body[3] = len >> 8;
            body[4] = len & 0xff;
            uint64_t ts = now_ns();
            memcpy(body + 5, &ts, 8);
            memcpy(body + 13, &i, 4);
            memcpy(body + 17, &seq, 4);
            sent_records++;
          }
          uint8_t *o = out[m];
          w32(o, s->id);
          w32(o + 4, (uint32_t)(s->counter >> 32));
          w32(o + 8, (uint32_t)s->counter);
          s->counter++;
          {
            int n1 = 0, n2 = 0;
            EVP_EncryptInit_ex(enc, NULL, NULL, s->up, o);
            EVP_EncryptUpdate(enc, o + 12, &n1, body, up_body);
            EVP_EncryptFinal_ex(enc, o + 12 + n1, &n2);
            EVP_CIPHER_CTX_ctrl(enc, EVP_CTRL_AEAD_GET_TAG, 16, o + 12 + up_body);
          }
          iov[m].iov_base = o;
          iov[m].iov_len = wire;
          memset(&msgs[m].msg_hdr, 0, sizeof msgs[m].msg_hdr);
          msgs[m].msg_hdr.msg_iov = &iov[m];
          msgs[m].msg_hdr.msg_iovlen = 1;
          msgs[m].msg_hdr.msg_name = &relay;
          msgs[m].msg_hdr.msg_namelen = sizeof relay;
          if (++m == BATCH || i == to - 1) {
            for (int k = 0; k < m;) {
              int r = sendmmsg(fds[sk], msgs + k, m - k, 0);
              if (r > 0) k += r;
              else if (errno == EINTR) continue;
              else if (errno == EAGAIN) { struct pollfd q = {fds[sk], POLLOUT, 0}; poll(&q, 1, 1); }
              else { send_fail++; k++; }
            }
            m = 0;
          }
        }
        if (m > 0) {
          for (int k = 0; k < m;) {
            int r = sendmmsg(fds[sk], msgs + k, m - k, 0);
            if (r > 0) k += r;
            else if (errno == EINTR) continue;
            else if (errno == EAGAIN) { struct pollfd q = {fds[sk], POLLOUT, 0}; poll(&q, 1, 1); }
            else { send_fail++; k++; }
          }
        }
      }
      if (++slice == slices) { slice = 0; seq++; }
      next += 1000000ull;
      if (now_ns() < next) continue;
      /* late: fall through and drain what arrived before sending the next slice */
    }
    /* receive until the next slice is due */
    struct pollfd p[MAXSOCK];
    for (int i = 0; i < nsock; i++) p[i] = (struct pollfd){fds[i], POLLIN, 0};
    uint64_t until = next < end_send ? next : end_all;
    struct timespec ts = {0, 0};
    if (until > now) { ts.tv_sec = (until - now) / 1000000000ull; ts.tv_nsec = (until - now) % 1000000000ull; }
    if (next <= now_ns()) ts.tv_sec = ts.tv_nsec = 0;
    if (ppoll(p, nsock, &ts, NULL) <= 0) continue;
    for (int sk = 0; sk < nsock; sk++) {
      if (!(p[sk].revents & POLLIN)) continue;
      for (;;) {
        for (int i = 0; i < BATCH; i++) {
          iov[i].iov_base = rbuf[i];
          iov[i].iov_len = sizeof rbuf[i];
          memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
          msgs[i].msg_hdr.msg_iov = &iov[i];
          msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(fds[sk], msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) break;
        const uint64_t t = now_ns();
        for (int i = 0; i < n; i++) {
          const uint8_t *c = rbuf[i];
          /* fwd: a forwarder padding to the relay's down size appends zeros after the sealed cell */
          const int len = fwd && msgs[i].msg_len > wire ? (int)wire : (int)msgs[i].msg_len;
          down_cells++;
          if (len < 28) { bad++; continue; }
          const uint8_t *pl;
          int plen = len - 28;
          {
            /* fwd: the cell is the peer's sealed up cell, passed through; its session's key opens it */
            int x = by_index[r32(c) & 0xffff];
            if (x < 0 || S[x].id != r32(c)) { bad++; continue; }
            int n1 = 0, n2 = 0;
            EVP_DecryptInit_ex(dec, NULL, NULL, fwd ? S[x].up : S[x].down, c);
            EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_AEAD_SET_TAG, 16, (void *)(c + len - 16));
            EVP_DecryptUpdate(dec, plain, &n1, c + 12, plen);
            if (EVP_DecryptFinal_ex(dec, plain + n1, &n2) != 1) { bad++; continue; }
            pl = plain;
          }
          int count = pl[0], off = 1;
          for (int r = 0; r < count && off + 4 <= plen; r++) {
            int slot = pl[off] << 8 | pl[off + 1], rl = pl[off + 2] << 8 | pl[off + 3];
            off += 4;
            if (slot != 0xffff && rl >= 16 && off + rl <= plen) {
              uint64_t st;
              memcpy(&st, pl + off, 8);
              uint64_t us = t > st ? (t - st) / 10000 : 0;
              hist[us < HBUCKETS ? us : HBUCKETS - 1]++;
              recv_records++;
            }
            off += rl;
          }
        }
        if (n < BATCH) break;
      }
    }
  }
  uint64_t total = 0, c50 = 0, c99 = 0, acc = 0;
  for (int i = 0; i < HBUCKETS; i++) total += hist[i];
  for (int i = 0; i < HBUCKETS; i++) {
    acc += hist[i];
    if (!c50 && acc * 2 >= total) c50 = i + 1;
    if (!c99 && acc * 100 >= total * 99) { c99 = i + 1; break; }
  }
  const double expected = (double)sent_records * (room - 1);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  const double cpu_ms = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
  printf("{\"sessions\":%d,\"sentRecords\":%llu,\"expectedRecords\":%.0f,\"receivedRecords\":%llu,\"downCells\":%llu,\"bad\":%llu,\"sendFail\":%llu,"
         "\"lateSlices\":%llu,\"latP50Us\":%llu,\"latP99Us\":%llu,\"measureMs\":%.0f,\"cpuMs\":%.0f}\n",
         N, (unsigned long long)sent_records, expected, (unsigned long long)recv_records, (unsigned long long)down_cells, (unsigned long long)bad,
         (unsigned long long)send_fail, (unsigned long long)late_slices, (unsigned long long)c50 * 10, (unsigned long long)c99 * 10, duration_ms, cpu_ms);
  return 0;
}
