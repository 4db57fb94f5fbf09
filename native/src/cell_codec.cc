// Cell body codec (docs/PROTOCOL.md §4, §5). See cell_codec.h.
#include "cell_codec.h"

#include <cstring>

namespace xr {

int ParseBody(const uint8_t* body, size_t size, RecordRefs* out) {
  out->count = 0;
  if (size < kBodyPrefixBytes) return kBodyMalformed;
  const int count = body[0];
  size_t off = kBodyPrefixBytes;
  for (int i = 0; i < count; i++) {
    if (off + kRecordHeaderBytes > size) return kBodyMalformed;
    const uint16_t slot = uint16_t((body[off] << 8) | body[off + 1]);
    const size_t len = size_t((body[off + 2] << 8) | body[off + 3]);
    off += kRecordHeaderBytes;
    if (len == 0 || off + len > size) return kBodyMalformed;
    out->slots[i] = slot;
    out->offsets[i] = uint32_t(off);
    out->lengths[i] = uint32_t(len);
    off += len;
  }
  for (size_t i = off; i < size; i++)
    if (body[i] != 0) return kBodyMalformed;
  out->count = count;
  return kBodyOk;
}

bool BodyWriter::Add(uint16_t slot, const uint8_t* payload, size_t len) {
  if (!Fits(len)) return false;
  uint8_t* b = body_ + off_;
  b[0] = uint8_t(slot >> 8);
  b[1] = uint8_t(slot);
  b[2] = uint8_t(len >> 8);
  b[3] = uint8_t(len);
  std::memcpy(b + kRecordHeaderBytes, payload, len);
  off_ += kRecordHeaderBytes + len;
  count_++;
  return true;
}

int BodyWriter::Finish() {
  body_[0] = uint8_t(count_);
  std::memset(body_ + off_, 0, size_ - off_);
  return count_;
}

size_t WriteRoster(uint8_t* out, uint32_t epoch, uint16_t your_slot, const uint16_t* slots, size_t n) {
  out[0] = kControlRoster;
  WriteU32(out + 1, epoch);
  out[5] = uint8_t(your_slot >> 8);
  out[6] = uint8_t(your_slot);
  out[7] = uint8_t(n >> 8);
  out[8] = uint8_t(n);
  for (size_t i = 0; i < n; i++) {
    out[kRosterFixedBytes + 2 * i] = uint8_t(slots[i] >> 8);
    out[kRosterFixedBytes + 2 * i + 1] = uint8_t(slots[i]);
  }
  return RosterBytes(n);
}

}  // namespace xr
