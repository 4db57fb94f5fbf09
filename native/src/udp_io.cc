// See udp_io.h.
#include "udp_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/sock_diag.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace xr {

namespace {
// Tuned with bench:dataplane (docs/PROTOCOL.md §11): 128-cell receive batches, a 250 us
// coalescing sleep after a drained read, send chunks of 64 or 1024, and 0.5-1 MiB receive buffers
// measured no better (or lost more at capacity) on 2 shared cores.
constexpr int kBatch = 64;
constexpr size_t kRecvBytes = 2048;  // > any valid cell (1428): longer datagrams read as oversized
constexpr int kMaxRecvBatchesPerWake = 64;  // then back to the loop (the pacer may be due)
constexpr size_t kSendChunk = 256;  // cells sealed and sent (one sendmmsg) between receive reads
// Receive batches read between two send chunks: a tick's sends take about half the tick, and
// cells arrive as fast as they leave, so ~one chunk's worth must be read per chunk sent (reading
// one batch per chunk left the queue growing through every tick and lost cells at capacity).
constexpr int kRecvBatchesPerChunk = 4;
// A full send buffer: wait up to 50 x 2 ms per chunk for room rather than drop the tick's cells.
constexpr SendWaits kSendWaits = {50, 2};
}  // namespace

UdpIo::UdpIo(CellCore* core, std::mutex* mu, Deliver deliver)
    : core_(core), mu_(mu), deliver_(std::move(deliver)), rx_bufs_(size_t(kBatch) * kRecvBytes), rx_(new RecvBatch(kBatch, rx_bufs_.data(), kRecvBytes, kRecvBytes)), tx_(kSendChunk) {}

double MonotonicMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

