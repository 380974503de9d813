// Autograd reaching back into JavaScript: custom Functions (torch.autograd.Function, whose
// backward is written in TS) and tensor hooks (Tensor.registerHook).
//
// libtorch's own C++ custom-Function machinery (torch::autograd::Function<T>, CppNode) does the
// graph work, so views, in-place (dirty) inputs, non-differentiable outputs, saved-tensor version
// checks and "backward twice" errors behave exactly as in PyTorch. What is ours: the JS side
// runs forward itself (under no_grad) and hands us its outputs; backward calls one JS
// dispatcher function (per copy of the JS library) with tensor handles and takes handles back.
//
// JavaScript can run only on its own thread. libtorch runs a CPU backward on the thread that
// called it (ours: callbacks run directly), but CUDA nodes on its per-device threads: with CUDA
// present, runAutograd moves such a backward to a helper thread and the JS thread serves the
// callbacks' calls from wherever they come.
#include <torch/csrc/autograd/custom_function.h>
#include <torch/cuda.h>

#include <ATen/ExpandUtils.h>
#include <ATen/ThreadLocalState.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common.h"

namespace tstorch {

// A JS callback asked for by a thread that cannot run JS (libtorch's CUDA device threads, or the
// thread a backward runs on; see runAutograd), waiting for the JS thread to serve it.
struct JsRequest {
  int32_t owner, id;
  const std::vector<at::Tensor>* grads;
  const std::vector<at::Tensor>* saved;
  at::ThreadLocalState state;  // the asking thread's grad mode (backward's createGraph), autocast, ...
  std::vector<at::Tensor> result;
  std::exception_ptr error;
  bool done = false;
};

// A JS exception on its way through libtorch's engine (which may free it on any thread): a
// token for the JS error object, kept on the JS thread, and its message.
struct JsCallbackError : std::runtime_error {
  int32_t token;
  JsCallbackError(int32_t t, const std::string& msg) : std::runtime_error(msg), token(t) {}
};

// One per environment: the JS dispatchers, the requests waiting for them, and the ids of JS
// callbacks whose C++ owners are gone. Each copy of lib/tensor/function.ts loaded in the
// environment (jest loads one per test file; an app may hold two versions of the package)
// registers its own dispatcher, and its callbacks' ids are its own: a callback is called through,
// and reported released to, the dispatcher that made it.
struct AutogradState {
  std::deque<Napi::FunctionReference> dispatchers;  // (callback id[, gradHandles, savedHandles]) => handles, or their count in the exchange buffer; a deque: one added during a callback moves none
  std::thread::id jsThread = std::this_thread::get_id();
  TensorTable* tbl = nullptr;
  std::atomic<int32_t> liveCallbacks{0};  // hooks and custom-Function nodes alive
  bool helperThread = false;              // run backwards with JS callbacks on a helper thread (CUDA present)
  std::mutex mutex;                       // guards what follows
  std::condition_variable changed;        // a request came, was served, or a backward finished
  std::deque<JsRequest*> requests;
  int32_t serving = 0;            // runAutograd loops waiting on the JS thread
  std::vector<std::vector<int32_t>> released;  // per dispatcher: callback ids to forget (their node or hook died)
  std::unordered_map<int32_t, Napi::ObjectReference> errors;  // JsCallbackError tokens (JS thread only)
  std::vector<std::shared_ptr<const std::string>> functionNames;  // custom Functions' node names, by id (JS thread only)
  int32_t nextErrorToken = 0;
  // Handles cross between JS and C++ here, not in JS arrays (JS thread only): apply's inputs and
  // outputs, a backward callback's gradients in and out. Each side reads what the other wrote
  // before it runs anything that could write here again. Longer lists cross as arrays.
  static constexpr int32_t kExchangeCapacity = 256;
  int32_t* exchange = nullptr;
  Napi::Reference<Napi::Int32Array> exchangeRef;

