// The native data plane's I/O shell: one UDP socket and one thread that owns it. The thread
// receives with recvmmsg (batches of up to kBatch datagrams), feeds the sans-IO CellCore under its
// mutex, runs the pacer at the wake time the core asks for (ppoll with a nanosecond timeout), and
// sends each tick's cells with sendmmsg. Cells for sessions whose path is external (the WebSocket
// fallback, served by JS) and session closes are handed to JS in one batch per tick.
//
// The JS thread never waits on I/O: its calls (join, WebSocket cells, stats) only take the core's
// mutex, which the I/O thread holds for one receive batch or one pacer tick at a time.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cell_core.h"

namespace xr {

// Cells and closes the JS side must handle (external paths), moved out of the I/O thread.
struct ExternalBatch {
  std::vector<uint8_t> bytes;
  std::vector<int32_t> meta;  // (index, off, len) per cell
  std::vector<int32_t> closed;  // (index, reason) per close
};

double MonotonicMs();

class UdpIo {
 public:
  using Deliver = std::function<void(std::unique_ptr<ExternalBatch>)>;
  UdpIo(CellCore* core, std::mutex* mu, Deliver deliver) : core_(core), mu_(mu), deliver_(std::move(deliver)) {}
  ~UdpIo() { Stop(); }

  // Binds host:port (port 0 picks one) and starts the thread. Returns the bound port, or -errno.
  int Start(const std::string& host, int port, int rcvbuf, int sndbuf);
  void Stop();
  // Wakes the thread so it re-reads the pacer's next wake (after a join or a leave).
  void Kick();

 private:
  void Run();
  void ReceiveAll();
  void Tick(double now);
  void SendUdp();

  CellCore* core_;
  std::mutex* mu_;
  Deliver deliver_;
  int fd_ = -1;
  int event_fd_ = -1;
  std::atomic<bool> running_{false};
  std::thread thread_;
  double wake_ = 0;
  SendBatch batch_;
};

}  // namespace xr
