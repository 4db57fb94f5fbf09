// N-API boundary of the TURN data plane (src/turn/server/native-turn.ts is its TypeScript side).
// Buffers, typed arrays, numbers and IP strings cross it (IP strings on control-plane calls only).
// Two modes over one TurnForwarder, as for the media core:
//  - deterministic: JS registers allocations without sockets and drives fromClient/fromPeer with
//    injected time (the parity and fuzz tests);
//  - I/O: a native thread owns the listener and relay sockets (turn_io.h); JS pushes forwarding
//    state and gets the datagrams it must handle in batches.
#include <napi.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>

#include "env_cleanup.h"
#include "turn_forward.h"
#include "turn_io.h"

namespace xr {
namespace {

// NativeTurn.stats(), in order, by name: NATIVE_TURN_STATS in src/turn/server/native-turn.ts lists the
// same names (test/native/layouts.test.ts parses this list and compares; the loader checks the exported
// turnStatsLayout).
#define XR_TURN_STATS(X)                      \
  X("toPeerPackets", s.to_peer_packets)        \
  X("toPeerBytes", s.to_peer_bytes)            \
  X("toClientPackets", s.to_client_packets)    \
  X("toClientBytes", s.to_client_bytes)        \
  X("dropMalformed", s.drops[0])               \
  X("dropNotStun", s.drops[1])                 \
  X("dropNoAllocation", s.drops[2])            \
  X("dropNoPermission", s.drops[3])            \
  X("dropNoChannel", s.drops[4])               \
  X("handedUp", s.handed_up)                   \
  X("upDropped", s.up_dropped)                 \
  X("sendErrors", s.send_errors)               \
  X("sendWaits", s.send_eagain)                \
  X("recvBatches", s.recv_batches)             \
  X("sendBatches", s.send_batches)             \
  X("truncated", s.truncated)                  \
  X("allocations", double(fwd_->count()))      \
  X("sendWouldBlock", s.send_would_block)
#define XR_TURN_STAT_VALUE(name, value) value,
#define XR_TURN_STAT_NAME(name, value) name,

const uint8_t* TurnBytes(const Napi::Value& v, size_t* len) {
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  *len = a.ByteLength();
  return a.Data();
}

class NativeTurn : public Napi::ObjectWrap<NativeTurn> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "NativeTurn",
                       {InstanceMethod("add", &NativeTurn::AddJs), InstanceMethod("remove", &NativeTurn::RemoveJs),
                        InstanceMethod("sync", &NativeTurn::SyncJs), InstanceMethod("fromClient", &NativeTurn::FromClientJs),
                        InstanceMethod("fromPeer", &NativeTurn::FromPeerJs), InstanceMethod("stats", &NativeTurn::StatsJs),
                        InstanceMethod("start", &NativeTurn::StartJs), InstanceMethod("stop", &NativeTurn::StopJs),
                        InstanceMethod("openRelay", &NativeTurn::OpenRelayJs), InstanceMethod("closeRelay", &NativeTurn::CloseRelayJs),
                        InstanceMethod("sendToClient", &NativeTurn::SendToClientJs), InstanceMethod("sendToPeer", &NativeTurn::SendToPeerJs)});
  }

  // new NativeTurn(tidPrefix: 8 bytes)
  explicit NativeTurn(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeTurn>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().ByteLength() < 8) {
      Napi::TypeError::New(env, "NativeTurn(tidPrefix8)").ThrowAsJavaScriptException();
      return;
    }
    size_t n;
    fwd_.reset(new TurnForwarder(TurnBytes(info[0], &n)));
    cleanup_.Add(env, [this]() { Stop(); });
  }

  ~NativeTurn() override { Stop(); }

 private:
  EnvCleanup cleanup_;  // removes the hook when the object goes (after the destructor stopped the I/O)
  // add(id, clientIp, clientPort, relayFamily 4|6) -> bool (deterministic mode: no socket)
  Napi::Value AddJs(const Napi::CallbackInfo& info) {
    TurnAddr c;
    const socklen_t len = ParseSockaddr(info[1].As<Napi::String>().Utf8Value(), info[2].As<Napi::Number>().Int32Value(), &c);
    const int fam = info[3].As<Napi::Number>().Int32Value() == 6 ? AF_INET6 : AF_INET;
    std::lock_guard<std::mutex> lock(mu_);
    return Napi::Boolean::New(info.Env(), len != 0 && fwd_->Add(info[0].As<Napi::Number>().Uint32Value(), &c.sa, len, fam, -1));
  }

  Napi::Value RemoveJs(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(mu_);
    TurnAlloc* a = fwd_->Remove(info[0].As<Napi::Number>().Uint32Value());
    delete a;  // deterministic mode only: I/O-mode allocations are closed with closeRelay
    return Napi::Boolean::New(info.Env(), a != nullptr);
  }

  // sync(id, packed) -> bool
  Napi::Value SyncJs(const Napi::CallbackInfo& info) {
    size_t len;
    const uint8_t* p = TurnBytes(info[1], &len);
    std::lock_guard<std::mutex> lock(mu_);
    return Napi::Boolean::New(info.Env(), fwd_->Sync(info[0].As<Napi::Number>().Uint32Value(), p, len));
  }

  // fromClient(buf, ip, port, nowMs, out Int32Array[5], ipOut Uint8Array[16]) -> action
  // out = [action, allocId, peerPort, dataOff, dataLen]; ipOut = the peer's family-4/6 bytes.
  Napi::Value FromClientJs(const Napi::CallbackInfo& info) {
    size_t len;
    const uint8_t* buf = TurnBytes(info[0], &len);
    TurnAddr from;
    if (ParseSockaddr(info[1].As<Napi::String>().Utf8Value(), info[2].As<Napi::Number>().Int32Value(), &from) == 0) {
      Napi::TypeError::New(info.Env(), "fromClient: bad address").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    Napi::Int32Array out = info[4].As<Napi::Int32Array>();
    Napi::Uint8Array ip_out = info[5].As<Napi::Uint8Array>();
    PeerSend ps;
    int act;
    {
      std::lock_guard<std::mutex> lock(mu_);
      act = fwd_->FromClient(buf, len, &from.sa, info[3].As<Napi::Number>().DoubleValue(), &ps);
    }
    if (out.ElementLength() >= 5) {
      out[0] = act;
      if (act == kActToPeer) {
        out[1] = int32_t(ps.alloc->id);
        out[2] = ps.port;
        out[3] = int32_t(ps.data - buf);
        out[4] = int32_t(ps.len);
        if (ip_out.ByteLength() >= 17) {
          ip_out[0] = ps.ip.family;
          std::memcpy(ip_out.Data() + 1, ps.ip.bytes, 16);
        }
      }
    }
    return Napi::Number::New(info.Env(), act);
  }

  // fromPeer(id, buf, peerIp, peerPort, nowMs, out Buffer >= kMaxClientMessage) -> length (0: dropped, -1: no allocation)
  Napi::Value FromPeerJs(const Napi::CallbackInfo& info) {
    size_t len, cap;
    const uint8_t* buf = TurnBytes(info[1], &len);
    uint8_t* out = const_cast<uint8_t*>(TurnBytes(info[5], &cap));
    TurnAddr from;
    if (cap < kMaxClientMessage || ParseSockaddr(info[2].As<Napi::String>().Utf8Value(), info[3].As<Napi::Number>().Int32Value(), &from) == 0) {
      Napi::TypeError::New(info.Env(), "fromPeer: bad address or output too small").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    std::lock_guard<std::mutex> lock(mu_);
    TurnAlloc* a = fwd_->Find(info[0].As<Napi::Number>().Uint32Value());
    if (a == nullptr) return Napi::Number::New(info.Env(), -1);
    return Napi::Number::New(info.Env(), double(fwd_->FromPeer(a, buf, len, &from.sa, info[4].As<Napi::Number>().DoubleValue(), out)));
  }

  // stats(out Float64Array): [toPeerPackets, toPeerBytes, toClientPackets, toClientBytes, drops x5,
  //   handedUp, upDropped, sendErrors, sendEagain, recvBatches, sendBatches, truncated, allocations,
  //   sendWouldBlock] (see TurnFwdStats)
  Napi::Value StatsJs(const Napi::CallbackInfo& info) {
    Napi::Float64Array o = info[0].As<Napi::Float64Array>();
    std::lock_guard<std::mutex> lock(mu_);
    const TurnFwdStats& s = fwd_->stats();
    const double v[] = {XR_TURN_STATS(XR_TURN_STAT_VALUE)};
    size_t k = 0;
    for (double x : v)
      if (k < o.ElementLength()) o[k++] = x;
    return info.Env().Undefined();
  }

  // start(host, port, bufBytes, onUp(bytes, meta Int32Array, addrs Uint8Array)) -> bound port
  Napi::Value StartJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (io_) {
      Napi::Error::New(env, "TURN I/O already started").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    // A bounded queue: if the JS thread falls behind, further batches are dropped and counted.
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[3].As<Napi::Function>(), "xrelay-turn", 1024, 1);
    tsfn_.Unref(env);
    Napi::ThreadSafeFunction tsfn = tsfn_;
    io_.reset(new TurnIo(fwd_.get(), &mu_, [tsfn](std::unique_ptr<TurnUpBatch> b) mutable {
      TurnUpBatch* raw = b.release();
      const napi_status st = tsfn.NonBlockingCall(raw, [](Napi::Env env, Napi::Function cb, TurnUpBatch* x) {
        std::unique_ptr<TurnUpBatch> own(x);
        if (env == nullptr || cb.IsEmpty()) return;
        Napi::Buffer<uint8_t> bytes = Napi::Buffer<uint8_t>::Copy(env, own->bytes.data(), own->bytes.size());
        Napi::Int32Array meta = Napi::Int32Array::New(env, own->meta.size());
        if (!own->meta.empty()) std::memcpy(meta.Data(), own->meta.data(), own->meta.size() * sizeof(int32_t));
        Napi::Buffer<uint8_t> addrs = Napi::Buffer<uint8_t>::Copy(env, own->addrs.data(), own->addrs.size());
        cb.Call({bytes, meta, addrs});
      });
      if (st != napi_ok) {
        delete raw;
        return false;
      }
      return true;
    }));
    const int port = io_->Start(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Number>().Int32Value(), info[2].As<Napi::Number>().Int32Value());
    if (port < 0) {
      io_.reset();
      tsfn_.Release();
      Napi::Error e = Napi::Error::New(env, std::string("cannot bind the TURN UDP socket: ") + std::strerror(-port));
      e.Set("errno", Napi::Number::New(env, -port));
      e.Set("code", Napi::String::New(env, -port == EADDRINUSE ? "EADDRINUSE" : "EBIND"));
      e.ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::Number::New(env, port);
  }

  Napi::Value StopJs(const Napi::CallbackInfo& info) {
    Stop();
    return info.Env().Undefined();
  }

  void Stop() {
    if (!io_) return;
    io_->Stop();
    io_.reset();
    tsfn_.Release();
  }

  bool NeedIo(Napi::Env env) {
    if (io_) return true;
    Napi::Error::New(env, "TURN I/O not started").ThrowAsJavaScriptException();
    return false;
  }

  // openRelay(id, bindIp, port, clientIp, clientPort) -> bound port | -errno
  Napi::Value OpenRelayJs(const Napi::CallbackInfo& info) {
    if (!NeedIo(info.Env())) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), io_->OpenRelay(info[0].As<Napi::Number>().Uint32Value(), info[1].As<Napi::String>().Utf8Value(),
                                                        info[2].As<Napi::Number>().Int32Value(), info[3].As<Napi::String>().Utf8Value(),
                                                        info[4].As<Napi::Number>().Int32Value()));
  }

  Napi::Value CloseRelayJs(const Napi::CallbackInfo& info) {
    if (!io_) return Napi::Boolean::New(info.Env(), false);
    return Napi::Boolean::New(info.Env(), io_->CloseRelay(info[0].As<Napi::Number>().Uint32Value()));
  }

  // sendToClient(ip, port, data) -> 0 | -errno
  Napi::Value SendToClientJs(const Napi::CallbackInfo& info) {
    if (!NeedIo(info.Env())) return info.Env().Undefined();
    size_t len;
    const uint8_t* d = TurnBytes(info[2], &len);
    return Napi::Number::New(info.Env(), io_->SendToClient(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Number>().Int32Value(), d, len));
  }

  // sendToPeer(id, ip, port, data) -> 0 | -errno
  Napi::Value SendToPeerJs(const Napi::CallbackInfo& info) {
    if (!NeedIo(info.Env())) return info.Env().Undefined();
    size_t len;
    const uint8_t* d = TurnBytes(info[3], &len);
    return Napi::Number::New(info.Env(), io_->SendToPeer(info[0].As<Napi::Number>().Uint32Value(), info[1].As<Napi::String>().Utf8Value(),
                                                         info[2].As<Napi::Number>().Int32Value(), d, len));
  }

  std::mutex mu_;
  std::unique_ptr<TurnForwarder> fwd_;
  std::unique_ptr<TurnIo> io_;
  Napi::ThreadSafeFunction tsfn_;
};

}  // namespace

void InitTurn(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeTurn", NativeTurn::Init(env));
  static const char* const kNames[] = {XR_TURN_STATS(XR_TURN_STAT_NAME)};
  Napi::Array layout = Napi::Array::New(env, sizeof kNames / sizeof kNames[0]);
  for (uint32_t i = 0; i < layout.Length(); i++) layout.Set(i, Napi::String::New(env, kNames[i]));
  exports.Set("turnStatsLayout", layout);
  exports.Set("turnMaxClientMessage", Napi::Number::New(env, double(kMaxClientMessage)));
}

}  // namespace xr
