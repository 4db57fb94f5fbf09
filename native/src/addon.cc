// N-API boundary of the native data plane (node-addon-api, NAPI_VERSION 8: one build serves Node 20
// and 24). Small and batch-oriented: buffers, typed arrays and integers cross it, never per-cell
// objects. Two modes over one CellCore:
//  - deterministic: JS drives Receive/Poll with injected time (tests, differential, fuzz);
//  - I/O: a native thread owns the UDP socket and the pacer (udp_io.h); JS only joins sessions,
//    feeds WebSocket cells and receives, once per tick, the cells for WebSocket paths and closes.
#include <malloc.h>
#include <napi.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>

#include "env_cleanup.h"
#include "cell_core.h"
#include "udp_io.h"

namespace xr {

/** Batches handed to JS and not yet taken, past which a tick's WebSocket cells are dropped (counted). */
constexpr int kMaxPendingBatches = 32;
void InitTurn(Napi::Env env, Napi::Object exports);  // turn_addon.cc

// The scalars of NativeCore.stats(), in order, by name: CORE_STATS in src/media/dataplane/native-core.ts
// lists the same names (test/native/layouts.test.ts parses this list and compares; the loader checks
// the exported coreStatsLayout). closes[kCloseCount] and drops[kDropCount] follow them.
#define XR_CORE_STATS(X)              \
  X("cellsIn", s.cells_in)             \
  X("cellsOut", s.cells_out)           \
  X("dummyCellsOut", s.dummy_cells_out) \
  X("recordsIn", s.records_in)         \
  X("recordsOut", s.records_out)       \
  X("queueDrops", s.queue_drops)       \
  X("staleDrops", s.stale_drops)       \
  X("missedTicks", s.missed_ticks)     \
  X("joins", s.joins)                  \
  X("roams", s.roams)                  \
  X("unroutable", s.unroutable)        \
  X("sendErrors", s.send_errors)       \
  X("sendWaits", s.send_eagain)        \
  X("recvBatches", s.recv_batches)     \
  X("sendBatches", s.send_batches)     \
  X("kernelDrops", s.kernel_drops)     \
  X("sendWouldBlock", s.send_would_block)
#define XR_STAT_VALUE(name, value) value,
#define XR_STAT_NAME(name, value) name,

/** A stats layout as JS sees it: the names in order (checked against the TypeScript table at load). */
Napi::Array StatsLayout(Napi::Env env, const char* const* names, size_t n) {
  Napi::Array a = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; i++) a.Set(uint32_t(i), Napi::String::New(env, names[i]));
  return a;
}
namespace {

const uint8_t* Bytes(const Napi::Value& v, size_t* len) {
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  *len = a.ByteLength();
  return a.Data();
}

bool Is32(const Napi::Value& v) { return v.IsTypedArray() && v.As<Napi::TypedArray>().ByteLength() == 32; }

class NativeCore : public Napi::ObjectWrap<NativeCore> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "NativeCore",
                       {InstanceMethod("join", &NativeCore::JoinJs), InstanceMethod("receive", &NativeCore::ReceiveJs),
                        InstanceMethod("receiveExternal", &NativeCore::ReceiveExternalJs), InstanceMethod("poll", &NativeCore::PollJs),
                        InstanceMethod("batch", &NativeCore::BatchJs), InstanceMethod("leave", &NativeCore::LeaveJs),
                        InstanceMethod("stats", &NativeCore::StatsJs), InstanceMethod("sessionStats", &NativeCore::SessionStatsJs),
                        InstanceMethod("sessionId", &NativeCore::SessionIdJs), InstanceMethod("counts", &NativeCore::CountsJs),
                        InstanceMethod("forgetPath", &NativeCore::ForgetPathJs), InstanceMethod("startIo", &NativeCore::StartIoJs),
                        InstanceMethod("stopIo", &NativeCore::StopIoJs)});
  }

  explicit NativeCore(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeCore>(info) {
    Napi::Env env = info.Env();
    // (profiles: Float64Array [tick, up, down]*, roomCap, maxSessions, queueRecords, queueMaxAgeMs, idleTimeoutMs)
    if (info.Length() < 6 || !info[0].IsTypedArray()) {
      Napi::TypeError::New(env, "NativeCore(profiles, roomCap, maxSessions, queueRecords, queueMaxAgeMs, idleTimeoutMs)").ThrowAsJavaScriptException();
      return;
    }
    Napi::Float64Array p = info[0].As<Napi::Float64Array>();
    CoreOptions o;
    for (size_t i = 0; i + 2 < p.ElementLength(); i += 3) {
      const double up = p[i + 1], down = p[i + 2];
      if (!(p[i] > 0) || up < 1 || down < 1 || up > kMaxBodyBytes || down > kMaxBodyBytes) {
        Napi::RangeError::New(env, "bad profile").ThrowAsJavaScriptException();
        return;
      }
      o.profiles.push_back(Profile{p[i], uint32_t(up), uint32_t(down)});
    }
    o.room_cap = info[1].As<Napi::Number>().Uint32Value();
    o.max_sessions = info[2].As<Napi::Number>().Uint32Value();
    o.queue_records = info[3].As<Napi::Number>().Uint32Value();
    o.queue_max_age_ms = info[4].As<Napi::Number>().DoubleValue();
    o.idle_timeout_ms = info[5].As<Napi::Number>().DoubleValue();
    if (o.room_cap < 1 || o.room_cap > 0xfff0 || o.queue_records < 1 || o.queue_records > 0xffff || o.max_sessions > 0xffff) {
      Napi::RangeError::New(env, "bad core options").ThrowAsJavaScriptException();
      return;
    }
    core_.reset(new CellCore(std::move(o)));
    cleanup_.Add(env, [this]() { StopIo(); });
  }

  ~NativeCore() override { StopIo(); }

 private:
  EnvCleanup cleanup_;  // removes the hook when the object goes (after the destructor stopped the I/O)
  double Now(const Napi::Value& v) const {
    const double t = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
    return std::isnan(t) ? MonotonicMs() : t;
  }

  // join(roomId, profileIndex, rx, tx, nowMs | NaN, random16, out Float64Array[4]) -> 0 | JoinError
  Napi::Value JoinJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 7 || !Is32(info[0]) || !Is32(info[2]) || !Is32(info[3]) || !info[6].IsTypedArray()) {
      Napi::TypeError::New(env, "join(room32, profile, rx32, tx32, now, random16, out)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    size_t n;
    JoinResult r;
    int code;
    {
      std::lock_guard<std::mutex> lock(mu_);
      code = core_->Join(Bytes(info[0], &n), info[1].As<Napi::Number>().Int32Value(), Bytes(info[2], &n), Bytes(info[3], &n), Now(info[4]),
                         info[5].As<Napi::Number>().Uint32Value(), &r);
    }
    if (code == 0) {
      Napi::Float64Array out = info[6].As<Napi::Float64Array>();
      out[0] = r.session;
      out[1] = r.index;
      out[2] = r.slot;
      out[3] = r.epoch;
      if (io_) io_->Kick();
    }
    return Napi::Number::New(env, code);
  }

  // receive(cell, nowMs) -> index | -drop (deterministic mode)
  Napi::Value ReceiveJs(const Napi::CallbackInfo& info) {
    size_t len;
    const uint8_t* cell = Bytes(info[0], &len);
    std::lock_guard<std::mutex> lock(mu_);
    return Napi::Number::New(info.Env(), core_->Receive(cell, len, Now(info[1])));
  }

  // receiveExternal(cell) -> index | -drop: a cell from a WebSocket, on the native clock; an
  // accepted one moves the session's path to "external" (JS sends its cells).
  Napi::Value ReceiveExternalJs(const Napi::CallbackInfo& info) {
    size_t len;
    const uint8_t* cell = Bytes(info[0], &len);
    std::lock_guard<std::mutex> lock(mu_);
    const int idx = core_->Receive(cell, len, MonotonicMs());
    if (idx >= 0) core_->SetExternalPath(idx);
    return Napi::Number::New(info.Env(), idx);
  }

  // poll(nowMs) -> next wake; the cells and closes wait in batch() (deterministic mode)
  Napi::Value PollJs(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(mu_);
    batch_.Reset();
    return Napi::Number::New(info.Env(), core_->Poll(Now(info[0]), &batch_));
  }

  // batch() -> [cells Buffer, meta Int32Array [nCells, nClosed, (index, off, len)*, (index, reason)*]]
  Napi::Value BatchJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::lock_guard<std::mutex> lock(mu_);
    Napi::Buffer<uint8_t> cells = Napi::Buffer<uint8_t>::Copy(env, batch_.bytes.data(), batch_.bytes.size());
    Napi::Int32Array meta = Napi::Int32Array::New(env, 2 + 3 * batch_.cells.size() + 2 * batch_.closed.size());
    size_t k = 0;
    meta[k++] = int32_t(batch_.cells.size());
    meta[k++] = int32_t(batch_.closed.size());
    for (const auto& c : batch_.cells) {
      meta[k++] = c.index;
      meta[k++] = int32_t(c.off);
      meta[k++] = int32_t(c.len);
    }
    for (const auto& c : batch_.closed) {
      meta[k++] = c.first;
      meta[k++] = c.second;
    }
    Napi::Array out = Napi::Array::New(env, 2);
    out.Set(uint32_t(0), cells);
    out.Set(uint32_t(1), meta);
    return out;
  }

  Napi::Value LeaveJs(const Napi::CallbackInfo& info) {
    SendBatch scratch;
    bool ok;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ok = core_->Leave(info[0].As<Napi::Number>().Int32Value(), &scratch);
    }
    if (ok && io_) io_->Kick();
    return Napi::Boolean::New(info.Env(), ok);
  }

  // stats(out Float64Array[kStatsLen])
  Napi::Value StatsJs(const Napi::CallbackInfo& info) {
    Napi::Float64Array o = info[0].As<Napi::Float64Array>();
    std::lock_guard<std::mutex> lock(mu_);
    const CoreStats& s = core_->stats();
    const double v[] = {XR_CORE_STATS(XR_STAT_VALUE)};
    size_t k = 0;
    for (double x : v)
      if (k < o.ElementLength()) o[k++] = x;
    for (int i = 0; i < kCloseCount && k < o.ElementLength(); i++) o[k++] = s.closes[i];
    for (int i = 0; i < kDropCount && k < o.ElementLength(); i++) o[k++] = s.drops[i];
    return info.Env().Undefined();
  }

  Napi::Value SessionStatsJs(const Napi::CallbackInfo& info) {
    Napi::Float64Array o = info[1].As<Napi::Float64Array>();
    std::lock_guard<std::mutex> lock(mu_);
    const SessionStats* s = core_->SessionStatsAt(info[0].As<Napi::Number>().Int32Value());
    if (s == nullptr || o.ElementLength() < 6) return Napi::Boolean::New(info.Env(), false);
    o[0] = s->cells_in;
    o[1] = s->cells_out;
    o[2] = s->dummy_cells_out;
    o[3] = s->records_in;
    o[4] = s->records_out;
    o[5] = s->queue_drops;
    return Napi::Boolean::New(info.Env(), true);
  }

  Napi::Value SessionIdJs(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(mu_);
    return Napi::Number::New(info.Env(), double(core_->SessionId(info[0].As<Napi::Number>().Int32Value())));
  }

  // counts() -> [sessions, rooms, bytes per session struct]
  Napi::Value CountsJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::lock_guard<std::mutex> lock(mu_);
    Napi::Array a = Napi::Array::New(env, 3);
    a.Set(uint32_t(0), double(core_->session_count()));
    a.Set(uint32_t(1), double(core_->room_count()));
    a.Set(uint32_t(2), double(core_->session_footprint()));
    return a;
  }

  Napi::Value ForgetPathJs(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(mu_);
    core_->ForgetPath(info[0].As<Napi::Number>().Int32Value());
    return info.Env().Undefined();
  }

  // startIo(host, port, rcvbuf, sndbuf, onBatch(cells, meta, closed, droppedCells)) -> bound port
  Napi::Value StartIoJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (io_) {
      Napi::Error::New(env, "I/O already started").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[4].As<Napi::Function>(), "xrelay-dataplane", 0, 1);
    tsfn_.Unref(env);
    Napi::ThreadSafeFunction tsfn = tsfn_;
    // The hand-off to JS is bounded: with kMaxPendingBatches batches not yet taken by a stalled JS
    // thread (~0.6 s of 20 ms ticks; their cells are stale past media.queueMaxAgeMs anyway), a
    // tick's WebSocket cells are dropped here and counted (passed to the next callback), while its
    // closes still go (a few bytes each, at most one per session).
    auto pending = std::make_shared<std::atomic<int>>(0);
    auto dropped = std::make_shared<std::atomic<int64_t>>(0);
    io_.reset(new UdpIo(core_.get(), &mu_, [tsfn, pending, dropped](std::unique_ptr<ExternalBatch> b) mutable {
      if (pending->load() >= kMaxPendingBatches) {
        dropped->fetch_add(int64_t(b->meta.size() / 3));
        if (b->closed.empty()) return;
        b->meta.clear();
        b->bytes.clear();
      }
      pending->fetch_add(1);
      ExternalBatch* raw = b.release();
      const napi_status st = tsfn.NonBlockingCall(raw, [pending, dropped](Napi::Env env, Napi::Function cb, ExternalBatch* x) {
        std::unique_ptr<ExternalBatch> own(x);
        pending->fetch_sub(1);
        if (env == nullptr || cb.IsEmpty()) return;
        Napi::Buffer<uint8_t> cells = Napi::Buffer<uint8_t>::Copy(env, own->bytes.data(), own->bytes.size());
        Napi::Int32Array meta = Napi::Int32Array::New(env, own->meta.size());
        for (size_t i = 0; i < own->meta.size(); i++) meta[i] = own->meta[i];
        Napi::Int32Array closed = Napi::Int32Array::New(env, own->closed.size());
        for (size_t i = 0; i < own->closed.size(); i++) closed[i] = own->closed[i];
        cb.Call({cells, meta, closed, Napi::Number::New(env, double(dropped->exchange(0)))});
      });
      if (st != napi_ok) {
        pending->fetch_sub(1);
        delete raw;
      }
    }));
    const int port = io_->Start(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Number>().Int32Value(),
                                info[2].As<Napi::Number>().Int32Value(), info[3].As<Napi::Number>().Int32Value());
    if (port < 0) {
      io_.reset();
      tsfn_.Release();
      Napi::Error e = Napi::Error::New(env, std::string("cannot bind the media UDP socket: ") + std::strerror(-port));
      e.Set("errno", Napi::Number::New(env, -port));
      e.ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::Number::New(env, port);
  }

  Napi::Value StopIoJs(const Napi::CallbackInfo& info) {
    StopIo();
    return info.Env().Undefined();
  }

  void StopIo() {
    if (!io_) return;
    io_->Stop();
    io_.reset();
    tsfn_.Release();
  }

  std::mutex mu_;
  std::unique_ptr<CellCore> core_;
  std::unique_ptr<UdpIo> io_;
  Napi::ThreadSafeFunction tsfn_;
  SendBatch batch_;
};

