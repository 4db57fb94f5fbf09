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
constexpr int kRelayBatch = 8;  // per ready relay socket, then the next one (level-triggered)
// A full send buffer: up to 4 waits of 1 ms per flush, then drop (the thread serves every socket).
constexpr SendWaits kSendWaits = {4, 1};
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

TurnIo::TurnIo(TurnForwarder* fwd, std::mutex* mu, Deliver deliver)
    : fwd_(fwd), mu_(mu), deliver_(std::move(deliver)), peer_tx_(kBatch), client_tx_(1024) {}

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
  listener_rx_.reset(new RecvBatch(kBatch, in_.data(), kMaxDatagram, kMaxDatagram));
  relay_rx_.reset(new RecvBatch(kRelayBatch, in_.data(), kMaxDatagram, kMaxDatagram));
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
  // A failure is the caller's to count (turn-plane.ts adds it to xrelay_turn_send_errors_total).
  if (sendto(fd_, data, len, MSG_DONTWAIT, &to.sa, tlen) < 0) return -errno;
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
  if (tlen == 0) return -EAFNOSUPPORT;  // as in SendToClient, the caller counts failures
  if (sendto(a->fd, data, len, MSG_DONTWAIT, &to.sa, tlen) < 0) return -errno;
  return 0;
}

void TurnIo::Count(double TurnFwdStats::*field, double by) {
  std::lock_guard<std::mutex> lock(*mu_);
  fwd_->stats().*field += by;
}

void TurnIo::CountSends(const SendCounts& c) {
  TurnFwdStats& st = fwd_->stats();
  st.send_batches += double(c.calls);
  st.send_errors += double(c.dropped());
  st.send_would_block += double(c.would_block);
  st.send_eagain += double(c.waits);
}

bool TurnIo::Whole(const RecvBatch& rx, int i) {
  if (!rx.truncated(i)) return true;
  fwd_->stats().truncated++;
  return false;
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
  RecvBatch& rx = *relay_rx_;
  const int n = rx.Receive(a->fd, kRelayBatch);
  if (n == 0) return;
  TurnFwdStats& st = fwd_->stats();
  st.recv_batches++;
  const double now = RealtimeMs();
  for (int i = 0; i < n; i++) {
    if (!Whole(rx, i)) continue;
    if (arena_used_ + kMaxClientMessage > arena_.size()) FlushClients(true);
    const size_t len = fwd_->FromPeer(a, rx.data(i), rx.len(i), rx.from(i), now, arena_.data() + arena_used_);
    if (len == 0) continue;
    client_sends_.push_back(ClientSend{a->client, a->client_len, uint32_t(arena_used_), uint32_t(len)});
    arena_used_ += (len + 7) & ~size_t(7);
  }
}

void TurnIo::ReceiveListener() {
  RecvBatch& rx = *listener_rx_;
  for (int batches = 0; batches < kMaxListenerBatchesPerWake; batches++) {
    const int n = rx.Receive(fd_, kBatch);
    if (n == 0) return;  // drained, or a transient error (e.g. ICMP-reported)
    const double now = RealtimeMs();
    {
      std::lock_guard<std::mutex> lock(*mu_);
      fwd_->stats().recv_batches++;
      for (int i = 0; i < n; i++) {
        if (!Whole(rx, i)) continue;
        const uint8_t* buf = rx.data(i);
        const size_t len = rx.len(i);
        PeerSend ps;
        const int act = fwd_->FromClient(buf, len, rx.from(i), now, &ps);
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
          IpFromSockaddr(rx.from(i), &ip, &port);
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
  SendCounts c;
  for (size_t i = 0; i < peer_sends_.size();) {
    const int fd = peer_sends_[i].fd;
    for (; i < peer_sends_.size() && peer_sends_[i].fd == fd; i++) {
      const PeerOut& o = peer_sends_[i];
      peer_tx_.Add(o.data, o.len, &o.to.sa, o.to_len);
    }
    peer_tx_.Flush(fd, kSendWaits, &c);
  }
  peer_sends_.clear();
  CountSends(c);
}

// With or without the mutex (`locked`): the listener fd lives as long as the thread, and each send carries its own
// copy of the client address.
void TurnIo::FlushClients(bool locked) {
  if (client_sends_.empty()) return;
  for (const ClientSend& s : client_sends_) client_tx_.Add(arena_.data() + s.off, s.len, &s.to.sa, s.to_len);
  SendCounts c;
  client_tx_.Flush(fd_, kSendWaits, &c);
  client_sends_.clear();
  arena_used_ = 0;
  std::unique_lock<std::mutex> lock(*mu_, std::defer_lock);
  if (!locked) lock.lock();
  CountSends(c);
}

}  // namespace xr
