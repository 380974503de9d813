// Shared plumbing for the bindings: the tensor table, argument readers and the error guard.
//
// A JS Tensor holds only an integer handle: a slot in this table. That keeps an op crossing to
// "read a few numbers, call ATen, store the result, return a number" (no ObjectWrap, no
// per-tensor JS object made in C++), which is what makes the per-op cost close to raw C++.
#pragma once

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/GradMode.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <c10/util/Exception.h>
#include <napi.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

// c10::optional is libtorch 1.x's own type and an alias of std::optional from 2.4 on, where
// ATen's headers move to <optional> and may stop including it.
#if __has_include(<c10/util/Optional.h>)
#include <c10/util/Optional.h>
#else
namespace c10 {
using std::nullopt;
using std::optional;
}  // namespace c10
#endif

namespace torch {
namespace autograd {
struct Node;
}
}  // namespace torch

namespace tstorch {

struct DistState;  // native/dist.cc: the c10d store and process group of this environment
struct JitState;   // native/jit.cc: the TorchScript modules loaded in this environment
struct AutogradState;  // native/autograd.cc: the JS dispatcher of custom Functions and hooks
struct GeneratorState;  // native/generator.cc: the torch.Generator objects of this environment

class TensorTable {
 public:
  std::shared_ptr<DistState> dist;
  std::shared_ptr<JitState> jit;
  std::shared_ptr<AutogradState> autograd;
  std::shared_ptr<GeneratorState> generators;

  // Deleted by the environment's cleanup hook, when the JS heap is going away with the queue.
  ~TensorTable() { queueRef_.SuppressDestruct(); }

  int32_t put(at::Tensor t) {
    if (!t.defined()) return -1;
    int32_t id;
    if (!free_.empty()) {
      id = free_.back();
      free_.pop_back();
      slots_[id] = std::move(t);
    } else {
      id = static_cast<int32_t>(slots_.size());
      slots_.push_back(std::move(t));
    }
    ++live_;
    return id;
  }

  const at::Tensor& get(int32_t id) const {
    if (id < 0 || id >= static_cast<int32_t>(slots_.size()) || !slots_[id].defined()) {
      throw std::runtime_error("tstorch: tensor handle " + std::to_string(id) +
                               " is not live (it was disposed, or freed by tidy())");
    }
    return slots_[id];
  }

  void release(int32_t id) {
    if (id < 0 || id >= static_cast<int32_t>(slots_.size()) || !slots_[id].defined()) return;
    slots_[id].reset();
    free_.push_back(id);
    --live_;
  }

  // Tensor.dispose() does not cross into C++: it appends the handle to this queue, a small
  // Int32Array shared with JS ([0] = count, then handles), and the next call of any binding
  // frees them (see guarded() below). That saves one crossing per disposed tensor.
  Napi::Int32Array releaseQueue(Napi::Env env) {
    if (queue_ == nullptr) {
      constexpr int32_t kCapacity = 64;
      Napi::Int32Array q = Napi::Int32Array::New(env, kCapacity + 1);
      queue_ = q.Data();
      queueCapacity_ = kCapacity;
      queueRef_ = Napi::Persistent(q);
    }
    return queueRef_.Value();
  }
  void drainReleased() {
    if (queue_ == nullptr) return;
    int32_t n = std::min(queue_[0], queueCapacity_);
    queue_[0] = 0;
    for (int32_t k = 1; k <= n; ++k) release(queue_[k]);
  }
  bool hasReleased() const { return queue_ != nullptr && queue_[0] != 0; }

  int32_t live() const { return live_; }
  const std::vector<at::Tensor>& slots() const { return slots_; }

