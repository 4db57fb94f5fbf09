// The media plane's sans-IO core in C++: the exact mirror of src/media/core/media-core.ts
// (rooms, sessions, anti-replay, fan-out queues, pacer, padding), with the same inputs and
// outputs: Receive(cell, now) -> index | -drop, Poll(now, batch) -> next wake. Time is a number
// passed in; nothing here reads a clock or touches a socket. The differential test feeds this core
// and the TypeScript one the same random sequences and requires byte-identical output.
//
// Memory: a session is one fixed struct (keys, replay window, queue ring, path, counters); the
// payloads its queue references live in refcounted body blocks shared by all receivers.
#pragma once
#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "cell_aead.h"
#include "cell_codec.h"

namespace xr {

enum Drop { kDropGarbage = 1, kDropUnknownSession, kDropTruncated, kDropOversized, kDropReplay, kDropForged, kDropMalformed, kDropCount };
enum Close { kCloseLeave = 1, kCloseIdle, kCloseCount };
// Join refusals: the same names and codes as JOIN_ERRORS in src/media/core/media-core.ts (kJoinRoomFull is
// room_full; test/native/layouts.test.ts parses this line and compares).
enum JoinError { kJoinUnknownProfile = -1, kJoinProfileMismatch = -2, kJoinRoomFull = -3, kJoinTooManySessions = -4 };
enum PathKind : uint8_t { kPathNone = 0, kPathUdp = 1, kPathExternal = 2 };

struct Profile {
  double tick_ms;
  uint32_t up_bytes;
  uint32_t down_bytes;
};

struct CoreOptions {
  std::vector<Profile> profiles;
  uint32_t room_cap;
  uint32_t max_sessions;
  uint32_t queue_records;
  double queue_max_age_ms;
  double idle_timeout_ms;
};

// RFC 6479 anti-replay window, as in replay-window.ts (32 blocks of 32 bits).
struct ReplayWindow {
  int64_t top = -1;
  uint32_t bits[32] = {};
  bool Check(int64_t c) const {
    if (c > top) return true;
    if (top - c >= 992) return false;
    return (bits[(c / 32) % 32] & (1u << (c % 32))) == 0;
  }
  void Commit(int64_t c);
};

// A decrypted uplink body whose records wait in receivers' queues: allocated at the profile's
// upBytes (not the largest body), pooled per profile, freed to the pool when the last receiver
// has packed (or dropped) its record.
struct BodyBlock {
  uint32_t refs;
  uint8_t profile;
  BodyBlock* next_free;
  uint8_t data[1];  // really the profile's up_bytes
};

struct QueuedRecord {
  BodyBlock* block;
  double time;
  uint16_t off;
  uint16_t len;
  uint16_t slot;
};

struct Room;

struct SessionStats {
  double cells_in = 0, cells_out = 0, dummy_cells_out = 0, records_in = 0, records_out = 0, queue_drops = 0;
};

union PathAddr {
  sockaddr sa;
  sockaddr_in v4;
  sockaddr_in6 v6;
};

struct Session {
  uint32_t id;
  int32_t index;
  Room* room;
  uint16_t slot;
  uint8_t profile;
  bool confirmed = false;
  bool roster_dirty = true;
  PathKind path = kPathNone;
  uint8_t rx[32];
  uint8_t tx[32];
  ReplayWindow window;
  uint64_t tx_counter = 0;
  double last_rx_ms;
  int32_t list_pos = -1;
  uint16_t q_head = 0, q_size = 0;
  SessionStats stats;
  PathAddr addr;
  QueuedRecord* queue;  // queue_records entries, right after the struct in the same allocation
};

struct Room {
  std::string key;
  uint8_t profile;
  uint32_t epoch = 0;
  std::vector<Session*> members;
  uint16_t FreeSlot() const;
};

struct CoreStats {
  double cells_in = 0, cells_out = 0, dummy_cells_out = 0, records_in = 0, records_out = 0;
  double queue_drops = 0, stale_drops = 0, missed_ticks = 0, joins = 0;
  double closes[kCloseCount] = {};
  double drops[kDropCount] = {};
  // I/O shell counters (native data plane only). send_errors: cells dropped at send, for any
  // reason; send_would_block: those of them dropped because the send buffer stayed full;
  // send_eagain: waits for send-buffer room.
  double roams = 0, unroutable = 0, send_errors = 0, send_eagain = 0, recv_batches = 0, send_batches = 0;
  // Overload: cells the kernel dropped at the socket's full receive queue (shed unread).
  double kernel_drops = 0;
  double send_would_block = 0;
};

// What one Poll asks the caller to send: cells (concatenated) to session indexes, and closes.
// EmitCells leaves each cell as header + plaintext body with the session's tx key beside it;
// SealCells encrypts them in place (and wipes the key copies), so the I/O shell can seal outside
// the core's lock, a chunk at a time, interleaved with receiving.
struct SendBatch {
  struct Cell {
    int32_t index;
    uint32_t off;
    uint32_t len;
    PathKind path;
    PathAddr addr;
    uint8_t key[32];
  };
  std::vector<uint8_t> bytes;
  std::vector<Cell> cells;
  std::vector<std::pair<int32_t, int32_t>> closed;
  void Reset() {
    bytes.clear();
    cells.clear();
    closed.clear();
  }
};

struct JoinResult {
  uint32_t session;
  int32_t index;
  uint16_t slot;
  uint32_t epoch;
};

// Seals cells [from, to) of a batch emitted by EmitCells, in place. Touches no core state.
void SealCells(CellAead* aead, SendBatch* batch, size_t from, size_t to);

class CellCore {
 public:
  explicit CellCore(CoreOptions opts);
  ~CellCore();
  CellCore(const CellCore&) = delete;
  CellCore& operator=(const CellCore&) = delete;