// parseBody(body, out Int32Array[1 + 3*255]) -> code; out = [count, (slot, off, len)*]
Napi::Value ParseBodyJs(const Napi::CallbackInfo& info) {
  size_t len;
  const uint8_t* body = Bytes(info[0], &len);
  static thread_local RecordRefs refs;
  const int code = ParseBody(body, len, &refs);
  Napi::Int32Array o = info[1].As<Napi::Int32Array>();
  if (o.ElementLength() >= size_t(1 + 3 * refs.count)) {
    o[0] = refs.count;
    for (int i = 0; i < refs.count; i++) {
      o[1 + 3 * i] = refs.slots[i];
      o[2 + 3 * i] = int32_t(refs.offsets[i]);
      o[3 + 3 * i] = int32_t(refs.lengths[i]);
    }
  }
  return Napi::Number::New(info.Env(), code);
}

// sealCell(key, session, counter, body) -> Buffer (parity with src/media/crypto/cell-aead.ts)
Napi::Value SealCellJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t klen, blen;
  const uint8_t* key = Bytes(info[0], &klen);
  const uint8_t* body = Bytes(info[3], &blen);
  if (klen != 32) {
    Napi::RangeError::New(env, "cell key must be 32 bytes").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, WireBytes(blen));
  WriteHeader(out.Data(), info[1].As<Napi::Number>().Uint32Value(), uint64_t(info[2].As<Napi::Number>().DoubleValue()));
  static thread_local CellAead aead;
  aead.Seal(key, out.Data(), body, blen);
  return out;
}

