// The native data plane's I/O shell: one UDP socket and one thread that owns it. The thread
// receives with recvmmsg (batches of up to kBatch datagrams), feeds the sans-IO CellCore under its
// mutex, runs the pacer at the wake time the core asks for (ppoll with a nanosecond timeout), and
// sends each tick's cells with sendmmsg. Cells for sessions whose path is external (the WebSocket
// fallback, served by JS) and session closes are handed to JS in one batch per tick.
//
// Overload (docs/PROTOCOL.md §11): the pacer comes first. A tick takes the core's lock only to
// build its cells (EmitCells), then seals and sends them outside it, kSendChunk at a time, reading
// up to a chunk's worth of input between chunks so the socket never sits undrained for a whole
// tick; input is read (there and between ticks) only while the next tick is not due. Input beyond what the thread can
// serve is shed by the kernel at the socket's receive queue (the cheapest place: the relay never
// copies, opens or queues it), and counted from SO_MEMINFO (kernel_drops). Shedding in user space
// (reading cells and dropping them unopened, RED-style) was measured and lost more: at these cell
// sizes the read is most of an input cell's cost, so it starved the pacer's budget further.
//
// The JS thread never waits on I/O: its calls (join, WebSocket cells, stats) only take the core's
// mutex, which the I/O thread holds for one receive batch or one tick's cell building at a time.
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
  UdpIo(CellCore* core, std::mutex* mu, Deliver deliver);
  ~UdpIo() { Stop(); }

  // Binds host:port (port 0 picks one) and starts the thread. Returns the bound port, or -errno.
  int Start(const std::string& host, int port, int rcvbuf, int sndbuf);
  void Stop();
  // Wakes the thread so it re-reads the pacer's next wake (after a join or a leave).
  void Kick();

 private:
  void Run();
  // Reads receive batches until the socket is drained, or (with `until_due`) the pacer is due, or
  // `max_batches` were read. Returns false when the socket was drained.
  bool Receive(int max_batches, bool until_due);
  void Tick(double now);
  void SendUdp(size_t from, size_t to);
  // Counts the receive queue's overflow drops (SO_MEMINFO) since the last call.
  void CountKernelDrops();

  CellCore* core_;
  std::mutex* mu_;
  Deliver deliver_;
  int fd_ = -1;
  int event_fd_ = -1;
  std::atomic<bool> running_{false};
  std::thread thread_;
  double wake_ = 0;
  SendBatch batch_;
  CellAead aead_;  // the I/O thread's sealer (the core's own one opens cells under the lock)
  // Datagram batches (I/O thread only): receive buffers and headers, and one send chunk's headers.
  std::vector<uint8_t> rx_bufs_;
  std::unique_ptr<RecvBatch> rx_;
  SendBatcher tx_;
  // Overload accounting (I/O thread only).
  uint32_t kernel_drops_seen_ = 0;
  // Counters accumulated outside the lock, folded into the core's stats once per tick.
  double kernel_drops_ = 0, recv_batches_ = 0;
  SendCounts sends_;
};

}  // namespace xr