  // Admits a session; returns 0 and fills `out`, or a JoinError. `random16` is the random upper half
  // of the session id (drawn by the caller: a CSPRNG on the relay, a fixed sequence in tests).
  int Join(const uint8_t room_id[32], int profile, const uint8_t rx[32], const uint8_t tx[32], double now, uint32_t random16, JoinResult* out);
  // Handles one received cell: the accepting session's index (>= 0) or minus a Drop code.
  int Receive(const uint8_t* cell, size_t len, double now);
  // Emits every cell due at `now` into `batch`, sealed; returns the next wake (infinity when idle).
  double Poll(double now, SendBatch* batch);
  // The same, but the cells are left unsealed: the caller must SealCells() every one of them.
  double EmitCells(double now, SendBatch* batch);
  bool Leave(int index, SendBatch* batch);

  // Paths (the I/O shell's routing table, kept in the session struct).
  void SetUdpPath(int index, const sockaddr* sa, socklen_t len);
  void SetExternalPath(int index);
  void ForgetPath(int index);

  const CoreStats& stats() const { return stats_; }
  CoreStats& mutable_stats() { return stats_; }
  const SessionStats* SessionStatsAt(int index) const;
  int64_t SessionId(int index) const;
  uint32_t session_count() const { return live_; }
  uint32_t room_count() const { return uint32_t(rooms_.size()); }
  // Bytes held per live session (struct + queue ring), for memory reports.
  size_t session_footprint() const { return sizeof(Session) + opts_.queue_records * sizeof(QueuedRecord); }

 private:
  int Accept(const uint8_t* cell, size_t len, double now);
  void Emit(Session* s, int p, double now, SendBatch* batch);
  void CloseSession(Session* s, int reason, SendBatch* batch);
  void QueueShift(Session* s);
  static void FreeSession(Session* s);
  BodyBlock* TakeBlock(int profile);
  void Release(BodyBlock* b);

  CoreOptions opts_;
  CoreStats stats_;
  std::vector<Session*> table_;
  std::vector<int32_t> free_;
  std::unordered_map<std::string, Room*> rooms_;
  std::vector<std::vector<Session*>> by_profile_;
  std::vector<double> next_tick_;
  std::vector<uint8_t> roster_buf_;
  std::vector<uint16_t> roster_slots_;
  std::vector<int32_t> pending_close_;
  std::vector<BodyBlock*> free_blocks_;  // per profile
  std::vector<BodyBlock*> spare_;        // per profile: the block the next cell decrypts into
  BodyWriter writer_;
  RecordRefs refs_;
  CellAead aead_;
  uint32_t live_ = 0;
};

}  // namespace xr
