// Standalone fuzzer of the native cell decoder and core, built with AddressSanitizer and
// UndefinedBehaviorSanitizer by native/sanitize.sh (links the system libcrypto with Node's OpenSSL
// headers: the same EVP API the addon takes from Node). Random and mutated bodies go through
// ParseBody with invariant checks and a write/parse round trip; random, mutated and authentic
// cells (sealing mutated bodies) go through CellCore::Receive, with polls in between so queues,
// fan-out, rosters, closes and the AEAD all run. Deterministic per seed.
//
//   fuzz_cells [cases=200000] [seed=1]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../src/cell_aead.h"
#include "../src/cell_codec.h"
#include "../src/cell_core.h"

using namespace xr;

namespace {

uint64_t g_state;
uint32_t Rand() {
  g_state ^= g_state << 13;
  g_state ^= g_state >> 7;
  g_state ^= g_state << 17;
  return uint32_t(g_state >> 11);
}
double Rand01() { return Rand() / 2097152.0 / 1024.0; }

int g_failures = 0;
void Check(bool ok, const char* what) {
  if (!ok && g_failures++ < 10) std::fprintf(stderr, "invariant failed: %s\n", what);
}

std::vector<uint8_t> ValidBody(size_t size) {
  std::vector<uint8_t> body(size);
  BodyWriter w;
  w.Reset(body.data(), size);
  const int n = int(Rand() % 6);
  uint8_t payload[1400];
  for (int i = 0; i < n; i++) {
    const size_t len = 1 + Rand() % (size < 300 ? size : 300);
    for (size_t k = 0; k < len; k++) payload[k] = uint8_t(Rand());
    w.Add(uint16_t(Rand()), payload, len);
  }
  w.Finish();
  return body;
}

void Mutate(std::vector<uint8_t>* b) {
  const int ops = 1 + int(Rand() % 3);
  for (int o = 0; o < ops; o++) {
    if (b->empty()) b->resize(1 + Rand() % 64);
    const size_t at = Rand() % b->size();
    switch (Rand() % 6) {
      case 0: (*b)[at] ^= uint8_t(1u << (Rand() % 8)); break;
      case 1: (*b)[0] = uint8_t(Rand() % 3 == 0 ? 255 : Rand()); break;
      case 2:
        if (b->size() > 2) {
          const size_t p = at < b->size() - 2 ? at : b->size() - 2;
          const uint16_t v = uint16_t(Rand() % 2 ? b->size() - at : Rand());
          (*b)[p] = uint8_t(v >> 8);
          (*b)[p + 1] = uint8_t(v);
        }
        break;
      case 3: b->resize(at); break;
      case 4: b->resize(b->size() + 1 + Rand() % 8, uint8_t(Rand() % 2)); break;
      default: (*b)[at] = uint8_t(Rand()); break;
    }
  }
}

void FuzzBody(const std::vector<uint8_t>& body, RecordRefs* refs) {
  if (ParseBody(body.data(), body.size(), refs) != kBodyOk) return;
  // Invariants of a valid reading, then a round trip through the writer.
  size_t end = kBodyPrefixBytes;
  std::vector<uint8_t> again(body.size());
  BodyWriter w;
  w.Reset(again.data(), again.size());
  for (int i = 0; i < refs->count; i++) {
    Check(refs->lengths[i] > 0 && refs->offsets[i] + refs->lengths[i] <= body.size(), "record inside the body");
    Check(refs->offsets[i] == end + kRecordHeaderBytes, "records are contiguous");
    end = refs->offsets[i] + refs->lengths[i];
    Check(w.Add(refs->slots[i], body.data() + refs->offsets[i], refs->lengths[i]), "a parsed record fits again");
  }
  w.Finish();
  Check(again == body, "write(parse(body)) == body");
}

}  // namespace

int main(int argc, char** argv) {
  const long cases = argc > 1 ? std::atol(argv[1]) : 200000;
  g_state = 0x9e3779b97f4a7c15ULL ^ uint64_t(argc > 2 ? std::atol(argv[2]) : 1);
  RecordRefs refs;

  CoreOptions o;
  o.profiles = {{20, 160, 480}, {20, 160, 1120}, {5, 1200, 1200}};
  o.room_cap = 8;
  o.max_sessions = 64;
  o.queue_records = 16;
  o.queue_max_age_ms = 200;
  o.idle_timeout_ms = 1e12;
  CellCore core(o);
  CellAead aead;
  struct Client {
    JoinResult j;
    int profile;
    uint8_t rx[32];
    uint64_t counter;
  };
  std::vector<Client> clients;
  for (int i = 0; i < 12; i++) {
    Client c;
    uint8_t room[32], tx[32];
    std::memset(room, i / 3, 32);
    for (auto& x : c.rx) x = uint8_t(Rand());
    for (auto& x : tx) x = uint8_t(Rand());
    c.profile = (i / 3) % 3;
    c.counter = 0;
    if (core.Join(room, c.profile, c.rx, tx, 0, Rand(), &c.j) == 0) clients.push_back(c);
  }
  Check(clients.size() == 12, "joins");
  SendBatch batch;
  double now = 1;
  long ok_bodies = 0, accepted = 0;
  for (long n = 0; n < cases; n++) {
    if (n % 2 == 0) {
      const size_t sizes[] = {160, 480, 1120, 1200, 64, 1, 0};
      size_t size = Rand() % 10 == 0 ? Rand() % 1500 : sizes[Rand() % 7];
      std::vector<uint8_t> body = ValidBody(size == 0 ? 1 : size);
      if (Rand() % 4 != 0) Mutate(&body);
      if (Rand() % 8 == 0)
        for (auto& x : body) x = uint8_t(Rand());
      FuzzBody(body, &refs);
      if (ParseBody(body.data(), body.size(), &refs) == kBodyOk) ok_bodies++;
    } else {
      Client& c = clients[Rand() % clients.size()];
      const Profile& p = o.profiles[size_t(c.profile)];
      std::vector<uint8_t> body = ValidBody(p.up_bytes);
      if (Rand() % 2) {
        Mutate(&body);
        body.resize(p.up_bytes);
      }
      std::vector<uint8_t> cell(WireBytes(p.up_bytes));
      const uint64_t counter = Rand() % 4 == 0 ? Rand() % (c.counter + 5) : c.counter++;
      WriteHeader(cell.data(), c.j.session, counter);
      aead.Seal(c.rx, cell.data(), body.data(), body.size());
      if (Rand() % 3 == 0) Mutate(&cell);
      if (Rand() % 10 == 0) {
        cell.resize(Rand() % 1500);
        for (auto& x : cell) x = uint8_t(Rand());
      }
      if (core.Receive(cell.data(), cell.size(), now) >= 0) accepted++;
      if (n % 64 == 1) {
        now += 5 + Rand() % 20;
        batch.Reset();
        core.Poll(now, &batch);
        for (const auto& out : batch.cells) Check(out.len == 508 || out.len == 1148 || out.len == 1228, "one cell size per profile");
      }
    }
  }
  std::printf("fuzz_cells: %ld cases, %ld well-formed bodies, %ld cells accepted, %d invariant failures\n", cases, ok_bodies, accepted, g_failures);
  return g_failures == 0 && accepted > 0 ? 0 : 1;
}