// openCell(key, cell) -> Buffer body | null
Napi::Value OpenCellJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t klen, clen;
  const uint8_t* key = Bytes(info[0], &klen);
  const uint8_t* cell = Bytes(info[1], &clen);
  if (klen != 32 || clen < kHeaderBytes + kTagBytes) return env.Null();
  Napi::Buffer<uint8_t> body = Napi::Buffer<uint8_t>::New(env, clen - kHeaderBytes - kTagBytes);
  static thread_local CellAead aead;
  if (!aead.Open(key, cell, clen, body.Data())) return env.Null();
  return body;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeCore", NativeCore::Init(env));
  exports.Set("parseBody", Napi::Function::New(env, ParseBodyJs));
  exports.Set("sealCell", Napi::Function::New(env, SealCellJs));
  exports.Set("openCell", Napi::Function::New(env, OpenCellJs));
  exports.Set("monotonicMs", Napi::Function::New(env, [](const Napi::CallbackInfo& i) { return Napi::Number::New(i.Env(), MonotonicMs()); }));
  // Bytes in use in the C heap (glibc mallinfo2): the bench's memory-per-session figure.
  exports.Set("mallocBytes", Napi::Function::New(env, [](const Napi::CallbackInfo& i) {
    const struct mallinfo2 m = mallinfo2();
    return Napi::Number::New(i.Env(), double(m.uordblks + m.hblkhd));
  }));
  static const char* const kCoreStatNames[] = {XR_CORE_STATS(XR_STAT_NAME)};
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("scalars", StatsLayout(env, kCoreStatNames, sizeof kCoreStatNames / sizeof kCoreStatNames[0]));
  layout.Set("closes", Napi::Number::New(env, kCloseCount));
  layout.Set("drops", Napi::Number::New(env, kDropCount));
  exports.Set("coreStatsLayout", layout);
  InitTurn(env, exports);
  exports.Set("abiVersion", Napi::Number::New(env, 4));  // 4: stats layouts exported by name
  return exports;
}

}  // namespace
}  // namespace xr

static Napi::Object InitAll(Napi::Env env, Napi::Object exports) { return xr::Init(env, exports); }
NODE_API_MODULE(xrelay_dataplane, InitAll)
