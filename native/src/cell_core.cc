// See cell_core.h. Every function mirrors its namesake in src/media/core/media-core.ts, in the
// same order of checks and the same iteration order, so outputs compare byte for byte.
#include "cell_core.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

namespace xr {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}

void ReplayWindow::Commit(int64_t c) {
  const int64_t block = c / 32;
  if (c > top) {
    const int64_t top_block = top < 0 ? -1 : top / 32;
    const int64_t clear = std::min<int64_t>(block - top_block, 32);
    for (int64_t i = 1; i <= clear; i++) bits[(block - clear + i + 32) % 32] = 0;
    if (top < 0) std::memset(bits, 0, sizeof bits);
    top = c;
  }
  bits[block % 32] |= 1u << (c % 32);
}

uint16_t Room::FreeSlot() const {
  for (uint32_t slot = 0;; slot++) {
    bool taken = false;
    for (const Session* m : members)
      if (m->slot == slot) taken = true;
    if (!taken) return uint16_t(slot);
  }
}

CellCore::CellCore(CoreOptions opts) : opts_(std::move(opts)) {
  by_profile_.resize(opts_.profiles.size());
  next_tick_.assign(opts_.profiles.size(), kInf);
  roster_buf_.resize(RosterBytes(opts_.room_cap));
  roster_slots_.resize(opts_.room_cap);
  free_blocks_.assign(opts_.profiles.size(), nullptr);
  spare_.assign(opts_.profiles.size(), nullptr);
}

CellCore::~CellCore() {
  for (Session* s : table_) {
    if (s == nullptr) continue;
    while (s->q_size > 0) QueueShift(s);
    FreeSession(s);
  }
  for (auto& kv : rooms_) delete kv.second;
  for (BodyBlock* b : spare_)
    if (b != nullptr) Release(b);
  for (BodyBlock* head : free_blocks_) {
    while (head != nullptr) {
      BodyBlock* b = head;
      head = b->next_free;
      std::free(b);
    }
  }
}

static_assert(alignof(QueuedRecord) <= alignof(Session), "the queue ring follows the session struct");

void CellCore::FreeSession(Session* s) {
  s->~Session();
  std::free(s);
}

BodyBlock* CellCore::TakeBlock(int profile) {
  BodyBlock* b = free_blocks_[size_t(profile)];
  if (b != nullptr) free_blocks_[size_t(profile)] = b->next_free;
  else b = static_cast<BodyBlock*>(std::malloc(offsetof(BodyBlock, data) + opts_.profiles[size_t(profile)].up_bytes));
  b->refs = 1;
  b->profile = uint8_t(profile);
  b->next_free = nullptr;
  return b;
}

void CellCore::Release(BodyBlock* b) {
  if (--b->refs == 0) {
    b->next_free = free_blocks_[b->profile];
    free_blocks_[b->profile] = b;
  }
}

int CellCore::Join(const uint8_t room_id[32], int profile, const uint8_t rx[32], const uint8_t tx[32], double now, uint32_t random16, JoinResult* out) {
  if (profile < 0 || size_t(profile) >= opts_.profiles.size()) return kJoinUnknownProfile;
  std::string key(reinterpret_cast<const char*>(room_id), 32);
  auto it = rooms_.find(key);
  Room* room = it == rooms_.end() ? nullptr : it->second;
  if (room != nullptr && room->profile != profile) return kJoinProfileMismatch;
  if (room != nullptr && room->members.size() >= opts_.room_cap) return kJoinRoomFull;
  if (live_ >= opts_.max_sessions) return kJoinTooManySessions;
  if (room == nullptr) {
    room = new Room();
    room->key = key;
    room->profile = uint8_t(profile);
    rooms_.emplace(key, room);
  }
  int32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = int32_t(table_.size());
    table_.push_back(nullptr);
  }
  uint32_t r = random16 & 0xffff;
  if (r == 0) r = 1;
  // One allocation per session: the struct, then its queue ring.
  void* mem = std::calloc(1, sizeof(Session) + opts_.queue_records * sizeof(QueuedRecord));
  Session* s = new (mem) Session();
  s->id = (r << 16) | uint32_t(index);
  s->index = index;
  s->room = room;
  s->slot = room->FreeSlot();
  s->profile = uint8_t(profile);
  std::memcpy(s->rx, rx, 32);
  std::memcpy(s->tx, tx, 32);
  s->last_rx_ms = now;
  std::memset(&s->addr, 0, sizeof s->addr);
  s->queue = reinterpret_cast<QueuedRecord*>(s + 1);
  table_[index] = s;
  room->members.push_back(s);
  room->epoch++;
  for (Session* m : room->members) m->roster_dirty = true;
  auto& list = by_profile_[profile];
  s->list_pos = int32_t(list.size());
  list.push_back(s);
  const double tick = opts_.profiles[profile].tick_ms;
  if (list.size() == 1) next_tick_[profile] = std::ceil(now / tick) * tick;
  live_++;
  stats_.joins++;
  *out = JoinResult{s->id, index, s->slot, room->epoch};
  return 0;
}

