// Cell wire codec, version 1: the C mirror of src/media/codec/ (docs/PROTOCOL.md §3-§5).
//
//   0               4                              12                    12+P         12+P+16
//   | session u32BE | counter u64BE                 | ciphertext (P bytes) | Poly1305 tag |
//
//   body = | count u8 | count x ( slot u16BE | len u16BE | len bytes ) | zero bytes to P |
//
// Pure: no I/O, no clock, no allocation. Must refuse exactly what the TypeScript codec refuses
// (test/media/dataplane-differential.test.ts and the fuzzers compare them byte for byte).
#pragma once
#include <cstddef>
#include <cstdint>

namespace xr {

constexpr size_t kHeaderBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr size_t kRecordHeaderBytes = 4;
constexpr size_t kBodyPrefixBytes = 1;
constexpr int kMaxRecords = 255;
constexpr uint16_t kControlSlot = 0xffff;
constexpr uint8_t kControlRoster = 0x01;
constexpr uint8_t kControlLeave = 0x02;
constexpr size_t kRosterFixedBytes = 9;
constexpr int64_t kMaxCounter = 9007199254740991LL;  // 2^53 - 1, as in the TS codec
constexpr size_t kMaxBodyBytes = 1400;

constexpr int kBodyOk = 0;
constexpr int kBodyMalformed = 1;

inline size_t WireBytes(size_t body) { return kHeaderBytes + body + kTagBytes; }
inline size_t RosterBytes(size_t n) { return kRosterFixedBytes + 2 * n; }

inline uint32_t ReadU32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
inline void WriteU32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

// Session id of a cell, or -1 if it cannot hold a header.
inline int64_t ReadSession(const uint8_t* cell, size_t len) {
  if (len < kHeaderBytes) return -1;
  return ReadU32(cell);
}

// Counter of a cell (caller checked the length), or -1 if above kMaxCounter.
inline int64_t ReadCounter(const uint8_t* cell) {
  uint32_t hi = ReadU32(cell + 4), lo = ReadU32(cell + 8);
  if (hi > 0x1fffff) return -1;
  return (int64_t(hi) << 32) | lo;
}

inline void WriteHeader(uint8_t* out, uint32_t session, uint64_t counter) {
  WriteU32(out, session);
  WriteU32(out + 4, uint32_t(counter >> 32));
  WriteU32(out + 8, uint32_t(counter));
}

struct RecordRefs {
  int count = 0;
  uint16_t slots[kMaxRecords];
  uint32_t offsets[kMaxRecords];
  uint32_t lengths[kMaxRecords];
};

// Parses a body into `out`; returns kBodyOk or kBodyMalformed. Mirrors parseBody() in cell-body.ts.
int ParseBody(const uint8_t* body, size_t size, RecordRefs* out);

// Packs records into a fixed-size body buffer, in order, while they fit (BodyWriter in cell-body.ts).
class BodyWriter {
 public:
  void Reset(uint8_t* body, size_t size) {
    body_ = body;
    size_ = size;
    off_ = kBodyPrefixBytes;
    count_ = 0;
  }
  bool Fits(size_t len) const {
    return count_ < kMaxRecords && len > 0 && off_ + kRecordHeaderBytes + len <= size_;
  }
  bool Add(uint16_t slot, const uint8_t* payload, size_t len);
  int Finish();

 private:
  uint8_t* body_ = nullptr;
  size_t size_ = 0;
  size_t off_ = 0;
  int count_ = 0;
};

// Writes a roster record (epoch, your slot, n slots); returns its length.
size_t WriteRoster(uint8_t* out, uint32_t epoch, uint16_t your_slot, const uint16_t* slots, size_t n);

}  // namespace xr