 private:
  std::vector<at::Tensor> slots_;
  std::vector<int32_t> free_;
  int32_t live_ = 0;
  int32_t* queue_ = nullptr;
  int32_t queueCapacity_ = 0;
  Napi::Reference<Napi::Int32Array> queueRef_;  // keeps the shared buffer alive
};

// Every binding receives the table as its function data (cheaper than instance-data lookups,
// and still per-environment, so the addon is context-aware: worker threads and jest module
// registries each get their own table).
inline TensorTable& table(const Napi::CallbackInfo& info) {
  return *static_cast<TensorTable*>(info.Data());
}

inline int32_t argInt(const Napi::CallbackInfo& info, size_t i) {
  int32_t v;
  if (napi_get_value_int32(info.Env(), info[i], &v) != napi_ok) {
    throw std::runtime_error("tstorch: argument " + std::to_string(i) + " must be a number");
  }
  return v;
}
// A whole number (a size, a dim, an index): 2.5 or NaN is an error, not truncated (as Python's TypeError).
int64_t wholeNumber(const Napi::Value& v, const char* what);
inline int64_t argInt64(const Napi::CallbackInfo& info, size_t i) {
  return wholeNumber(info[i], "an integer argument");
}
// What a JS value is, for an error message ("an object", "a string \"x\"", "undefined").
std::string describeJs(const Napi::Value& v);
inline double argDouble(const Napi::CallbackInfo& info, size_t i) {
  double d;
  // (napi_get_value_double itself says when it is no number: no extra check on the hot path)
  if (napi_get_value_double(info.Env(), info[i], &d) != napi_ok) {
    throw std::runtime_error("tstorch: argument " + std::to_string(i) + " must be a number, got " + describeJs(info[i]));
  }
  return d;
}
inline bool argBool(const Napi::CallbackInfo& info, size_t i) {
  bool b;
  if (napi_get_value_bool(info.Env(), info[i], &b) == napi_ok) return b;
  // (a flag left out is false, and 0 / 1 read as Python's bool(int); an object or a string is a mistake, not true)
  const Napi::Value v = info[i];
  if (v.IsUndefined() || v.IsNull()) return false;
  if (v.IsNumber()) return v.As<Napi::Number>().DoubleValue() != 0;
  throw std::runtime_error("tstorch: argument " + std::to_string(i) + " must be true or false, got " + describeJs(v));
}
inline std::string argString(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsString()) throw std::runtime_error("tstorch: argument " + std::to_string(i) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}
inline bool isNullish(const Napi::CallbackInfo& info, size_t i) {
  return i >= info.Length() || info[i].IsNull() || info[i].IsUndefined();
}
inline const at::Tensor& argTensor(const Napi::CallbackInfo& info, size_t i) {
  return table(info).get(argInt(info, i));
}
// A handle of -1 (or null) means "no tensor", e.g. an absent bias.
inline std::optional<at::Tensor> argOptTensor(const Napi::CallbackInfo& info, size_t i) {
  if (isNullish(info, i)) return std::nullopt;
  int32_t id = argInt(info, i);
  if (id < 0) return std::nullopt;
  return table(info).get(id);
}
// The same as the c10::optional ATen's signatures take (a distinct type before libtorch 2.4).
inline c10::optional<at::Tensor> optT(const Napi::CallbackInfo& info, size_t i) {
  auto t = argOptTensor(info, i);
  return t ? c10::optional<at::Tensor>(*t) : c10::nullopt;
}
std::vector<int64_t> argInts(const Napi::CallbackInfo& info, size_t i);
std::vector<at::Tensor> argTensors(const Napi::CallbackInfo& info, size_t i);
// JS numbers that are whole become integer scalars (as Python's ints do), others doubles.
at::Scalar argScalar(const Napi::CallbackInfo& info, size_t i);
at::ScalarType argDtype(const Napi::CallbackInfo& info, size_t i);
// Devices cross as one integer: -1 is the CPU, k >= 0 is cuda:k.
at::Device argDevice(const Napi::CallbackInfo& info, size_t i);
int32_t deviceCode(const at::Device& d);
// Factories run below the ADInplaceOrView layer, as torch::zeros and Python's factories do:
// their own fills are not in-place writes anyone could observe (x._version starts at 0).
#define FACTORY_GUARD at::AutoDispatchBelowADInplaceOrView belowADInplaceOrView
at::TensorOptions argOptions(const Napi::CallbackInfo& info, size_t dtypeIdx, size_t deviceIdx);
// A memory format crosses as its c10 code (see memoryFormatCodes); null or -1 for none.
c10::optional<at::MemoryFormat> optMemoryFormat(const Napi::CallbackInfo& info, size_t i);
// A torch.Generator crosses as its handle (native/generator.cc); null or -1: the device's default.
c10::optional<at::Generator> optGenerator(const Napi::CallbackInfo& info, size_t i);
// A generator's whole state as bytes, and back (torch.Generator, torch.get_rng_state).
Napi::Value generatorState(Napi::Env env, at::Generator& gen);
void setGeneratorState(at::Generator& gen, const Napi::Buffer<uint8_t>& buf);

// Out-of-place ops whose inputs need no gradient skip libtorch's autograd layer, where they
// would only be passed on: no graph node is made, and a fresh result has no view or version
// links to keep. The result is the same tensor either way. Never used for in-place or view ops
// (there the layer bumps version counters and records view bases even without gradients).
// How many reasons there are now to never skip the layer: forward-AD and vmap levels, and a running
// profiler. A dual tensor needs the layer without requiring grad (its tangent is propagated
// there); a batched tensor does not require grad itself, but the tensor under it, that the layer
// then sees, may; a profile takes the path Python's ops take, so that the two traces compare.
inline int& keepAutogradLayer() {
  static int count = 0;
  return count;
}
class SkipAutogradIfUnneeded {
 public:
  template <typename... Ts>
  explicit SkipAutogradIfUnneeded(const Ts&... inputs) {
    if (keepAutogradLayer() > 0) return;
    if (!c10::GradMode::is_enabled() || !(needsGrad(inputs) || ...)) {
      guard_.emplace(c10::autograd_dispatch_keyset_with_ADInplaceOrView);
    }
  }