const SessionStats* CellCore::SessionStatsAt(int index) const {
  if (index < 0 || size_t(index) >= table_.size() || table_[index] == nullptr) return nullptr;
  return &table_[index]->stats;
}

int64_t CellCore::SessionId(int index) const {
  if (index < 0 || size_t(index) >= table_.size() || table_[index] == nullptr) return -1;
  return table_[index]->id;
}

int CellCore::Receive(const uint8_t* cell, size_t len, double now) {
  const int code = Accept(cell, len, now);
  if (code < 0) stats_.drops[-code]++;
  return code;
}

void CellCore::QueueShift(Session* s) {
  QueuedRecord& q = s->queue[s->q_head];
  Release(q.block);
  q.block = nullptr;
  s->q_head = uint16_t((s->q_head + 1) % opts_.queue_records);
  s->q_size--;
}

int CellCore::Accept(const uint8_t* cell, size_t len, double now) {
  const int64_t id = ReadSession(cell, len);
  if (id < 0) return -kDropGarbage;
  const uint32_t index = uint32_t(id) & 0xffff;
  Session* s = index < table_.size() ? table_[index] : nullptr;
  if (s == nullptr || s->id != uint32_t(id)) return -kDropUnknownSession;
  const Profile& prof = opts_.profiles[s->profile];
  const size_t expected = WireBytes(prof.up_bytes);
  if (len < expected) return -kDropTruncated;
  if (len > expected) return -kDropOversized;
  const int64_t counter = ReadCounter(cell);
  if (counter < 0 || !s->window.Check(counter)) return -kDropReplay;
  // Decrypt into a spare block; it becomes shared only if it carries media records.
  BodyBlock*& spare = spare_[s->profile];
  if (spare == nullptr) spare = TakeBlock(s->profile);
  uint8_t* body = spare->data;
  if (!aead_.Open(s->rx, cell, len, body)) return -kDropForged;
  RecordRefs& refs = refs_;
  if (ParseBody(body, prof.up_bytes, &refs) != kBodyOk) return -kDropMalformed;
  s->window.Commit(counter);
  s->last_rx_ms = now;
  s->confirmed = true;
  s->stats.cells_in++;
  stats_.cells_in++;
  const auto& members = s->room->members;
  BodyBlock* block = spare;
  bool shared = false;
  for (int r = 0; r < refs.count; r++) {
    const uint32_t off = refs.offsets[r];
    const uint32_t rlen = refs.lengths[r];
    if (refs.slots[r] == kControlSlot) {
      if (body[off] == kControlLeave && std::find(pending_close_.begin(), pending_close_.end(), s->index) == pending_close_.end())
        pending_close_.push_back(s->index);
      continue;
    }
    s->stats.records_in++;
    stats_.records_in++;
    for (Session* to : members) {
      if (to == s) continue;
      int dropped = 0;
      if (to->q_size == opts_.queue_records) {
        QueueShift(to);
        dropped = 1;
      }
      QueuedRecord& q = to->queue[(to->q_head + to->q_size) % opts_.queue_records];
      q.block = block;
      block->refs++;
      shared = true;
      q.time = now;
      q.off = uint16_t(off);
      q.len = uint16_t(rlen);
      q.slot = s->slot;
      to->q_size++;
      if (dropped) {
        to->stats.queue_drops++;
        stats_.queue_drops++;
      }
    }
  }
  if (shared) {
    Release(block);  // drop the decryptor's own reference; receivers hold theirs
    spare = nullptr;
  }
  return s->index;
}

bool CellCore::Leave(int index, SendBatch* batch) {
  if (index < 0 || size_t(index) >= table_.size() || table_[index] == nullptr) return false;
  CloseSession(table_[index], kCloseLeave, batch);
  return true;
}

double CellCore::Poll(double now, SendBatch* batch) {
  const size_t first = batch->cells.size();
  const double wake = EmitCells(now, batch);
  SealCells(&aead_, batch, first, batch->cells.size());
  return wake;
}

void SealCells(CellAead* aead, SendBatch* batch, size_t from, size_t to) {
  for (size_t i = from; i < to; i++) {
    SendBatch::Cell& c = batch->cells[i];
    uint8_t* out = batch->bytes.data() + c.off;
    aead->Seal(c.key, out, out + kHeaderBytes, c.len - kHeaderBytes - kTagBytes);
    std::memset(c.key, 0, sizeof c.key);
  }
}

