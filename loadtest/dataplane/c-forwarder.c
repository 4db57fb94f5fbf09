/*
 * The practical limit for the data-plane benchmark: a minimal UDP forwarder in C with batched
 * syscalls (recvmmsg/sendmmsg) and no crypto, no pacing, no queues. A datagram's first 4 bytes
 * name its session; the forwarder learns each session's address from what it receives and sends
 * every datagram on to the peer session (id ^ 1), as a 1:1 relay would. Single thread.
 * With <pad-to>, a shorter datagram is sent on zero-padded to that length: the same sizes as the
 * relay moves (188-byte cells in, 508-byte cells out for the audio profile).
 *
 *   c-forwarder <port> [pad-to]     prints "port <bound>" and runs until killed
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BATCH 64
#define MAXS 65536

static struct sockaddr_in addrs[MAXS];
static unsigned char known[MAXS];

int main(int argc, char **argv) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  int buf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  const int pad = argc > 2 ? atoi(argv[2]) : 0;
  if (pad < 0 || pad > 2048) return fprintf(stderr, "pad-to must be 0..2048\n"), 2;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(argc > 1 ? atoi(argv[1]) : 0)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) return perror("bind"), 1;
  socklen_t al = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &al);
  printf("port %d\n", ntohs(a.sin_port));
  fflush(stdout);
  static unsigned char bufs[BATCH][2048];
  struct mmsghdr in[BATCH], out[BATCH];
  struct iovec iov[BATCH], oiov[BATCH];
  struct sockaddr_in from[BATCH];
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, -1) < 0) continue;
    for (;;) {
      for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = sizeof bufs[i];
        memset(&in[i].msg_hdr, 0, sizeof in[i].msg_hdr);
        in[i].msg_hdr.msg_iov = &iov[i];
        in[i].msg_hdr.msg_iovlen = 1;
        in[i].msg_hdr.msg_name = &from[i];
        in[i].msg_hdr.msg_namelen = sizeof from[i];
      }
      int n = recvmmsg(fd, in, BATCH, MSG_DONTWAIT, NULL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      int m = 0;
      for (int i = 0; i < n; i++) {
        if (in[i].msg_len < 4) continue;
        unsigned s = ((unsigned)bufs[i][0] << 24 | (unsigned)bufs[i][1] << 16 | (unsigned)bufs[i][2] << 8 | bufs[i][3]) & (MAXS - 1);
        addrs[s] = from[i];
        known[s] = 1;
        unsigned peer = s ^ 1;
        if (!known[peer]) continue;
        unsigned len = in[i].msg_len;
        if (len < (unsigned)pad) {
          memset(bufs[i] + len, 0, pad - len);
          len = pad;
        }
        oiov[m].iov_base = bufs[i];
        oiov[m].iov_len = len;
        memset(&out[m].msg_hdr, 0, sizeof out[m].msg_hdr);
        out[m].msg_hdr.msg_iov = &oiov[m];
        out[m].msg_hdr.msg_iovlen = 1;
        out[m].msg_hdr.msg_name = &addrs[peer];
        out[m].msg_hdr.msg_namelen = sizeof addrs[peer];
        m++;
      }
      for (int sent = 0; sent < m;) {
        int r = sendmmsg(fd, out + sent, m - sent, 0);
        if (r > 0) sent += r;
        else if (errno == EINTR) continue;
        else if (errno == EAGAIN) { struct pollfd q = {fd, POLLOUT, 0}; poll(&q, 1, 2); }
        else sent++;
      }
      if (n < BATCH) break;
    }
  }
}
