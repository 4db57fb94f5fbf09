// See turn_io.h.
#include "turn_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace xr {

namespace {
constexpr int kBatch = 32;
constexpr size_t kMaxDatagram = 65536;  // any UDP payload: nothing is truncated
constexpr int kMaxListenerBatchesPerWake = 16;  // then serve the relay sockets, so neither starves
constexpr size_t kArenaBytes = 1 << 20;
constexpr uint64_t kTagListener = ~uint64_t(0);
constexpr uint64_t kTagEvent = ~uint64_t(0) - 1;
constexpr int kEagainRetries = 4;
}  // namespace

double RealtimeMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return std::floor(double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6);
}

socklen_t ParseSockaddr(const std::string& ip, int port, TurnAddr* out) {
  std::memset(out, 0, sizeof *out);
  if (port < 0 || port > 65535) return 0;
  if (inet_pton(AF_INET, ip.c_str(), &out->v4.sin_addr) == 1) {
    out->v4.sin_family = AF_INET;
    out->v4.sin_port = htons(uint16_t(port));
    return sizeof out->v4;
  }
  if (inet_pton(AF_INET6, ip.c_str(), &out->v6.sin6_addr) == 1) {
    out->v6.sin6_family = AF_INET6;
    out->v6.sin6_port = htons(uint16_t(port));
    return sizeof out->v6;
  }
  return 0;
}

TurnIo::TurnIo(TurnForwarder* fwd, std::mutex* mu, Deliver deliver) : fwd_(fwd), mu_(mu), deliver_(std::move(deliver)) {}

int TurnIo::Start(const std::string& host, int port, int bufbytes) {
  TurnAddr a;
  const socklen_t alen = ParseSockaddr(host, port, &a);
  if (alen == 0) return -EINVAL;
  family_ = a.sa.sa_family;
  bufbytes_ = bufbytes;
  fd_ = socket(family_, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return -errno;
  if (bufbytes > 0) {
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bufbytes, sizeof bufbytes);
    setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &bufbytes, sizeof bufbytes);
  }
  socklen_t blen = alen;
  if (bind(fd_, &a.sa, alen) != 0 || getsockname(fd_, &a.sa, &blen) != 0) {
    const int e = errno;
    close(fd_);
    fd_ = -1;
    return -e;
  }
  const int bound = ntohs(family_ == AF_INET ? a.v4.sin_port : a.v6.sin6_port);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTagListener;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd_, &ev);
  ev.data.u64 = kTagEvent;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &ev);
  in_.resize(kBatch * kMaxDatagram);
  arena_.resize(kArenaBytes);
  client_sends_.reserve(1024);
  peer_sends_.reserve(kBatch);
  running_ = true;
  thread_ = std::thread(&TurnIo::Run, this);
  return bound;
}

void TurnIo::Stop() {
  if (!running_.exchange(false)) return;
  uint64_t one = 1;
  ssize_t r = write(event_fd_, &one, sizeof one);
  (void)r;
  thread_.join();
  std::lock_guard<std::mutex> lock(*mu_);
  std::vector<uint32_t> ids;
  fwd_->ForEach([&](TurnAlloc* a) { ids.push_back(a->id); });
  for (uint32_t id : ids) {
    TurnAlloc* a = fwd_->Remove(id);
    if (a->fd >= 0) close(a->fd);
    delete a;
  }
  close(fd_);
  close(event_fd_);
  close(epoll_fd_);
  fd_ = event_fd_ = epoll_fd_ = -1;
}

int TurnIo::OpenRelay(uint32_t id, const std::string& bind_ip, int port, const std::string& client_ip, int client_port) {
  TurnAddr bind_addr, client;
  const socklen_t blen = ParseSockaddr(bind_ip, port, &bind_addr);
  const socklen_t clen = ParseSockaddr(client_ip, client_port, &client);
  if (blen == 0 || clen == 0 || !running_) return -EINVAL;
  const int fd = socket(bind_addr.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (bufbytes_ > 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufbytes_, sizeof bufbytes_);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufbytes_, sizeof bufbytes_);
  }
  TurnAddr bound;
  socklen_t len = sizeof bound;
  if (bind(fd, &bind_addr.sa, blen) != 0 || getsockname(fd, &bound.sa, &len) != 0) {
    const int e = errno;
    close(fd);
    return -e;
  }
  std::lock_guard<std::mutex> lock(*mu_);
  if (!fwd_->Add(id, &client.sa, clen, bind_addr.sa.sa_family, fd)) {
    close(fd);
    return -EEXIST;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = id;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    const int e = errno;
    delete fwd_->Remove(id);
    close(fd);
    return -e;
  }
  return ntohs(bound.sa.sa_family == AF_INET ? bound.v4.sin_port : bound.v6.sin6_port);
}

