// See turn_forward.h. Every branch mirrors src/turn/core/data-path.ts and TurnCore.handleUdp; the
// differential test (test/turn/native-parity.test.ts) compares the bytes both emit.
#include "turn_forward.h"

#include <arpa/inet.h>

namespace xr {

namespace {
constexpr uint32_t kCookie = 0x2112A442;
constexpr uint16_t kTypeSendIndication = 0x0016;
constexpr uint16_t kTypeDataIndication = 0x0017;
constexpr uint16_t kAttrXorPeerAddress = 0x0012;
constexpr uint16_t kAttrData = 0x0013;
constexpr uint16_t kAttrFingerprint = 0x8028;
constexpr uint32_t kFingerprintXor = 0x5354554e;

inline uint16_t Be16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }
inline uint32_t Be32(const uint8_t* p) { return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]; }
inline void Put16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
inline void Put32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

const uint32_t* CrcTable() {
  static uint32_t t[256];
  static bool init = [] {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return true;
  }();
  (void)init;
  return t;
}

bool IsV4Mapped(const uint8_t* b) {
  for (int i = 0; i < 10; i++)
    if (b[i] != 0) return false;
  return b[10] == 0xff && b[11] == 0xff;
}
}  // namespace

uint32_t Crc32(const uint8_t* p, size_t n) {
  const uint32_t* t = CrcTable();
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++) c = t[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

bool IpFromSockaddr(const sockaddr* sa, TurnIp* ip, uint16_t* port) {
  *ip = TurnIp();
  if (sa->sa_family == AF_INET) {
    const sockaddr_in* a = reinterpret_cast<const sockaddr_in*>(sa);
    ip->family = 4;
    std::memcpy(ip->bytes, &a->sin_addr, 4);
    *port = ntohs(a->sin_port);
    return true;
  }
  if (sa->sa_family == AF_INET6) {
    const sockaddr_in6* a = reinterpret_cast<const sockaddr_in6*>(sa);
    ip->family = 6;
    std::memcpy(ip->bytes, &a->sin6_addr, 16);
    *port = ntohs(a->sin6_port);
    return true;
  }
  return false;
}

socklen_t SockaddrFor(const TurnIp& ip, uint16_t port, int sock_family, TurnAddr* out) {
  std::memset(out, 0, sizeof *out);
  if (sock_family == AF_INET) {
    if (ip.family != 4) return 0;
    out->v4.sin_family = AF_INET;
    out->v4.sin_port = htons(port);
    std::memcpy(&out->v4.sin_addr, ip.bytes, 4);
    return sizeof out->v4;
  }
  out->v6.sin6_family = AF_INET6;
  out->v6.sin6_port = htons(port);
  if (ip.family == 6) {
    std::memcpy(&out->v6.sin6_addr, ip.bytes, 16);
  } else {
    // An IPv4 peer from a dual-stack IPv6 socket: its IPv4-mapped form (as Node's dgram does).
    uint8_t* b = reinterpret_cast<uint8_t*>(&out->v6.sin6_addr);
    b[10] = b[11] = 0xff;
    std::memcpy(b + 12, ip.bytes, 4);
  }
  return sizeof out->v6;
}

bool TurnAlloc::HasPermission(const TurnIp& ip, double now) const {
  for (const TurnPerm& p : perms)
    if (p.ip == ip) return p.expires > now;
  return false;
}

TurnForwarder::TurnForwarder(const uint8_t tid_prefix[8]) {
  std::memset(tid_, 0, sizeof tid_);
  std::memcpy(tid_, tid_prefix, 8);
}

TurnForwarder::~TurnForwarder() {
  for (auto& kv : by_id_) delete kv.second;
}

bool TurnForwarder::Add(uint32_t id, const sockaddr* client, socklen_t len, int sock_family, int fd) {
  TurnIp ip;
  uint16_t port;
  if (by_id_.count(id) || len > sizeof(TurnAddr) || !IpFromSockaddr(client, &ip, &port)) return false;
  auto key = std::make_pair(ip, port);
  if (by_client_.count(key)) return false;
  TurnAlloc* a = new TurnAlloc();
  a->id = id;
  a->fd = fd;
  a->sock_family = sock_family;
  std::memcpy(&a->client, client, len);
  a->client_len = len;
  by_id_[id] = a;
  by_client_[key] = a;
  return true;
}

TurnAlloc* TurnForwarder::Find(uint32_t id) {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

TurnAlloc* TurnForwarder::Remove(uint32_t id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return nullptr;
  TurnAlloc* a = it->second;
  by_id_.erase(it);
  TurnIp ip;
  uint16_t port;
  if (IpFromSockaddr(&a->client.sa, &ip, &port)) by_client_.erase(std::make_pair(ip, port));
  return a;
}

// Layout (little-endian, see packForwarding in src/turn/server/native-turn.ts):
//   u32 nPerms, u32 nChans, then nPerms x 32 bytes [u8 family, 7 pad, 16 ip, f64 expires],
//   then nChans x 32 bytes [u8 family, u8 pad, u16 number, u16 port, 2 pad, 16 ip, f64 expires].
bool TurnForwarder::Sync(uint32_t id, const uint8_t* buf, size_t len) {
  TurnAlloc* a = Find(id);
  if (a == nullptr || len < 8) return false;
  uint32_t np, nc;
  std::memcpy(&np, buf, 4);
  std::memcpy(&nc, buf + 4, 4);
  if (np > 4096 || nc > 4096 || len != 8 + 32 * size_t(np + nc)) return false;
  a->perms.resize(np);
  a->chans.resize(nc);
  const uint8_t* p = buf + 8;
  for (uint32_t i = 0; i < np; i++, p += 32) {
    TurnPerm& e = a->perms[i];
    e.ip.family = p[0];
    std::memcpy(e.ip.bytes, p + 8, 16);
    std::memcpy(&e.expires, p + 24, 8);
  }
  for (uint32_t i = 0; i < nc; i++, p += 32) {
    TurnChan& c = a->chans[i];
    c.ip.family = p[0];
    std::memcpy(&c.number, p + 2, 2);
    std::memcpy(&c.port, p + 4, 2);
    std::memcpy(c.ip.bytes, p + 8, 16);
    std::memcpy(&c.expires, p + 24, 8);
  }
  return true;
}

int TurnForwarder::FromClient(const uint8_t* buf, size_t len, const sockaddr* from, double now, PeerSend* out) {
  // RFC 7983 first-byte demultiplexing, as TurnCore.handleUdp (an empty datagram reads as 0xff).
  const uint8_t b0 = len > 0 ? buf[0] : 0xff;
  if ((b0 & 0xc0) != 0x40 && (b0 & 0xc0) != 0) {
    stats_.drops[kTDropNotStun]++;
    return kActDrop;
  }
  TurnIp ip;
  uint16_t port;
  if (!IpFromSockaddr(from, &ip, &port)) return kActUp;
  auto it = by_client_.find(std::make_pair(ip, port));
  TurnAlloc* a = it == by_client_.end() ? nullptr : it->second;
  if ((b0 & 0xc0) == 0) return a == nullptr ? kActUp : SendIndication(a, buf, len, now, out);
  // ChannelData (RFC 8656 section 12.4), as DataPath.fromClientChannelData.
  if (a == nullptr) {
    stats_.drops[kTDropNoAllocation]++;
    return kActDrop;
  }
  const size_t length = len >= 4 ? Be16(buf + 2) : 0;
  if (4 + length > len) {
    stats_.drops[kTDropMalformed]++;
    return kActDrop;
  }
  const uint16_t number = Be16(buf);
  const TurnChan* ch = nullptr;
  for (const TurnChan& c : a->chans)
    if (c.number == number) {
      ch = &c;
      break;
    }
  if (ch == nullptr || ch->expires <= now) {
    stats_.drops[kTDropNoChannel]++;
    return kActDrop;
  }
  if (!a->HasPermission(ch->ip, now)) {
    stats_.drops[kTDropNoPermission]++;
    return kActDrop;
  }
  stats_.to_peer_packets++;
  stats_.to_peer_bytes += double(length);
  *out = PeerSend{a, ch->ip, ch->port, buf + 4, length};
  return kActToPeer;
}

// The fast path takes only a well-formed Send indication (RFC 8656 section 11.2) whose attributes
// are exactly XOR-PEER-ADDRESS and DATA (once each) and an optional, valid, final FINGERPRINT.
// Anything else goes up, so the TS core answers or counts it as the reference does.
int TurnForwarder::SendIndication(TurnAlloc* a, const uint8_t* buf, size_t len, double now, PeerSend* out) {
  if (len < 20 || Be16(buf) != kTypeSendIndication || Be32(buf + 4) != kCookie) return kActUp;
  const size_t body = Be16(buf + 2);
  if ((body & 3) != 0 || 20 + body > len) return kActUp;
  const size_t end = 20 + body;
  size_t pos = 20;
  long peer_at = -1, data_at = -1, fp_at = -1;
  while (pos < end) {
    if (pos + 4 > end || fp_at >= 0) return kActUp;
    const uint16_t t = Be16(buf + pos);
    const size_t l = Be16(buf + pos + 2);
    const size_t next = pos + 4 + ((l + 3) & ~size_t(3));
    if (next > end) return kActUp;
    if (t == kAttrXorPeerAddress && peer_at < 0) peer_at = long(pos);
    else if (t == kAttrData && data_at < 0) data_at = long(pos);
    else if (t == kAttrFingerprint && l == 4) fp_at = long(pos);
    else return kActUp;
    pos = next;
  }
  if (peer_at < 0 || data_at < 0) return kActUp;
  if (fp_at >= 0 && (Crc32(buf, size_t(fp_at)) ^ kFingerprintXor) != Be32(buf + fp_at + 4)) return kActUp;
  const uint8_t* v = buf + peer_at + 4;
  const size_t vl = Be16(buf + peer_at + 2);
  TurnIp ip;
  if (vl == 8 && v[1] == 1) {
    ip.family = 4;
    for (int i = 0; i < 4; i++) ip.bytes[i] = v[4 + i] ^ uint8_t(kCookie >> (24 - 8 * i));
  } else if (vl == 20 && v[1] == 2) {
    ip.family = 6;
    for (int i = 0; i < 16; i++) ip.bytes[i] = v[4 + i] ^ (i < 4 ? uint8_t(kCookie >> (24 - 8 * i)) : buf[8 + i - 4]);
  } else {
    return kActUp;
  }
  const uint16_t port = Be16(v + 2) ^ uint16_t(kCookie >> 16);
  if (port == 0) return kActUp;
  if (!a->HasPermission(ip, now)) {
    stats_.drops[kTDropNoPermission]++;
    return kActDrop;
  }
  const size_t dl = Be16(buf + data_at + 2);
  stats_.to_peer_packets++;
  stats_.to_peer_bytes += double(dl);
  *out = PeerSend{a, ip, port, buf + data_at + 4, dl};
  return kActToPeer;
}

size_t TurnForwarder::FromPeer(TurnAlloc* a, const uint8_t* buf, size_t len, const sockaddr* from, double now, uint8_t* out) {
  if (len > kMaxRelayed) {
    stats_.drops[kTDropMalformed]++;
    return 0;
  }
  TurnIp ip;
  uint16_t port;
  if (!IpFromSockaddr(from, &ip, &port) || !a->HasPermission(ip, now)) {
    stats_.drops[kTDropNoPermission]++;
    return 0;
  }
  const TurnChan* ch = nullptr;
  for (const TurnChan& c : a->chans)
    if (c.port == port && c.ip == ip) {
      ch = &c;
      break;
    }
  size_t n;
  if (ch != nullptr && ch->expires > now) {
    // ChannelData, unpadded over UDP (RFC 8656 section 12.5).
    Put16(out, ch->number);
    Put16(out + 2, uint16_t(len));
    if (len > 0) std::memcpy(out + 4, buf, len);  // an empty Buffer's data may be null
    n = 4 + len;
  } else {
    // A Data indication (section 11.3): XOR-PEER-ADDRESS then DATA, no FINGERPRINT (as the TS path).
    Put32(tid_ + 8, ++tid_counter_);
    Put16(out, kTypeDataIndication);
    Put32(out + 4, kCookie);
    std::memcpy(out + 8, tid_, 12);
    uint8_t* p = out + 20;
    const bool v4 = ip.family == 4 || IsV4Mapped(ip.bytes);
    const uint8_t* src = ip.family == 4 ? ip.bytes : v4 ? ip.bytes + 12 : ip.bytes;
    const int alen = v4 ? 4 : 16;
    Put16(p, kAttrXorPeerAddress);
    Put16(p + 2, uint16_t(4 + alen));
    p[4] = 0;
    p[5] = v4 ? 1 : 2;
    Put16(p + 6, port ^ uint16_t(kCookie >> 16));
    for (int i = 0; i < alen; i++) p[8 + i] = src[i] ^ (i < 4 ? uint8_t(kCookie >> (24 - 8 * i)) : tid_[i - 4]);
    p += 8 + alen;
    Put16(p, kAttrData);
    Put16(p + 2, uint16_t(len));
    if (len > 0) std::memcpy(p + 4, buf, len);
    const size_t padded = (len + 3) & ~size_t(3);
    std::memset(p + 4 + len, 0, padded - len);
    p += 4 + padded;
    n = size_t(p - out);
    Put16(out + 2, uint16_t(n - 20));
  }
  stats_.to_client_packets++;
  stats_.to_client_bytes += double(len);
  return n;
}

}  // namespace xr
