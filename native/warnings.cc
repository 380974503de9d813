// libtorch's warnings (TORCH_WARN, TORCH_WARN_ONCE) as Node warnings: process.emitWarning, as
// PyTorch makes them Python warnings. Without this they go to glog on stderr ("WARNING: Logging
// before InitGoogleLogging() ..."), out of reach of process.on('warning') and --no-warnings.
//
// A warning may be raised on any thread (intra-op workers, autograd's), so the handler only
// queues it; guarded() (common.h) emits the queue on the JS thread after the call that raised it.
// Each distinct message is emitted once per process (Python's default warnings filter shows a
// warning once per place), every time while setWarnAlways(true) (which also makes libtorch's
// TORCH_WARN_ONCE fire every time, as torch.set_warn_always).
//
// The handler's API moved in libtorch 2.0 (a Warning object; c10::WarningUtils). CMake builds
// the handler only where this file compiles with TSTORCH_WITH_WARNINGS (a try_compile): an
// unknown libtorch still gets a working addon whose warnings go where libtorch sends them.
#include <torch/version.h>

#include <atomic>
#include <mutex>
#include <unordered_set>

#include "common.h"

namespace tstorch {

std::atomic<bool> warningsPending{false};

#ifdef TSTORCH_WITH_WARNINGS
#if TORCH_VERSION_MAJOR >= 2
namespace warning_api = c10::WarningUtils;
#else
namespace warning_api = c10::Warning;
#endif

namespace {

struct QueuedWarning {
  const char* type;  // Node's warning name: UserWarning or DeprecationWarning, as Python's category
  std::string text;
};

// (never freed: libtorch may warn from static destructors at exit, after ours would have run)
struct WarningQueue {
  std::mutex mutex;
  std::vector<QueuedWarning> queued;
  std::unordered_set<std::string> shown;
};
WarningQueue& warningQueue() {
  static auto* q = new WarningQueue();
  return *q;
}

// The message without C++ stack frames ("frame #0: ..." lines, which anomaly mode appends as the
// forward's traceback; Python shows its own there, and libtorch's frames say nothing of the JS).
std::string withoutFrames(const std::string& msg) {
  size_t cut = msg.find("\nframe #");
  if (cut == std::string::npos) return msg;
  std::string text = msg.substr(0, cut);
  const std::string dangling = " Traceback of forward call that caused the error:";
  if (text.size() >= dangling.size() && text.compare(text.size() - dangling.size(), dangling.size(), dangling) == 0) {
    text.erase(text.size() - dangling.size());
  }
  return text;
}

void record(const c10::SourceLocation& where, const std::string& raw, bool verbatim, bool deprecation) {
  // (as PyTorch's Python handler words it: where in libtorch, unless the message says it itself)
  const std::string msg = withoutFrames(raw);
  std::string text = verbatim ? msg
                              : msg + " (Triggered internally at " + where.file + ":" +
                                    std::to_string(where.line) + ".)";
  WarningQueue& q = warningQueue();
  std::lock_guard<std::mutex> lock(q.mutex);
  q.queued.push_back({deprecation ? "DeprecationWarning" : "UserWarning", std::move(text)});
  warningsPending.store(true, std::memory_order_release);
}

class NodeWarningHandler : public c10::WarningHandler {
 public:
#if TORCH_VERSION_MAJOR >= 2
  // (the warning's type is variant<UserWarning, DeprecationWarning>)
  void process(const c10::Warning& w) override {
    record(w.source_location(), w.msg(), w.verbatim(), w.type().index() == 1);
  }
#else
  void process(const c10::SourceLocation& where, const std::string& msg, const bool verbatim) override {
    record(where, msg, verbatim, false);
  }
#endif
};

}  // namespace

void installWarningHandler() {
  static std::once_flag once;
  std::call_once(once, [] { warning_api::set_warning_handler(new NodeWarningHandler()); });
}

void emitPendingWarnings(Napi::Env env) {
  WarningQueue& q = warningQueue();
  std::vector<QueuedWarning> batch;
  const bool always = warning_api::get_warnAlways();
  {
    std::lock_guard<std::mutex> lock(q.mutex);
    batch.swap(q.queued);
    warningsPending.store(false, std::memory_order_release);
    if (!always) {
      batch.erase(std::remove_if(batch.begin(), batch.end(), [&](const QueuedWarning& w) { return !q.shown.insert(w.text).second; }),
                  batch.end());
    }
  }
  if (batch.empty()) return;
  Napi::Object process = env.Global().Get("process").As<Napi::Object>();
  Napi::Value emit = process.Get("emitWarning");
  if (!emit.IsFunction()) return;
  for (const QueuedWarning& w : batch) {
    try {
      emit.As<Napi::Function>().Call(process, {Napi::String::New(env, w.text), Napi::String::New(env, w.type)});
    } catch (const Napi::Error&) {
      // (a replaced emitWarning that throws must not lose the op's result)
    }
  }
}

namespace {
// setWarnAlways(on): torch.set_warn_always; isWarnAlwaysEnabled()
Napi::Value setWarnAlways(const Napi::CallbackInfo& info) {
  warning_api::set_warnAlways(argBool(info, 0));
  return info.Env().Undefined();
}
Napi::Value isWarnAlwaysEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), warning_api::get_warnAlways());
}
}  // namespace

#else  // (a libtorch whose warning API this file does not know: its warnings stay on stderr)

void installWarningHandler() {}
void emitPendingWarnings(Napi::Env) {}

namespace {
Napi::Value setWarnAlways(const Napi::CallbackInfo&) {
  throw std::runtime_error("setWarnAlways: this build of tstorch does not know its libtorch's warning API (see the build's 'tstorch: libtorch warnings' line)");
}
Napi::Value isWarnAlwaysEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), false);
}
}  // namespace

#endif

void registerWarnings(Registrar& r) {
  r.add<setWarnAlways>("setWarnAlways");
  r.add<isWarnAlwaysEnabled>("isWarnAlwaysEnabled");
}

}  // namespace tstorch