  ~AutogradState() {  // the JS heap goes with the environment
    exchangeRef.SuppressDestruct();
    for (auto& d : dispatchers) d.SuppressDestruct();
    for (auto& e : errors) e.second.SuppressDestruct();
  }
};

// Held by a graph node (in its ctx) or a hook: tells JS to forget the callback when it dies,
// whichever thread that happens on.
struct JsCallbackRef : torch::CustomClassHolder {
  std::weak_ptr<AutogradState> state;
  int32_t owner;  // the dispatcher that made it
  int32_t id;
  // a custom Function's: the shapes its inputs had (empty for those that need no gradient), and its name
  std::vector<std::vector<int64_t>> inputShapes;
  std::shared_ptr<const std::string> name;  // (one per JS class, shared by its nodes: see functionName)
  JsCallbackRef(const std::shared_ptr<AutogradState>& s, int32_t o, int32_t i) : state(s), owner(o), id(i) { ++s->liveCallbacks; }
  ~JsCallbackRef() override {
    if (auto s = state.lock()) {
      --s->liveCallbacks;
      std::lock_guard<std::mutex> lock(s->mutex);
      s->released[owner].push_back(id);
    }
  }
};

// On the JS thread: calls the dispatcher with tensors (as fresh handles) and takes the tensors it
// gives back (fresh handles too, which we release: JS made them for us). -1 both ways is "none".
static std::vector<at::Tensor> runJs(AutogradState& s, int32_t owner, int32_t id, const std::vector<at::Tensor>& grads,
                                     const std::vector<at::Tensor>& saved) {
  Napi::FunctionReference& dispatcher = s.dispatchers[owner];
  Napi::Env env = dispatcher.Env();
  Napi::HandleScope scope(env);
  TensorTable& tbl = *s.tbl;
  Napi::Value r;
  if (s.exchange && grads.size() + saved.size() + 2 <= static_cast<size_t>(AutogradState::kExchangeCapacity)) {
    // [nGrads, ...grads, nSaved, ...saved] in the exchange buffer
    int32_t* p = s.exchange;
    *p++ = static_cast<int32_t>(grads.size());
    for (const at::Tensor& t : grads) *p++ = tbl.put(t);
    *p++ = static_cast<int32_t>(saved.size());
    for (const at::Tensor& t : saved) *p++ = tbl.put(t);
    r = dispatcher.Call({Napi::Number::New(env, id)});
  } else {
    auto handles = [&](const std::vector<at::Tensor>& ts) {
      Napi::Array a = Napi::Array::New(env, ts.size());
      for (size_t k = 0; k < ts.size(); ++k) a.Set(static_cast<uint32_t>(k), Napi::Number::New(env, tbl.put(ts[k])));
      return a;
    };
    r = dispatcher.Call({Napi::Number::New(env, id), handles(grads), handles(saved)});
  }
  std::vector<at::Tensor> out;
  auto take = [&](int32_t h) {
    if (h < 0) {
      out.emplace_back();
    } else {
      out.push_back(tbl.get(h));
      tbl.release(h);
    }
  };
  if (r.IsNumber()) {  // that many handles in the exchange buffer
    int32_t n = r.As<Napi::Number>().Int32Value();
    if (!s.exchange || n < 0 || n > AutogradState::kExchangeCapacity) throw std::runtime_error("tstorch: malformed autograd callback result");
    out.reserve(n);
    for (int32_t k = 0; k < n; ++k) take(s.exchange[k]);
  } else if (r.IsArray()) {
    Napi::Array arr = r.As<Napi::Array>();
    for (uint32_t k = 0; k < arr.Length(); ++k) take(arr.Get(k).As<Napi::Number>().Int32Value());
  }
  return out;
}

// On the JS thread, for a waiting thread: runs the callback; a JS exception travels as a token.
static void serve(AutogradState& s, JsRequest& r) {
  try {
    at::ThreadLocalStateGuard asIfThere(r.state);  // JS runs as the engine would run it there
    r.result = runJs(s, r.owner, r.id, *r.grads, *r.saved);
  } catch (const Napi::Error& e) {
    int32_t token = s.nextErrorToken++;
    s.errors.emplace(token, Napi::Persistent(e.Value()));
    r.error = std::make_exception_ptr(JsCallbackError(token, e.Message()));
  } catch (...) {
    r.error = std::current_exception();
  }
}

// Runs a JS callback from wherever libtorch's engine is: directly on the JS thread, else by
// handing it to the JS thread (waiting in runAutograd) and waiting for the result.
static std::vector<at::Tensor> callJs(const std::shared_ptr<AutogradState>& s, const JsCallbackRef& cb,
                                      const std::vector<at::Tensor>& grads, const std::vector<at::Tensor>& saved,
                                      const char* what) {
  if (std::this_thread::get_id() == s->jsThread) return runJs(*s, cb.owner, cb.id, grads, saved);
  JsRequest r{cb.owner, cb.id, &grads, &saved, at::ThreadLocalState()};
  std::unique_lock<std::mutex> lock(s->mutex);
  if (s->serving == 0) {
    throw std::runtime_error(std::string("tstorch: ") + what +
                             " was reached on a thread where JavaScript cannot run, outside "
                             "Tensor.backward() and torch.autograd.grad() (inside TorchScript?)");
  }
  s->requests.push_back(&r);
  s->changed.notify_all();
  s->changed.wait(lock, [&] { return r.done; });
  lock.unlock();
  if (r.error) std::rethrow_exception(r.error);
  return std::move(r.result);
}

// What JS's forward produced, handed to libtorch's Function<T>::apply as one non-tensor argument.
struct ForwardRecord {
  std::vector<at::Tensor> outputs, saved, dirty, nonDifferentiable;
  bool materializeGrads = true;
  c10::intrusive_ptr<JsCallbackRef> callback;  // (its name: the JS class's name + "Backward", as PyTorch names a custom Function's node)
};

struct JsFunction : public torch::autograd::Function<JsFunction> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, at::TensorList inputs,
                                                ForwardRecord* rec) {
    (void)inputs;  // JS ran the forward; the inputs only make the graph's edges
    ctx->save_for_backward(rec->saved);
    if (!rec->dirty.empty()) ctx->mark_dirty(rec->dirty);
    if (!rec->nonDifferentiable.empty()) ctx->mark_non_differentiable(rec->nonDifferentiable);
    ctx->set_materialize_grads(rec->materializeGrads);
    ctx->saved_data["js"] = c10::IValue::make_capsule(rec->callback);
    return rec->outputs;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list gradOutputs) {
    auto cb = c10::static_intrusive_pointer_cast<JsCallbackRef>(ctx->saved_data["js"].toCapsule());
    auto s = cb->state.lock();
    if (!s) throw std::runtime_error("tstorch: a custom Function's backward ran after its environment closed");
    // Unpacking checks that no saved tensor was modified in place since forward; its errors
    // name the node by its C++ type, which is ours: say the JS class's name instead.
    std::vector<at::Tensor> saved;
    try {
      saved = ctx->get_saved_variables();
    } catch (const c10::Error& e) {
      std::string msg = e.what_without_backtrace();
      std::string cppName = c10::demangle(typeid(torch::autograd::CppNode<JsFunction>).name());
      for (size_t at = msg.find(cppName); at != std::string::npos; at = msg.find(cppName)) {
        msg.replace(at, cppName.size(), *cb->name);
      }
      throw std::runtime_error(msg);
    }
    std::vector<at::Tensor> grads = callJs(s, *cb, gradOutputs, saved, "a custom Function's backward");
    // libtorch sums a broadcast gradient down to its input's shape; anything else is an error,
    // which we raise with the JS class's name (the engine would name our C++ node).
    for (size_t k = 0; k < grads.size() && k < cb->inputShapes.size(); ++k) {
      const auto& want = cb->inputShapes[k];
      if (!grads[k].defined() || (want.size() == 1 && want[0] == -1)) continue;
      if (!at::is_expandable_to(want, grads[k].sizes())) {
        throw std::runtime_error("function " + *cb->name + " returned an invalid gradient at index " + std::to_string(k) + " - got " +
                                 c10::str(grads[k].sizes()) + " but expected shape compatible with " + c10::str(at::IntArrayRef(want)));
      }
    }
    grads.emplace_back();  // for the ForwardRecord argument, which takes no gradient
    return grads;
  }
};