 private:
  static bool needsGrad(const at::Tensor& t) { return t.requires_grad(); }
  static bool needsGrad(const c10::optional<at::Tensor>& t) { return t && t->requires_grad(); }
  std::optional<c10::impl::ExcludeDispatchKeyGuard> guard_;
};

inline Napi::Value ret(const Napi::CallbackInfo& info, at::Tensor t) {
  // An int32 handle becomes a V8 small integer directly (cheaper than a double).
  napi_value v;
  napi_create_int32(info.Env(), table(info).put(std::move(t)), &v);
  return Napi::Value(info.Env(), v);
}

Napi::Value retList(const Napi::CallbackInfo& info, const std::vector<at::Tensor>& ts);

// Python's backward / grad refuse to make the gradient of a complex output themselves (a real
// loss has one; a complex one has no single "ones"); libtorch's C++ API would make ones.
inline void checkImplicitGrads(const std::vector<at::Tensor>& outputs, const std::vector<at::Tensor>& grads) {
  for (size_t k = 0; k < outputs.size(); ++k) {
    if (outputs[k].is_complex() && (k >= grads.size() || !grads[k].defined())) {
      throw std::runtime_error("grad can be implicitly created only for real scalar outputs");
    }
  }
}
Napi::Value retPair(const Napi::CallbackInfo& info, at::Tensor a, at::Tensor b);

// Bindings of ops with fresh results, with 1-3 leading tensor arguments (a, b, c): they are
// read first, so that the autograd layer can be skipped when none of them needs a gradient.
#define OP1(name, expr)                              \
  Napi::Value name(const Napi::CallbackInfo& info) { \
    const at::Tensor& a = argTensor(info, 0);        \
    SkipAutogradIfUnneeded skip(a);                  \
    return ret(info, expr);                          \
  }
#define OP2(name, expr)                                                  \
  Napi::Value name(const Napi::CallbackInfo& info) {                     \
    const at::Tensor &a = argTensor(info, 0), &b = argTensor(info, 1);   \
    SkipAutogradIfUnneeded skip(a, b);                                   \
    return ret(info, expr);                                              \
  }
#define OP3(name, expr)                                                                           \
  Napi::Value name(const Napi::CallbackInfo& info) {                                              \
    const at::Tensor &a = argTensor(info, 0), &b = argTensor(info, 1), &c = argTensor(info, 2);   \
    SkipAutogradIfUnneeded skip(a, b, c);                                                         \
    return ret(info, expr);                                                                       \
  }

// The same for ops that give (values, indices) along a dim: max, min, median, kthvalue, ...
#define OP1_PAIR(name, expr)                          \
  Napi::Value name(const Napi::CallbackInfo& info) {  \
    const at::Tensor& a = argTensor(info, 0);         \
    SkipAutogradIfUnneeded skip(a);                   \
    auto r = expr;                                    \
    return retPair(info, std::get<0>(r), std::get<1>(r)); \
  }

// native/warnings.cc: libtorch's warnings, queued by its handler (from any thread) until the
// JS thread emits them as Node warnings.
extern std::atomic<bool> warningsPending;
void emitPendingWarnings(Napi::Env env);
void installWarningHandler();

// The commonest surprise of JS: it has no 1.0 literal, so torch.tensor([1, 2]) of whole numbers is
// int64 (as PyTorch's of the same literals), and a float-only op on it fails; the error says so.
inline std::string withDtypeHint(std::string msg) {
  auto has = [&](const char* s) { return msg.find(s) != std::string::npos; };
  bool integer = has("Long") || has("int64_t") || has("only support floating point") || has("Only Tensors of floating point");
  bool wantsFloat = has("floating point") || has("not implemented for 'Long'") || has("without overflow") || has("must have the same scalar type");
  if (integer && wantsFloat) {
    msg += " (note: a tensor made of whole numbers, torch.tensor([1, 2]), is int64 as PyTorch's; JS writes 1.0 as 1, so give { dtype: 'float32' } or call .float())";
  }
  return msg;
}

// Turns every C++ exception into a JS Error carrying libtorch's message (without its C++
// backtrace), so that nothing a user passes can take the process down; emits the warnings the
// call raised (before its error, where it failed).
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  try {
    TensorTable& tbl = table(info);
    if (tbl.hasReleased()) tbl.drainReleased();
    Napi::Value result = F(info);
    if (warningsPending.load(std::memory_order_relaxed)) emitPendingWarnings(info.Env());
    return result;
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    if (warningsPending.load(std::memory_order_relaxed)) emitPendingWarnings(info.Env());
    throw Napi::Error::New(info.Env(), withDtypeHint(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    if (warningsPending.load(std::memory_order_relaxed)) emitPendingWarnings(info.Env());
    throw Napi::Error::New(info.Env(), withDtypeHint(e.what()));
  }
}

struct Registrar {
  Napi::Env env;
  Napi::Object exports;
  TensorTable* tbl;
  template <Napi::Value (*F)(const Napi::CallbackInfo&)>
  void add(const char* name) {
    exports.Set(name, Napi::Function::New<guarded<F>>(env, name, tbl));
  }
};

void registerCore(Registrar& r);
void registerMath(Registrar& r);
void registerShape(Registrar& r);
void registerNN(Registrar& r);
void registerDist(Registrar& r);
void registerLinalg(Registrar& r);
void registerSpectral(Registrar& r);
void registerSpecial(Registrar& r);
void registerGenerator(Registrar& r);
void registerProfiler(Registrar& r);
void registerQuantized(Registrar& r);
void registerSparse(Registrar& r);
void registerJit(Registrar& r);
void registerAutograd(Registrar& r);
void registerWarnings(Registrar& r);
void registerInterrupts(Registrar& r);
// native/autograd.cc: runs fn, a backward, so that the JS hooks and custom Functions it reaches
// can run, whichever thread libtorch's engine reaches them on.
void runAutograd(TensorTable& tbl, const std::function<void()>& fn);
// native/autograd.cc: the name of a JS custom Function's graph node ("ExpBackward"); "" for others.
std::string jsFunctionName(const torch::autograd::Node& node);
void registerCudaMemory(Registrar& r);
void registerVmap(Registrar& r);

}  // namespace tstorch