bool TurnIo::CloseRelay(uint32_t id) {
  std::lock_guard<std::mutex> lock(*mu_);
  TurnAlloc* a = fwd_->Remove(id);
  if (a == nullptr) return false;
  // The I/O thread only touches relay fds under the mutex, after looking the id up again, so a
  // ready event for this fd still queued in its epoll batch finds nothing and is skipped.
  if (a->fd >= 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, a->fd, nullptr);
    close(a->fd);
  }
  delete a;
  return true;
}

int TurnIo::SendToClient(const std::string& ip, int port, const uint8_t* data, size_t len) {
  TurnAddr to;
  const socklen_t tlen = ParseSockaddr(ip, port, &to);
  if (tlen == 0 || fd_ < 0) return -EINVAL;
  if (sendto(fd_, data, len, MSG_DONTWAIT, &to.sa, tlen) < 0) {
    const int e = errno;
    Count(&TurnFwdStats::send_errors, 1);
    return -e;
  }
  return 0;
}

int TurnIo::SendToPeer(uint32_t id, const std::string& ip, int port, const uint8_t* data, size_t len) {
  TurnAddr parsed;
  if (ParseSockaddr(ip, port, &parsed) == 0) return -EINVAL;
  TurnIp tip;
  uint16_t tport;
  IpFromSockaddr(&parsed.sa, &tip, &tport);
  std::lock_guard<std::mutex> lock(*mu_);
  TurnAlloc* a = fwd_->Find(id);
  if (a == nullptr || a->fd < 0) return -EBADF;
  TurnAddr to;
  const socklen_t tlen = SockaddrFor(tip, tport, a->sock_family, &to);
  if (tlen == 0 || sendto(a->fd, data, len, MSG_DONTWAIT, &to.sa, tlen) < 0) {
    fwd_->stats().send_errors++;
    return tlen == 0 ? -EAFNOSUPPORT : -errno;
  }
  return 0;
}

void TurnIo::Count(double TurnFwdStats::*field, double by) {
  std::lock_guard<std::mutex> lock(*mu_);
  fwd_->stats().*field += by;
}

void TurnIo::Run() {
  epoll_event events[64];
  while (running_) {
    const int n = epoll_wait(epoll_fd_, events, 64, -1);
    if (n < 0) continue;  // EINTR
    bool listener = false;
    {
      std::lock_guard<std::mutex> lock(*mu_);
      for (int i = 0; i < n; i++) {
        const uint64_t tag = events[i].data.u64;
        if (tag == kTagListener) {
          listener = true;
        } else if (tag == kTagEvent) {
          uint64_t v;
          ssize_t r = read(event_fd_, &v, sizeof v);
          (void)r;
        } else {
          ReceiveRelay(uint32_t(tag));
        }
      }
    }
    FlushClients(false);
    if (listener) ReceiveListener();
    if (up_) {
      std::unique_ptr<TurnUpBatch> b = std::move(up_);
      const double k = double(b->meta.size() / 4);
      if (!deliver_(std::move(b))) Count(&TurnFwdStats::up_dropped, k);
    }
  }
}

// Under the mutex: one recvmmsg on the allocation's relay socket (level-triggered epoll brings us
// back if more is queued), each datagram encoded for the client into the arena.
void TurnIo::ReceiveRelay(uint32_t id) {
  TurnAlloc* a = fwd_->Find(id);
  if (a == nullptr || a->fd < 0) return;
  constexpr int kRelayBatch = 8;
  mmsghdr msgs[kRelayBatch];
  iovec iov[kRelayBatch];
  TurnAddr from[kRelayBatch];
  for (int i = 0; i < kRelayBatch; i++) {
    iov[i] = {in_.data() + size_t(i) * kMaxDatagram, kMaxDatagram};
    std::memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof from[i];
  }
  const int n = recvmmsg(a->fd, msgs, kRelayBatch, MSG_DONTWAIT, nullptr);
  if (n <= 0) return;
  TurnFwdStats& st = fwd_->stats();
  st.recv_batches++;
  const double now = RealtimeMs();
  for (int i = 0; i < n; i++) {
    if (arena_used_ + kMaxClientMessage > arena_.size()) FlushClients(true);
    const size_t len = fwd_->FromPeer(a, static_cast<const uint8_t*>(iov[i].iov_base), msgs[i].msg_len, &from[i].sa, now, arena_.data() + arena_used_);
    if (len == 0) continue;
    client_sends_.push_back(ClientSend{a->client, a->client_len, uint32_t(arena_used_), uint32_t(len)});
    arena_used_ += (len + 7) & ~size_t(7);
  }
}

