// The TURN data path in C++ (RFC 8656 sections 11.2-11.3 Send/Data indications, 12.4-12.5 ChannelData):
// the exact mirror of src/turn/core/data-path.ts for UDP clients. Sans-IO: bytes, addresses and
// `now` (ms on the TS core's clock, Date.now()) in, a peer send or an encoded client message out.
// The TypeScript core keeps all control (auth, Allocate/Refresh/CreatePermission/ChannelBind, quotas,
// lifetimes, policy) and pushes each allocation's forwarding state here: client 5-tuple, relay
// socket, permissions and channels with their expiry times. Expiry is checked here against `now`, with
// the same comparisons as the TS path (`expires > now`), so it stays exact without a JS timer.
//
// A client datagram that is not relay traffic (requests, anything unusual) is handed up: the TS core
// is the reference for every case the fast path does not take.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <unordered_map>
#include <vector>

namespace xr {

// An IP as the TS core keys it: family 4 (4 bytes) or 6 (16 bytes); no IPv4-mapped folding, so
// "::ffff:a.b.c.d" and "a.b.c.d" stay distinct exactly as their strings do in TypeScript.
struct TurnIp {
  uint8_t family = 0;
  uint8_t bytes[16] = {};
  bool operator==(const TurnIp& o) const { return family == o.family && std::memcmp(bytes, o.bytes, 16) == 0; }
};

union TurnAddr {
  sockaddr sa;
  sockaddr_in v4;
  sockaddr_in6 v6;
};

// Reads family/bytes/port of a socket address; false for other families.
bool IpFromSockaddr(const sockaddr* sa, TurnIp* ip, uint16_t* port);
// Builds a socket address for `ip:port` in the socket family `sock_family` (AF_INET/AF_INET6); 0 if
// the address cannot be expressed in it.
socklen_t SockaddrFor(const TurnIp& ip, uint16_t port, int sock_family, TurnAddr* out);

struct TurnPerm {
  TurnIp ip;
  double expires;
};

struct TurnChan {
  uint16_t number;
  uint16_t port;
  TurnIp ip;
  double expires;
};

struct TurnAlloc {
  uint32_t id = 0;
  int fd = -1;  // the relay socket (owned by the I/O shell); -1 in deterministic mode
  int sock_family = AF_INET;
  TurnAddr client;
  socklen_t client_len = 0;
  std::vector<TurnPerm> perms;  // at most maxPermissionsPerAllocation: a linear scan beats a hash
  std::vector<TurnChan> chans;
  bool HasPermission(const TurnIp& ip, double now) const;
};

// Drop reasons, named as TurnStats.dropped in TypeScript.
enum TurnDrop { kTDropMalformed = 0, kTDropNotStun, kTDropNoAllocation, kTDropNoPermission, kTDropNoChannel, kTDropCount };

struct TurnFwdStats {
  double to_peer_packets = 0, to_peer_bytes = 0, to_client_packets = 0, to_client_bytes = 0;
  double drops[kTDropCount] = {};
  // I/O shell counters. send_errors: datagrams the I/O thread dropped at send, for any reason (not
  // the JS thread's sendToClient/sendToPeer, whose caller counts failures); send_would_block: those
  // of them dropped because the send buffer stayed full; send_eagain: waits for send-buffer room;
  // truncated: datagrams longer than the receive buffer, dropped unread.
  double handed_up = 0, up_dropped = 0, send_errors = 0, send_eagain = 0, recv_batches = 0, send_batches = 0, truncated = 0;
  double send_would_block = 0;
};

enum ClientAction { kActDrop = 0, kActToPeer = 1, kActUp = 2 };

// A datagram to send from an allocation's relay socket; `data` points into the input.
struct PeerSend {
  TurnAlloc* alloc;
  TurnIp ip;
  uint16_t port;
  const uint8_t* data;
  size_t len;
};

// Largest peer datagram relayed (as MAX_RELAYED in data-path.ts): its Data indication must fit.
constexpr size_t kMaxRelayed = 0xffff - 64;
// Largest message FromPeer writes: header, XOR-PEER-ADDRESS (v6), DATA header, data, padding.
constexpr size_t kMaxClientMessage = 20 + 24 + 4 + kMaxRelayed + 3;

struct ClientKeyHash {
  size_t operator()(const std::pair<TurnIp, uint16_t>& k) const {
    uint64_t h = 1469598103934665603ull ^ k.second ^ (uint64_t(k.first.family) << 16);
    for (uint8_t b : k.first.bytes) h = (h ^ b) * 1099511628211ull;
    return size_t(h);
  }
};

class TurnForwarder {
 public:
  explicit TurnForwarder(const uint8_t tid_prefix[8]);
  ~TurnForwarder();
  TurnForwarder(const TurnForwarder&) = delete;
  TurnForwarder& operator=(const TurnForwarder&) = delete;

  // Registers an allocation for the UDP client `client`; false when the id or the client is taken.
  bool Add(uint32_t id, const sockaddr* client, socklen_t len, int sock_family, int fd);
  TurnAlloc* Find(uint32_t id);
  // Unregisters and returns the allocation (the caller closes its fd and deletes it), or nullptr.
  TurnAlloc* Remove(uint32_t id);
  // Replaces the allocation's permissions and channels from the packed layout of
  // src/turn/server/native-turn.ts (packForwarding). False when malformed.
  bool Sync(uint32_t id, const uint8_t* buf, size_t len);

  // A datagram from a client on the listener. kActToPeer fills `out`; kActUp: hand it to TS.
  int FromClient(const uint8_t* buf, size_t len, const sockaddr* from, double now, PeerSend* out);
  // A datagram from `from` on `a`'s relay socket: writes the ChannelData or Data indication for the
  // client into `out` (at least kMaxClientMessage bytes) and returns its length, or 0 (dropped).
  size_t FromPeer(TurnAlloc* a, const uint8_t* buf, size_t len, const sockaddr* from, double now, uint8_t* out);

  TurnFwdStats& stats() { return stats_; }
  size_t count() const { return by_id_.size(); }
  template <typename F>
  void ForEach(F f) {
    for (auto& kv : by_id_) f(kv.second);
  }

 private:
  int SendIndication(TurnAlloc* a, const uint8_t* buf, size_t len, double now, PeerSend* out);

  std::unordered_map<uint32_t, TurnAlloc*> by_id_;
  std::unordered_map<std::pair<TurnIp, uint16_t>, TurnAlloc*, ClientKeyHash> by_client_;
  uint8_t tid_[12];
  uint32_t tid_counter_ = 0;
  TurnFwdStats stats_;
};

uint32_t Crc32(const uint8_t* p, size_t n);

}  // namespace xr
