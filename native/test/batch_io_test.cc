// Tests of the shared recvmmsg/sendmmsg helpers (native/src/batch_io.h) on real sockets: UDP on
// 127.0.0.1 (port 0) and a non-blocking AF_UNIX datagram pair (whose bounded queue gives a
// deterministic EAGAIN, which loopback UDP never does). Run by native/sanitize.sh under
// ASan/UBSan; alone:
//   g++ -std=c++17 -O2 native/src/batch_io.cc native/test/batch_io_test.cc -o /tmp/batch_io_test && /tmp/batch_io_test
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../src/batch_io.h"

using xr::RecvBatch;
using xr::SendBatcher;
using xr::SendCounts;

namespace {

int failures = 0;

#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                     \
    }                                                                 \
  } while (0)

#define CHECK_EQ(a, b)                                                                                          \
  do {                                                                                                          \
    const long long va = (long long)(a), vb = (long long)(b);                                                   \
    if (va != vb) {                                                                                             \
      std::fprintf(stderr, "%s:%d: CHECK_EQ failed: %s = %lld, %s = %lld\n", __FILE__, __LINE__, #a, va, #b, vb); \
      failures++;                                                                                               \
    }                                                                                                           \
  } while (0)

// A non-blocking UDP socket bound to 127.0.0.1 port 0, and its address.
int UdpSocket(sockaddr_in* addr) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("socket");
    std::exit(2);
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    std::perror("bind");
    std::exit(2);
  }
  *addr = a;
  return fd;
}

const sockaddr* Sa(const sockaddr_in* a) { return reinterpret_cast<const sockaddr*>(a); }

// Waits up to 2 s for `fd` to be readable: loopback delivery normally completes inside sendto, but a
// loaded machine may defer it to ksoftirqd.
bool WaitReadable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 2000) == 1;
}

// Reads what is queued on `fd` as (bytes) per datagram, waiting (bounded) until `want` have come.
std::vector<std::vector<uint8_t>> Drain(int fd, size_t want, std::vector<uint16_t>* from_ports = nullptr) {
  std::vector<uint8_t> bufs(16 * 2048);
  RecvBatch rx(16, bufs.data(), 2048, 2048);
  std::vector<std::vector<uint8_t>> out;
  for (;;) {
    const int n = rx.Receive(fd, 16);
    if (n == 0 && (out.size() >= want || !WaitReadable(fd))) return out;
    for (int i = 0; i < n; i++) {
      out.emplace_back(rx.data(i), rx.data(i) + rx.len(i));
      if (from_ports != nullptr) {
        CHECK_EQ(rx.from(i)->sa_family, AF_INET);
        CHECK_EQ(rx.from_len(i), sizeof(sockaddr_in));
        from_ports->push_back(ntohs(reinterpret_cast<const sockaddr_in*>(rx.from(i))->sin_port));
      }
    }
  }
}

// Datagrams around one the kernel refuses (an IPv6 destination on an IPv4 socket, and one too long
// for IPv4): only those are dropped, as errors; the others go, in as few calls as the errors allow.
void TestPerDatagramErrors() {
  sockaddr_in to, from;
  const int rx = UdpSocket(&to);
  const int tx = UdpSocket(&from);
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_port = htons(9);
  v6.sin6_addr = in6addr_loopback;
  static uint8_t big[65508];  // > 65,507: EMSGSIZE over IPv4
  const char* words[] = {"one", "two", "three", "four"};
  SendBatcher b(2);  // grows past its reservation
  b.Add(words[0], 3, Sa(&to), sizeof to);
  b.Add(words[1], 3, reinterpret_cast<const sockaddr*>(&v6), sizeof v6);
  b.Add(words[2], 5, Sa(&to), sizeof to);
  b.Add(big, sizeof big, Sa(&to), sizeof to);
  b.Add(words[3], 4, Sa(&to), sizeof to);
  CHECK_EQ(b.size(), 5);
  SendCounts c;
  b.Flush(tx, {4, 1}, &c);
  CHECK(b.empty());
  CHECK_EQ(c.sent, 3);
  CHECK_EQ(c.errors, 2);
  CHECK_EQ(c.would_block, 0);
  CHECK_EQ(c.waits, 0);
  CHECK_EQ(c.calls, 3);  // "one", then "three" (after the v6 error), then "four" (after EMSGSIZE)
  std::vector<uint16_t> ports;
  const auto got = Drain(rx, 3, &ports);
  CHECK_EQ(got.size(), 3);
  if (got.size() == 3) {
    CHECK(std::memcmp(got[0].data(), "one", 3) == 0 && got[0].size() == 3);
    CHECK(std::memcmp(got[1].data(), "three", 5) == 0 && got[1].size() == 5);
    CHECK(std::memcmp(got[2].data(), "four", 4) == 0 && got[2].size() == 4);
    for (uint16_t p : ports) CHECK_EQ(p, ntohs(from.sin_port));
  }
  // The batch is reusable after a flush, and counts accumulate.
  b.Add(words[0], 3, Sa(&to), sizeof to);
  b.Flush(tx, {4, 1}, &c);
  CHECK_EQ(c.sent, 4);
  CHECK_EQ(Drain(rx, 1).size(), 1);
  close(rx);
  close(tx);
}