void TurnIo::ReceiveListener() {
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  TurnAddr from[kBatch];
  for (int batches = 0; batches < kMaxListenerBatchesPerWake; batches++) {
    for (int i = 0; i < kBatch; i++) {
      iov[i] = {in_.data() + size_t(i) * kMaxDatagram, kMaxDatagram};
      std::memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    const int n = recvmmsg(fd_, msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // EAGAIN (drained) or a transient error (e.g. ICMP-reported)
    const double now = RealtimeMs();
    {
      std::lock_guard<std::mutex> lock(*mu_);
      fwd_->stats().recv_batches++;
      for (int i = 0; i < n; i++) {
        const uint8_t* buf = static_cast<const uint8_t*>(iov[i].iov_base);
        const size_t len = msgs[i].msg_len;
        PeerSend ps;
        const int act = fwd_->FromClient(buf, len, &from[i].sa, now, &ps);
        if (act == kActToPeer) {
          PeerOut o;
          o.fd = ps.alloc->fd;
          o.to_len = SockaddrFor(ps.ip, ps.port, ps.alloc->sock_family, &o.to);
          o.data = ps.data;
          o.len = ps.len;
          if (o.to_len == 0 || o.fd < 0) fwd_->stats().send_errors++;
          else peer_sends_.push_back(o);
        } else if (act == kActUp) {
          if (!up_) up_.reset(new TurnUpBatch());
          TurnIp ip;
          uint16_t port;
          IpFromSockaddr(&from[i].sa, &ip, &port);
          const int32_t off = int32_t(up_->bytes.size());
          up_->bytes.insert(up_->bytes.end(), buf, buf + len);
          up_->meta.insert(up_->meta.end(), {off, int32_t(len), ip.family, port});
          up_->addrs.insert(up_->addrs.end(), ip.bytes, ip.bytes + 16);
          fwd_->stats().handed_up++;
        }
      }
      FlushPeers();
    }
    if (n < kBatch) return;
  }
}

// Under the mutex (relay fds stay valid): consecutive datagrams on one relay socket go in one sendmmsg.
void TurnIo::FlushPeers() {
  TurnFwdStats& st = fwd_->stats();
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  size_t i = 0;
  while (i < peer_sends_.size()) {
    size_t j = i;
    while (j < peer_sends_.size() && j - i < size_t(kBatch) && peer_sends_[j].fd == peer_sends_[i].fd) {
      PeerOut& o = peer_sends_[j];
      const size_t k = j - i;
      iov[k] = {const_cast<uint8_t*>(o.data), o.len};
      std::memset(&msgs[k].msg_hdr, 0, sizeof msgs[k].msg_hdr);
      msgs[k].msg_hdr.msg_name = &o.to;
      msgs[k].msg_hdr.msg_namelen = o.to_len;
      msgs[k].msg_hdr.msg_iov = &iov[k];
      msgs[k].msg_hdr.msg_iovlen = 1;
      j++;
    }
    size_t sent = 0;
    const size_t count = j - i;
    int retries = 0;
    while (sent < count) {
      const int r = sendmmsg(peer_sends_[i].fd, msgs + sent, unsigned(count - sent), MSG_DONTWAIT);
      if (r > 0) {
        sent += size_t(r);
        st.send_batches++;
      } else if (r < 0 && errno == EINTR) {
        continue;
      } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && retries++ < kEagainRetries) {
        st.send_eagain++;
        pollfd p = {peer_sends_[i].fd, POLLOUT, 0};
        poll(&p, 1, 1);
      } else {
        st.send_errors++;  // a per-destination error (ICMP-reported) or a full buffer: drop that one
        sent++;
      }
    }
    i = j;
  }
  peer_sends_.clear();
}

// With or without the mutex (`locked`): the listener fd lives as long as the thread, and each send carries its own
// copy of the client address.
void TurnIo::FlushClients(bool locked) {
  if (client_sends_.empty()) return;
  static thread_local std::vector<mmsghdr> msgs;
  static thread_local std::vector<iovec> iov;
  const size_t n = client_sends_.size();
  msgs.resize(n);
  iov.resize(n);
  for (size_t i = 0; i < n; i++) {
    ClientSend& c = client_sends_[i];
    iov[i] = {arena_.data() + c.off, c.len};
    std::memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
    msgs[i].msg_hdr.msg_name = &c.to;
    msgs[i].msg_hdr.msg_namelen = c.to_len;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  size_t sent = 0;
  double batches = 0, errors = 0, again = 0;
  int retries = 0;
  while (sent < n) {
    const int r = sendmmsg(fd_, msgs.data() + sent, unsigned(std::min<size_t>(n - sent, 1024)), MSG_DONTWAIT);
    if (r > 0) {
      sent += size_t(r);
      batches++;
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && retries++ < kEagainRetries) {
      again++;
      pollfd p = {fd_, POLLOUT, 0};
      poll(&p, 1, 1);
    } else {
      errors++;
      sent++;
    }
  }
  client_sends_.clear();
  arena_used_ = 0;
  std::unique_lock<std::mutex> lock(*mu_, std::defer_lock);
  if (!locked) lock.lock();
  TurnFwdStats& st = fwd_->stats();
  st.send_batches += batches;
  st.send_errors += errors;
  st.send_eagain += again;
}

}  // namespace xr