double CellCore::EmitCells(double now, SendBatch* batch) {
  while (!pending_close_.empty()) {
    const int32_t i = pending_close_.back();
    pending_close_.pop_back();
    if (table_[i] != nullptr) CloseSession(table_[i], kCloseLeave, batch);
  }
  double wake = kInf;
  for (size_t p = 0; p < by_profile_.size(); p++) {
    auto& list = by_profile_[p];
    if (list.empty()) {
      next_tick_[p] = kInf;
      continue;
    }
    const double tick = opts_.profiles[p].tick_ms;
    double next = next_tick_[p];
    if (now >= next) {
      const double behind = std::floor((now - next) / tick);
      stats_.missed_ticks += behind;
      next += (behind + 1) * tick;
      next_tick_[p] = next;
      for (int64_t i = int64_t(list.size()) - 1; i >= 0; i--) {
        Session* s = list[size_t(i)];
        if (now - s->last_rx_ms > opts_.idle_timeout_ms) CloseSession(s, kCloseIdle, batch);
        else if (s->confirmed) Emit(s, int(p), now, batch);
      }
    }
    if (!list.empty() && next < wake) wake = next;
  }
  return wake;
}

void CellCore::Emit(Session* s, int p, double now, SendBatch* batch) {
  // The body is built in place in the batch, behind its header; SealCells encrypts it there.
  const size_t body_bytes = opts_.profiles[size_t(p)].down_bytes;
  const size_t wire = WireBytes(body_bytes);
  const size_t off = batch->bytes.size();
  batch->bytes.resize(off + wire);
  uint8_t* out = batch->bytes.data() + off;
  BodyWriter& w = writer_;
  w.Reset(out + kHeaderBytes, body_bytes);
  if (s->roster_dirty) {
    Room* room = s->room;
    for (size_t i = 0; i < room->members.size(); i++) roster_slots_[i] = room->members[i]->slot;
    const size_t n = WriteRoster(roster_buf_.data(), room->epoch, s->slot, roster_slots_.data(), room->members.size());
    if (w.Add(kControlSlot, roster_buf_.data(), n)) s->roster_dirty = false;
  }
  while (s->q_size > 0) {
    const QueuedRecord& q = s->queue[s->q_head];
    if (now - q.time > opts_.queue_max_age_ms) {
      QueueShift(s);
      s->stats.queue_drops++;
      stats_.stale_drops++;
      continue;
    }
    if (!w.Add(q.slot, q.block->data + q.off, q.len)) break;
    QueueShift(s);
    s->stats.records_out++;
    stats_.records_out++;
  }
  const int records = w.Finish();
  WriteHeader(out, s->id, s->tx_counter++);
  batch->cells.emplace_back();
  SendBatch::Cell& c = batch->cells.back();
  c.index = s->index;
  c.off = uint32_t(off);
  c.len = uint32_t(wire);
  c.path = s->path;
  c.addr = s->addr;
  std::memcpy(c.key, s->tx, sizeof c.key);
  s->stats.cells_out++;
  stats_.cells_out++;
  if (records == 0) {
    s->stats.dummy_cells_out++;
    stats_.dummy_cells_out++;
  }
}

void CellCore::CloseSession(Session* s, int reason, SendBatch* batch) {
  if (table_[s->index] != s) return;
  table_[s->index] = nullptr;
  free_.push_back(s->index);
  auto& list = by_profile_[s->profile];
  Session* last = list.back();
  list.pop_back();
  if (last != s) {
    list[size_t(s->list_pos)] = last;
    last->list_pos = s->list_pos;
  }
  Room* room = s->room;
  room->members.erase(std::find(room->members.begin(), room->members.end(), s));
  if (room->members.empty()) {
    rooms_.erase(room->key);
    delete room;
  } else {
    room->epoch++;
    for (Session* m : room->members) m->roster_dirty = true;
  }
  while (s->q_size > 0) QueueShift(s);
  live_--;
  stats_.closes[reason]++;
  batch->closed.emplace_back(s->index, reason);
  std::memset(s->rx, 0, 64);
  FreeSession(s);
}

void CellCore::SetUdpPath(int index, const sockaddr* sa, socklen_t len) {
  Session* s = table_[size_t(index)];
  if (s->path == kPathUdp && std::memcmp(&s->addr, sa, len) == 0) return;
  if (s->path != kPathNone) stats_.roams++;
  s->path = kPathUdp;
  std::memset(&s->addr, 0, sizeof s->addr);
  std::memcpy(&s->addr, sa, std::min<size_t>(len, sizeof s->addr));
}

void CellCore::SetExternalPath(int index) {
  Session* s = table_[size_t(index)];
  if (s->path == kPathExternal) return;  // the JS side tells WebSocket roams apart
  if (s->path != kPathNone) stats_.roams++;
  s->path = kPathExternal;
}

void CellCore::ForgetPath(int index) {
  if (index < 0 || size_t(index) >= table_.size() || table_[index] == nullptr) return;
  table_[index]->path = kPathNone;
}

}  // namespace xr