int UdpIo::Start(const std::string& host, int port, int rcvbuf, int sndbuf) {
  PathAddr a;
  std::memset(&a, 0, sizeof a);
  socklen_t alen;
  int family;
  if (inet_pton(AF_INET, host.c_str(), &a.v4.sin_addr) == 1) {
    family = AF_INET;
    a.v4.sin_family = AF_INET;
    a.v4.sin_port = htons(uint16_t(port));
    alen = sizeof a.v4;
  } else if (inet_pton(AF_INET6, host.c_str(), &a.v6.sin6_addr) == 1) {
    family = AF_INET6;
    a.v6.sin6_family = AF_INET6;
    a.v6.sin6_port = htons(uint16_t(port));
    alen = sizeof a.v6;
  } else {
    return -EINVAL;
  }
  fd_ = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return -errno;
  // The kernel caps these at net.core.{r,w}mem_max; the defaults still work.
  if (rcvbuf > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (sndbuf > 0) setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  // Set DF and skip path-MTU state (cells are at most 1428 bytes and never meant to fragment): the
  // kernel then stamps IPv4 id 0 instead of hashing a fresh id per datagram (__ip_select_ident was
  // ~2.6% of the I/O thread's profile).
  if (family == AF_INET) {
    const int pmtu = IP_PMTUDISC_PROBE;
    setsockopt(fd_, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
  }
  if (bind(fd_, &a.sa, alen) != 0) {
    int e = errno;
    close(fd_);
    fd_ = -1;
    return -e;
  }
  getsockname(fd_, &a.sa, &alen);
  const int bound = ntohs(family == AF_INET ? a.v4.sin_port : a.v6.sin6_port);
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  wake_ = 0;
  running_ = true;
  thread_ = std::thread(&UdpIo::Run, this);
  return bound;
}

void UdpIo::Stop() {
  if (!running_.exchange(false)) return;
  Kick();
  thread_.join();
  close(fd_);
  close(event_fd_);
  fd_ = event_fd_ = -1;
}

void UdpIo::Kick() {
  uint64_t one = 1;
  // A full eventfd counter still wakes the thread: the write result does not matter.
  ssize_t r = write(event_fd_, &one, sizeof one);
  (void)r;
}

void UdpIo::Run() {
  pollfd fds[2] = {{fd_, POLLIN, 0}, {event_fd_, POLLIN, 0}};
  while (running_) {
    const double now = MonotonicMs();
    if (now >= wake_) {
      Tick(now);
      continue;
    }
    timespec ts;
    timespec* tsp = nullptr;
    if (std::isfinite(wake_)) {
      const double ms = wake_ - now;
      ts.tv_sec = time_t(ms / 1e3);
      ts.tv_nsec = long((ms - double(ts.tv_sec) * 1e3) * 1e6);
      tsp = &ts;
    }
    const int n = ppoll(fds, 2, tsp, nullptr);
    if (n < 0) continue;  // EINTR: recompute the timeout and wait again
    if (fds[1].revents & POLLIN) {
      uint64_t v;
      ssize_t r = read(event_fd_, &v, sizeof v);
      (void)r;
      wake_ = 0;  // re-ask the core: a join or leave may move the next tick
    }
    if (fds[0].revents & POLLIN) Receive(kMaxRecvBatchesPerWake, true);
  }
}

void UdpIo::CountKernelDrops() {
  uint32_t mem[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof mem;
  if (getsockopt(fd_, SOL_SOCKET, SO_MEMINFO, mem, &len) != 0) return;
  if (len > SK_MEMINFO_DROPS * sizeof(uint32_t)) {
    const uint32_t d = mem[SK_MEMINFO_DROPS];
    kernel_drops_ += double(d - kernel_drops_seen_);
    kernel_drops_seen_ = d;
  }
}

bool UdpIo::Receive(int max_batches, bool until_due) {
  RecvBatch& rx = *rx_;
  for (int batches = 0; batches < max_batches; batches++) {
    // A datagram longer than kRecvBytes arrives cut to it and reads as oversized in the core.
    const int n = rx.Receive(fd_, kBatch);
    if (n == 0) return false;  // drained, or a transient error (e.g. ICMP-reported): back to ppoll
    recv_batches_++;
    const double now = MonotonicMs();
    {
      std::lock_guard<std::mutex> lock(*mu_);
      for (int i = 0; i < n; i++) {
        const int idx = core_->Receive(rx.data(i), rx.len(i), now);
        if (idx >= 0) core_->SetUdpPath(idx, rx.from(i), rx.from_len(i));
      }
    }
    if (n < kBatch) return false;
    if (until_due && now >= wake_) return true;  // the pacer is due: it comes first
  }
  return true;
}

void UdpIo::Tick(double now) {
  batch_.Reset();
  {
    std::lock_guard<std::mutex> lock(*mu_);
    wake_ = core_->EmitCells(now, &batch_);
  }
  if (!std::isfinite(wake_)) wake_ = std::numeric_limits<double>::infinity();
  // Seal and send outside the lock, a chunk at a time; between chunks read up to a chunk's worth
  // of input, so a tick of many cells never leaves the socket undrained for its whole length, but
  // only until the next tick is due: past capacity, reads inside a tick made the pacer miss whole
  // ticks (6-27 per 2 s step at 1.25x); now the excess waits in the kernel queue and is shed there.
  const size_t n = batch_.cells.size();
  for (size_t from = 0; from < n; from += kSendChunk) {
    const size_t to = std::min(n, from + kSendChunk);
    SealCells(&aead_, &batch_, from, to);
    SendUdp(from, to);
    if (to < n) Receive(kRecvBatchesPerChunk, true);
  }
  std::unique_ptr<ExternalBatch> ext;
  for (const SendBatch::Cell& c : batch_.cells) {
    if (c.path == kPathUdp) continue;
    if (!ext) ext.reset(new ExternalBatch());
    const int32_t off = int32_t(ext->bytes.size());
    ext->bytes.insert(ext->bytes.end(), batch_.bytes.begin() + c.off, batch_.bytes.begin() + c.off + c.len);
    ext->meta.insert(ext->meta.end(), {c.index, off, int32_t(c.len)});
  }
  for (const auto& cl : batch_.closed) {
    if (!ext) ext.reset(new ExternalBatch());
    ext->closed.insert(ext->closed.end(), {cl.first, cl.second});
  }
  if (ext) deliver_(std::move(ext));
  CountKernelDrops();
  // Fold this tick's I/O counters into the core's stats: one lock per tick, not per batch.
  {
    std::lock_guard<std::mutex> lock(*mu_);
    CoreStats& st = core_->mutable_stats();
    st.send_batches += double(sends_.calls);
    st.send_errors += double(sends_.dropped());
    st.send_would_block += double(sends_.would_block);
    st.send_eagain += double(sends_.waits);
    st.recv_batches += recv_batches_;
    st.kernel_drops += kernel_drops_;
  }
  sends_ = SendCounts();
  recv_batches_ = kernel_drops_ = 0;
}

void UdpIo::SendUdp(size_t first, size_t last) {
  for (size_t i = first; i < last; i++) {
    const SendBatch::Cell& c = batch_.cells[i];
    if (c.path != kPathUdp) continue;
    tx_.Add(batch_.bytes.data() + c.off, c.len, &c.addr.sa, c.addr.sa.sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
  }
  // A per-destination error (e.g. ICMP unreachable reported on this socket) loses only that cell.
  tx_.Flush(fd_, kSendWaits, &sends_);
}

}  // namespace xr
