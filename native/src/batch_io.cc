// See batch_io.h.
#include "batch_io.h"

#include <errno.h>
#include <poll.h>

#include <algorithm>
#include <cstring>

namespace xr {

namespace {
// sendmmsg takes at most UIO_MAXIOV (1024) headers per call.
constexpr size_t kMaxPerCall = 1024;
}  // namespace

RecvBatch::RecvBatch(int slots, uint8_t* base, size_t stride, size_t cap) : msgs_(size_t(slots)), iov_(size_t(slots)), from_(size_t(slots)) {
  for (size_t i = 0; i < msgs_.size(); i++) {
    iov_[i] = {base + i * stride, cap};
    std::memset(&msgs_[i], 0, sizeof msgs_[i]);
    msgs_[i].msg_hdr.msg_iov = &iov_[i];
    msgs_[i].msg_hdr.msg_iovlen = 1;
    msgs_[i].msg_hdr.msg_name = &from_[i];
  }
}

int RecvBatch::Receive(int fd, int max) {
  const int n = std::min(max, slots());
  // The kernel overwrites each header's address length (and flags) with the datagram's.
  for (int i = 0; i < n; i++) msgs_[size_t(i)].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
  for (;;) {
    const int r = recvmmsg(fd, msgs_.data(), unsigned(n), MSG_DONTWAIT, nullptr);
    if (r >= 0) return r;
    if (errno != EINTR) return 0;  // EAGAIN (drained) or a transient error: the caller goes back to waiting
  }
}

SendBatcher::SendBatcher(size_t reserve) : msgs_(std::max<size_t>(reserve, 1)), iov_(msgs_.size()) {}

void SendBatcher::Grow() {
  msgs_.resize(msgs_.size() * 2);
  iov_.resize(msgs_.size());
  // The headers point into iov_, which may have moved.
  for (size_t i = 0; i < n_; i++) msgs_[i].msg_hdr.msg_iov = &iov_[i];
}

void SendBatcher::Flush(int fd, SendWaits policy, SendCounts* c) {
  size_t done = 0;
  int waits = 0;
  while (done < n_) {
    const int r = sendmmsg(fd, &msgs_[done], unsigned(std::min(n_ - done, kMaxPerCall)), MSG_DONTWAIT);
    if (r > 0) {
      done += size_t(r);
      c->sent += uint64_t(r);
      c->calls++;
      continue;
    }
    // sendmmsg fails only when the first datagram of the call does: that one is the culprit.
    const int e = r < 0 ? errno : EIO;
    if (e == EINTR) continue;
    if (e == EAGAIN || e == EWOULDBLOCK) {
      if (waits < policy.max_waits) {
        // The send buffer is full: wait (bounded) for room rather than drop.
        waits++;
        c->waits++;
        pollfd p = {fd, POLLOUT, 0};
        poll(&p, 1, policy.wait_ms);
        continue;
      }
      c->would_block++;
    } else {
      c->errors++;  // e.g. EMSGSIZE, or an error the kernel reported for this destination
    }
    done++;
  }
  n_ = 0;
}

}  // namespace xr