// More datagrams than one sendmmsg takes (1024) and than the batch reserved: every one is sent,
// each with its own bytes (the headers were re-pointed when the arrays grew).
void TestManyAndGrowth() {
  sockaddr_in to, from;
  const int rx = UdpSocket(&to);
  const int tx = UdpSocket(&from);
  const int n = 2500;
  std::vector<uint8_t> payload(size_t(n) * 8);  // datagram i: its index, then i % 3 more bytes
  SendBatcher b(1);
  for (int i = 0; i < n; i++) {
    uint8_t* p = &payload[size_t(i) * 8];
    const uint32_t v = uint32_t(i);
    std::memcpy(p, &v, 4);
    std::memset(p + 4, 0xee, 4);
    b.Add(p, 4 + size_t(i % 3), Sa(&to), sizeof to);
  }
  SendCounts c;
  b.Flush(tx, {4, 1}, &c);
  CHECK_EQ(c.sent, n);
  CHECK_EQ(c.dropped(), 0);
  CHECK(c.calls >= 3);
  // Loopback delivers until the receiver's queue is full; what arrived is in order and intact.
  const auto got = Drain(rx, 1);
  CHECK(got.size() > 0);
  long last = -1;
  for (size_t k = 0; k < got.size(); k++) {
    CHECK(got[k].size() >= 4);
    if (got[k].size() < 4) continue;
    uint32_t i;
    std::memcpy(&i, got[k].data(), 4);
    CHECK(i < uint32_t(n) && long(i) > last);
    last = long(i);
    if (i < uint32_t(n)) CHECK_EQ(got[k].size(), 4 + i % 3);
  }
  close(rx);
  close(tx);
}

// A full send buffer: the batch waits the allowed number of times, then drops each datagram that
// still finds no room as would_block. AF_UNIX datagram pairs refuse (EAGAIN) once the peer's
// queue holds net.unix.max_dgram_qlen datagrams, which nobody reads here.
void TestWouldBlock() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
    std::perror("socketpair");
    std::exit(2);
  }
  // A small send buffer makes the pair refuse early whatever the host's queue length setting.
  const int sndbuf = 4096;
  CHECK_EQ(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
  const int n = 300;
  static uint8_t msg[64];
  SendBatcher b(n);
  for (int i = 0; i < n; i++) b.Add(msg, sizeof msg, nullptr, 0);
  SendCounts c;
  b.Flush(sv[0], {3, 1}, &c);
  CHECK(c.sent > 0);
  CHECK(c.would_block > 0);
  CHECK_EQ(c.sent + c.would_block, n);
  CHECK_EQ(c.errors, 0);
  CHECK_EQ(c.waits, 3);
  // What was sent is what is queued.
  long queued = 0;
  uint8_t buf[128];
  while (recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) > 0) queued++;
  CHECK_EQ(queued, c.sent);
  close(sv[0]);
  close(sv[1]);
}

// RecvBatch: a datagram longer than its slot is flagged truncated and cut to the slot; a batch
// stops at what is queued; source addresses are reported per datagram.
void TestReceive() {
  sockaddr_in to, from_a, from_b;
  const int rx = UdpSocket(&to);
  const int a = UdpSocket(&from_a);
  const int b = UdpSocket(&from_b);
  uint8_t long_msg[100];
  std::memset(long_msg, 7, sizeof long_msg);
  CHECK_EQ(sendto(a, long_msg, sizeof long_msg, 0, Sa(&to), sizeof to), sizeof long_msg);
  CHECK_EQ(sendto(b, "hi", 2, 0, Sa(&to), sizeof to), 2);
  std::vector<uint8_t> bufs(4 * 64);
  RecvBatch r(4, bufs.data(), 64, 64);
  CHECK(WaitReadable(rx));
  usleep(20'000);  // both queued before the one batch below (see WaitReadable)
  CHECK_EQ(r.Receive(rx, 8), 2);  // at most 4 slots; 2 queued
  CHECK(r.truncated(0));
  CHECK_EQ(r.len(0), 64);
  CHECK(!r.truncated(1));
  CHECK_EQ(r.len(1), 2);
  CHECK(std::memcmp(r.data(1), "hi", 2) == 0);
  CHECK_EQ(r.data(1), bufs.data() + 64);
  CHECK_EQ(ntohs(reinterpret_cast<const sockaddr_in*>(r.from(0))->sin_port), ntohs(from_a.sin_port));
  CHECK_EQ(ntohs(reinterpret_cast<const sockaddr_in*>(r.from(1))->sin_port), ntohs(from_b.sin_port));
  CHECK_EQ(r.Receive(rx, 4), 0);  // drained
  // The next batch starts clean: no stale truncation flag or address length.
  CHECK_EQ(sendto(a, "x", 1, 0, Sa(&to), sizeof to), 1);
  CHECK(WaitReadable(rx));
  CHECK_EQ(r.Receive(rx, 1), 1);
  CHECK(!r.truncated(0));
  CHECK_EQ(r.from_len(0), sizeof(sockaddr_in));
  close(rx);
  close(a);
  close(b);
}

}  // namespace

int main() {
  TestPerDatagramErrors();
  TestManyAndGrowth();
  TestWouldBlock();
  TestReceive();
  if (failures != 0) {
    std::fprintf(stderr, "batch_io_test: %d failure(s)\n", failures);
    return 1;
  }
  std::printf("batch_io_test: ok\n");
  return 0;
}
