// An environment cleanup hook owned by an object (Node-API napi_add_env_cleanup_hook): added when
// the object starts its I/O, removed when the object is destroyed. An ObjectWrap that the GC
// finalizes before the environment's teardown must not leave a hook behind that points at freed
// memory: AddressSanitizer found exactly that (heap-use-after-free at process exit, in the hook of a
// NativeCore finalized earlier). The hook runs at most once.
#pragma once

#include <node_api.h>

#include <functional>
#include <utility>

class EnvCleanup {
 public:
  EnvCleanup() = default;
  EnvCleanup(const EnvCleanup&) = delete;
  EnvCleanup& operator=(const EnvCleanup&) = delete;
  ~EnvCleanup() {
    if (armed_) napi_remove_env_cleanup_hook(env_, &EnvCleanup::Run, this);
  }

  void Add(napi_env env, std::function<void()> fn) {
    if (armed_) return;
    env_ = env;
    fn_ = std::move(fn);
    armed_ = napi_add_env_cleanup_hook(env, &EnvCleanup::Run, this) == napi_ok;
  }

 private:
  static void Run(void* self) {
    auto* c = static_cast<EnvCleanup*>(self);
    c->armed_ = false;  // Node removes a hook once it ran
    if (c->fn_) c->fn_();
  }

  napi_env env_ = nullptr;
  std::function<void()> fn_;
  bool armed_ = false;
};
