// The TURN data plane's I/O shell: one thread owns the TURN UDP listener and every UDP client's
// relay socket (epoll, level-triggered). Listener datagrams are read with recvmmsg; ChannelData and
// plain Send indications go straight out of the allocation's relay socket (consecutive sends on one
// socket batched with sendmmsg); peer datagrams on relay sockets become ChannelData or Data
// indications, sent to clients from the listener in sendmmsg batches. Everything else on the
// listener (requests, unusual messages) is handed to JS in one batch per wake-up for the TS core.
//
// The JS thread never waits on I/O: its calls (open/close a relay, push forwarding state, send a
// response) take the forwarder's mutex, which this thread holds for one receive batch at a time,
// and send with MSG_DONTWAIT.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "batch_io.h"
#include "turn_forward.h"

namespace xr {

// Datagrams for the TS core: bytes, and per datagram (off, len, family, port) plus 16 address bytes.
struct TurnUpBatch {
  std::vector<uint8_t> bytes;
  std::vector<int32_t> meta;
  std::vector<uint8_t> addrs;
};

// The TS core's clock: Date.now() (whole ms of CLOCK_REALTIME), so expiry comparisons match.
double RealtimeMs();
// Parses an IP literal and port into a socket address; 0 when not an IP literal.
socklen_t ParseSockaddr(const std::string& ip, int port, TurnAddr* out);

class TurnIo {
 public:
  using Deliver = std::function<bool(std::unique_ptr<TurnUpBatch>)>;
  TurnIo(TurnForwarder* fwd, std::mutex* mu, Deliver deliver);
  ~TurnIo() { Stop(); }

  // Binds the listener on host:port (0 picks one) and starts the thread: the bound port or -errno.
  int Start(const std::string& host, int port, int bufbytes);
  void Stop();
  // JS thread. A relay socket on bind_ip:port for allocation `id` of client_ip:client_port:
  // the bound port, or -errno (the caller tries another port in its range).
  int OpenRelay(uint32_t id, const std::string& bind_ip, int port, const std::string& client_ip, int client_port);
  bool CloseRelay(uint32_t id);
  // JS thread: a response to a UDP client (from the listener), or a datagram to a peer from an
  // allocation's relay socket (a Send indication the TS core handled). 0 or -errno.
  int SendToClient(const std::string& ip, int port, const uint8_t* data, size_t len);
  int SendToPeer(uint32_t id, const std::string& ip, int port, const uint8_t* data, size_t len);

 private:
  void Run();
  void ReceiveListener();
  void ReceiveRelay(uint32_t id);
  void FlushPeers();
  void FlushClients(bool locked);
  void Count(double TurnFwdStats::*field, double by);
  // Adds one flush's counts to the stats (under the mutex).
  void CountSends(const SendCounts& c);
  // Whether a received datagram can be forwarded: one longer than its buffer is counted and dropped.
  bool Whole(const RecvBatch& rx, int i);

  TurnForwarder* fwd_;
  std::mutex* mu_;
  Deliver deliver_;
  int fd_ = -1;
  int family_ = AF_INET;
  int epoll_fd_ = -1;
  int event_fd_ = -1;
  int bufbytes_ = 0;
  std::atomic<bool> running_{false};
  std::thread thread_;

  // Buffers owned by the I/O thread (allocated once at start).
  std::vector<uint8_t> in_;        // receive buffers, kBatch x kMaxDatagram
  std::unique_ptr<RecvBatch> listener_rx_, relay_rx_;  // headers over in_ (one in use at a time)
  SendBatcher peer_tx_, client_tx_;
  std::vector<uint8_t> arena_;     // encoded client messages awaiting sendmmsg
  size_t arena_used_ = 0;
  struct ClientSend {
    TurnAddr to;
    socklen_t to_len;
    uint32_t off;
    uint32_t len;
  };
  std::vector<ClientSend> client_sends_;
  struct PeerOut {
    int fd;
    TurnAddr to;
    socklen_t to_len;
    const uint8_t* data;
    size_t len;
  };
  std::vector<PeerOut> peer_sends_;
  std::unique_ptr<TurnUpBatch> up_;
};

}  // namespace xr
