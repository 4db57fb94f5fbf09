// Batched datagram I/O shared by the two I/O threads (udp_io.cc for media cells, turn_io.cc for
// TURN): the recvmmsg and sendmmsg plumbing, written once.
//
//  - RecvBatch: a fixed set of message headers pointing at caller-owned buffers; Receive() is one
//    non-blocking recvmmsg (retried on EINTR) that reports how many datagrams arrived, with each
//    one's bytes, length, source address and whether it was longer than its buffer.
//  - SendBatcher: datagrams added one by one (bytes and destination; nothing copied, so both must
//    stay valid until Flush), then sent with as few sendmmsg calls as the kernel allows. Flush
//    handles EINTR, partial sends (sendmmsg sends a prefix and reports the first failure on the
//    next call), a full send buffer (bounded waits for room, then the datagram is dropped) and
//    per-datagram errors (that datagram is dropped, the rest still go), and reports the counts.
//
// Both sockets are non-blocking: every call passes MSG_DONTWAIT and never sleeps except in the
// bounded poll() for send-buffer room. Nothing here allocates per datagram.
#pragma once
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace xr {

class RecvBatch {
 public:
  // `slots` headers; slot i reads into base + i * stride, at most `cap` bytes, and its source
  // address into an internal sockaddr_storage. The buffers are the caller's and must outlive it.
  RecvBatch(int slots, uint8_t* base, size_t stride, size_t cap);
  RecvBatch(const RecvBatch&) = delete;
  RecvBatch& operator=(const RecvBatch&) = delete;

  // One recvmmsg of up to min(max, slots) datagrams: how many arrived (0 when the socket is
  // drained, or on a transient error such as an ICMP-reported one).
  int Receive(int fd, int max);
  int slots() const { return int(msgs_.size()); }
  const uint8_t* data(int i) const { return static_cast<const uint8_t*>(iov_[size_t(i)].iov_base); }
  // The bytes read (at most `cap`).
  size_t len(int i) const { return msgs_[size_t(i)].msg_len; }
  const sockaddr* from(int i) const { return reinterpret_cast<const sockaddr*>(&from_[size_t(i)]); }
  socklen_t from_len(int i) const { return msgs_[size_t(i)].msg_hdr.msg_namelen; }
  // The datagram was longer than `cap`: the kernel kept only its first `cap` bytes.
  bool truncated(int i) const { return (msgs_[size_t(i)].msg_hdr.msg_flags & MSG_TRUNC) != 0; }

 private:
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iov_;
  std::vector<sockaddr_storage> from_;
};

// What one Flush did. `sent + would_block + errors` is the number of datagrams flushed.
struct SendCounts {
  uint64_t sent = 0;         // datagrams the kernel took
  uint64_t calls = 0;        // sendmmsg calls that sent at least one datagram
  uint64_t waits = 0;        // times the send buffer was full and Flush waited for room
  uint64_t would_block = 0;  // datagrams dropped: the send buffer stayed full past the waits
  uint64_t errors = 0;       // datagrams dropped for an error of their own (e.g. EMSGSIZE)
  uint64_t dropped() const { return would_block + errors; }
};

// How long Flush may wait for send-buffer room: up to `max_waits` polls of `wait_ms` each per
// Flush; after that, a full buffer drops the datagram at the head and tries the next one.
struct SendWaits {
  int max_waits;
  int wait_ms;
};

class SendBatcher {
 public:
  // Room for `reserve` datagrams before the arrays grow (they never shrink).
  explicit SendBatcher(size_t reserve);
  SendBatcher(const SendBatcher&) = delete;
  SendBatcher& operator=(const SendBatcher&) = delete;

  // Queues a datagram; `to` may be null on a connected socket.
  void Add(const void* data, size_t len, const sockaddr* to, socklen_t to_len) {
    if (n_ == msgs_.size()) Grow();
    iov_[n_] = {const_cast<void*>(data), len};
    msghdr& h = msgs_[n_].msg_hdr;
    h.msg_name = const_cast<sockaddr*>(to);
    h.msg_namelen = to == nullptr ? 0 : to_len;
    h.msg_iov = &iov_[n_];
    h.msg_iovlen = 1;
    h.msg_control = nullptr;
    h.msg_controllen = 0;
    h.msg_flags = 0;
    n_++;
  }
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  // Sends every queued datagram on `fd` and empties the batch; adds what happened to `counts`.
  void Flush(int fd, SendWaits waits, SendCounts* counts);

 private:
  void Grow();

  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iov_;
  size_t n_ = 0;
};

}  // namespace xr