void runAutograd(TensorTable& tbl, const std::function<void()>& fn) {
  std::shared_ptr<AutogradState> s = tbl.autograd;
  // libtorch runs a CPU graph on the calling thread, where JS callbacks run directly. Only CUDA
  // nodes run elsewhere (its device threads): with CUDA present and JS callbacks alive, the
  // backward runs on a helper thread (with this thread's grad mode, autocast, ... state) and
  // this thread serves the callbacks' requests until it is done.
  if (!s || s->liveCallbacks.load() == 0 || !s->helperThread) return fn();
  std::exception_ptr failure;
  bool finished = false;
  at::ThreadLocalState callerState;
  {
    std::lock_guard<std::mutex> lock(s->mutex);
    ++s->serving;
  }
  std::thread worker([&] {
    try {
      at::ThreadLocalStateGuard guard(callerState);
      fn();
    } catch (...) {
      failure = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(s->mutex);
    finished = true;
    s->changed.notify_all();
  });
  {
    std::unique_lock<std::mutex> lock(s->mutex);
    for (;;) {
      s->changed.wait(lock, [&] { return finished || !s->requests.empty(); });
      if (s->requests.empty()) break;  // finished, nothing left to serve
      JsRequest* r = s->requests.front();
      s->requests.pop_front();
      lock.unlock();
      serve(*s, *r);
      lock.lock();
      r->done = true;
      s->changed.notify_all();
    }
    --s->serving;
  }
  worker.join();
  if (!failure) return;
  try {
    std::rethrow_exception(failure);
  } catch (const JsCallbackError& e) {
    // The error object the JS callback threw, as it was thrown.
    auto it = s->errors.find(e.token);
    if (it == s->errors.end()) throw std::runtime_error(e.what());
    Napi::Env env = s->dispatchers.back().Env();
    Napi::Value v = it->second.Value();
    s->errors.erase(it);
    throw Napi::Error(env, v);
  }
}

std::string jsFunctionName(const torch::autograd::Node& node) {
  auto* js = dynamic_cast<const torch::autograd::CppNode<JsFunction>*>(&node);
  if (!js) return "";
  auto it = js->ctx_.saved_data.find("js");
  return it == js->ctx_.saved_data.end() ? "" : *c10::static_intrusive_pointer_cast<JsCallbackRef>(it->second.toCapsule())->name;
}

namespace {

// The state, and the dispatcher index argument i checked against it.
std::shared_ptr<AutogradState> state(const Napi::CallbackInfo& info, size_t i, int32_t* owner) {
  TensorTable& tbl = table(info);
  *owner = argInt(info, i);
  if (!tbl.autograd || *owner < 0 || static_cast<size_t>(*owner) >= tbl.autograd->dispatchers.size()) {
    throw std::runtime_error("tstorch: no such autograd dispatcher (lib/tensor/function.ts registers one on load)");
  }
  return tbl.autograd;
}

// setAutogradDispatcher(fn): by each copy of lib/tensor/function.ts, on load. Returns its index,
// which it passes with every callback it registers.
Napi::Value setAutogradDispatcher(const Napi::CallbackInfo& info) {
  TensorTable& tbl = table(info);
  if (!tbl.autograd) {
    tbl.autograd = std::make_shared<AutogradState>();
    tbl.autograd->helperThread = torch::cuda::is_available();  // (a later copy keeps the mode as set)
  }
  AutogradState& s = *tbl.autograd;
  s.tbl = &tbl;
  s.jsThread = std::this_thread::get_id();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.dispatchers.push_back(Napi::Persistent(info[0].As<Napi::Function>()));
  s.released.emplace_back();
  return Napi::Number::New(info.Env(), static_cast<double>(s.dispatchers.size() - 1));
}

// setAutogradHelperThread(on): the helper-thread mode regardless of CUDA (the tests run the
// CUDA path's threading on a CPU with it). Returns the previous mode.
Napi::Value setAutogradHelperThread(const Napi::CallbackInfo& info) {
  TensorTable& tbl = table(info);
  if (!tbl.autograd) throw std::runtime_error("tstorch: the autograd dispatcher is not set");
  bool prev = tbl.autograd->helperThread;
  tbl.autograd->helperThread = argBool(info, 0);
  return Napi::Boolean::New(info.Env(), prev);
}

// autogradReleased(dispatcher): the ids of its callbacks whose nodes or hooks are gone, since the last call.
Napi::Value autogradReleased(const Napi::CallbackInfo& info) {
  std::vector<int32_t> ids;
  int32_t owner;
  auto s = state(info, 0, &owner);
  {
    std::lock_guard<std::mutex> lock(s->mutex);
    ids.swap(s->released[owner]);
  }
  Napi::Array a = Napi::Array::New(info.Env(), ids.size());
  for (size_t k = 0; k < ids.size(); ++k) a.Set(static_cast<uint32_t>(k), Napi::Number::New(info.Env(), ids[k]));
  return a;
}

// functionName(name): an id for a custom Function's node name (its class's name + "Backward"),
// asked once per class: its nodes share the string.
Napi::Value functionName(const Napi::CallbackInfo& info) {
  TensorTable& tbl = table(info);
  if (!tbl.autograd) throw std::runtime_error("tstorch: the autograd dispatcher is not set");
  tbl.autograd->functionNames.push_back(std::make_shared<const std::string>(argString(info, 0)));
  return Napi::Number::New(info.Env(), static_cast<double>(tbl.autograd->functionNames.size() - 1));
}

// autogradExchange(): the environment's exchange buffer (see AutogradState), made on first ask.
Napi::Value autogradExchange(const Napi::CallbackInfo& info) {
  TensorTable& tbl = table(info);
  if (!tbl.autograd) throw std::runtime_error("tstorch: the autograd dispatcher is not set");
  AutogradState& s = *tbl.autograd;
  if (!s.exchange) {
    Napi::Int32Array a = Napi::Int32Array::New(info.Env(), AutogradState::kExchangeCapacity);
    s.exchange = a.Data();
    s.exchangeRef = Napi::Persistent(a);
  }
  return s.exchangeRef.Value();
}

// functionApply(handles, materializeGrads, callbackId, nameId, dispatcher): makes JS forward's
// outputs the outputs of one graph node whose backward is JS callback callbackId. handles: five
// counted lists, [n, ...handles] each: inputs, outputs, saved (-1: None), dirty,
// non-differentiable; in an Int32Array, or (a number: their length) in the exchange buffer.
// Returns fresh handles of the outputs: their count, the handles in the exchange buffer, or an
// array when they do not fit (an output that was an input comes back as a view of it, as in PyTorch).
Napi::Value functionApply(const Napi::CallbackInfo& info) {
  int32_t owner;
  auto s = state(info, 4, &owner);
  const int32_t *p, *end;
  if (info[0].IsNumber()) {
    int32_t n = argInt(info, 0);
    if (!s->exchange || n < 0 || n > AutogradState::kExchangeCapacity) throw std::runtime_error("tstorch: functionApply: malformed handle lists");
    p = s->exchange;
    end = p + n;
  } else if (info[0].IsTypedArray()) {
    Napi::Int32Array arr = info[0].As<Napi::Int32Array>();
    p = arr.Data();
    end = p + arr.ElementLength();
  } else {
    throw std::runtime_error("tstorch: functionApply takes an Int32Array of handles, or their count in the exchange buffer");
  }
  TensorTable& tbl = table(info);
  auto list = [&](std::vector<at::Tensor>& out, bool noneAllowed) {
    if (p >= end || *p < 0 || *p > end - p - 1) throw std::runtime_error("tstorch: functionApply: malformed handle lists");
    int32_t n = *p++;
    out.reserve(n);
    for (int32_t k = 0; k < n; ++k, ++p) {
      if (*p < 0 && noneAllowed) out.emplace_back();
      else out.push_back(tbl.get(*p));
    }
  };
  std::vector<at::Tensor> inputs;
  ForwardRecord rec;
  list(inputs, false);
  list(rec.outputs, false);
  list(rec.saved, true);
  list(rec.dirty, false);
  list(rec.nonDifferentiable, false);
  rec.materializeGrads = argBool(info, 1);
  rec.callback = c10::make_intrusive<JsCallbackRef>(s, owner, argInt(info, 2));
  int32_t nameId = argInt(info, 3);
  if (nameId < 0 || static_cast<size_t>(nameId) >= s->functionNames.size()) throw std::runtime_error("tstorch: no such custom Function name id");
  rec.callback->name = s->functionNames[nameId];
  rec.callback->inputShapes.reserve(inputs.size());
  for (const at::Tensor& t : inputs) {
    // {-1}: no check (an input that needs no gradient gets none)
    rec.callback->inputShapes.push_back(t.requires_grad() ? t.sizes().vec() : std::vector<int64_t>{-1});
  }
  torch::autograd::variable_list outs = JsFunction::apply(at::TensorList(inputs), &rec);
  if (!s->exchange || outs.size() > static_cast<size_t>(AutogradState::kExchangeCapacity)) return retList(info, outs);
  for (size_t k = 0; k < outs.size(); ++k) s->exchange[k] = tbl.put(outs[k]);
  return Napi::Number::New(info.Env(), static_cast<double>(outs.size()));
}

// registerHook(tensor, callbackId, dispatcher): Tensor.register_hook with a JS hook; returns its
// position for removeHook.
Napi::Value registerHook(const Napi::CallbackInfo& info) {
  int32_t owner;
  auto s = state(info, 2, &owner);
  at::Tensor t = argTensor(info, 0);
  auto ref = c10::make_intrusive<JsCallbackRef>(s, owner, argInt(info, 1));
  unsigned pos = t.register_hook([ref](const at::Tensor& grad) -> at::Tensor {
    auto st = ref->state.lock();
    if (!st) return at::Tensor();
    std::vector<at::Tensor> r = callJs(st, *ref, {grad}, {}, "a tensor hook");
    return r.empty() ? at::Tensor() : r[0];  // undefined: the gradient is left as it was
  });
  return Napi::Number::New(info.Env(), pos);
}
// Hooks on graph nodes (Tensor.gradFn.registerHook / registerPrehook, PyTorch's Node hooks).
using NodePtr = std::shared_ptr<torch::autograd::Node>;
const NodePtr& argNodeHere(const Napi::CallbackInfo& info, size_t i) {
  return *info[i].As<Napi::External<NodePtr>>().Data();
}
// after the node: hook(gradInputs, gradOutputs) may replace gradInputs (what flows on)
struct JsNodePostHook : torch::autograd::FunctionPostHook {
  c10::intrusive_ptr<JsCallbackRef> ref;
  explicit JsNodePostHook(c10::intrusive_ptr<JsCallbackRef> r) : ref(std::move(r)) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& gradInputs, const torch::autograd::variable_list& gradOutputs) override {
    auto st = ref->state.lock();
    if (!st) return gradInputs;
    std::vector<at::Tensor> r = callJs(st, *ref, gradInputs, gradOutputs, "a graph node's hook");
    return r.empty() ? gradInputs : r;  // (none returned: left as they were)
  }
};
// before the node: hook(gradOutputs) may replace them
struct JsNodePreHook : torch::autograd::FunctionPreHook {
  c10::intrusive_ptr<JsCallbackRef> ref;
  explicit JsNodePreHook(c10::intrusive_ptr<JsCallbackRef> r) : ref(std::move(r)) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& grads) override {
    auto st = ref->state.lock();
    if (!st) return grads;
    std::vector<at::Tensor> r = callJs(st, *ref, grads, {}, "a graph node's pre-hook");
    return r.empty() ? grads : r;
  }
};
// nodeRegisterHook(node, callbackId, dispatcher) -> key for nodeRemoveHook
Napi::Value nodeRegisterHook(const Napi::CallbackInfo& info) {
  int32_t owner;
  auto s = state(info, 2, &owner);
  auto ref = c10::make_intrusive<JsCallbackRef>(s, owner, argInt(info, 1));
  uintptr_t key = argNodeHere(info, 0)->add_post_hook(std::make_unique<JsNodePostHook>(ref));
  return Napi::Number::New(info.Env(), static_cast<double>(key));
}
Napi::Value nodeRemoveHook(const Napi::CallbackInfo& info) {
  argNodeHere(info, 0)->del_post_hook(static_cast<uintptr_t>(info[1].As<Napi::Number>().Int64Value()));
  return info.Env().Undefined();
}
// nodeRegisterPrehook(node, callbackId, dispatcher): (libtorch has no removal: a removed JS hook leaves the gradients as they are)
Napi::Value nodeRegisterPrehook(const Napi::CallbackInfo& info) {
  int32_t owner;
  auto s = state(info, 2, &owner);
  auto ref = c10::make_intrusive<JsCallbackRef>(s, owner, argInt(info, 1));
  argNodeHere(info, 0)->add_pre_hook(std::make_unique<JsNodePreHook>(ref));
  return info.Env().Undefined();
}
Napi::Value removeHook(const Napi::CallbackInfo& info) {
  argTensor(info, 0).remove_hook(static_cast<unsigned>(argInt(info, 1)));
  return info.Env().Undefined();
}

}  // namespace

void registerAutograd(Registrar& r) {
  r.add<setAutogradDispatcher>("setAutogradDispatcher");
  r.add<setAutogradHelperThread>("setAutogradHelperThread");
  r.add<autogradReleased>("autogradReleased");
  r.add<functionApply>("functionApply");
  r.add<autogradExchange>("autogradExchange");
  r.add<functionName>("functionName");
  r.add<registerHook>("registerHook");
  r.add<nodeRegisterHook>("nodeRegisterHook");
  r.add<nodeRemoveHook>("nodeRemoveHook");
  r.add<nodeRegisterPrehook>("nodeRegisterPrehook");
  r.add<removeHook>("removeHook");
}

}  // namespace tstorch
