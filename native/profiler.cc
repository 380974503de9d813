// torch.profiler: libtorch's profiler (the one Python's torch.profiler drives) switched on and off,
// its events handed to JS as plain objects; the event tree, averages, tables and traces are built
// in TS (lib/tensor/profiler.ts). Also record_function's user ranges.
#include <ATen/record_function.h>
#include <torch/csrc/autograd/profiler_kineto.h>

#include <unordered_map>

#include "common.h"

namespace tstorch {
namespace {

namespace prof = torch::autograd::profiler;
namespace impl = torch::profiler::impl;

// An event's start and duration in microseconds: libtorch 1.x has startUs/durationUs, 2.x only
// startNs/durationNs (the overload taking int wins where the Us members exist).
template <typename E>
auto eventStartUs(const E& e, int) -> decltype(static_cast<double>(e.startUs())) { return static_cast<double>(e.startUs()); }
template <typename E>
double eventStartUs(const E& e, long) { return static_cast<double>(e.startNs()) / 1000.0; }
template <typename E>
auto eventDurationUs(const E& e, int) -> decltype(static_cast<double>(e.durationUs())) { return static_cast<double>(e.durationUs()); }
template <typename E>
double eventDurationUs(const E& e, long) { return static_cast<double>(e.durationNs()) / 1000.0; }

// profilerStart(recordShapes, profileMemory, withFlops, cuda)
Napi::Value profilerStart(const Napi::CallbackInfo& info) {
  impl::ProfilerConfig config(impl::ProfilerState::KINETO, info[0].As<Napi::Boolean>(), info[1].As<Napi::Boolean>(),
                              /*with_stack=*/false, info[2].As<Napi::Boolean>(), /*with_modules=*/false);
  std::set<impl::ActivityType> activities{impl::ActivityType::CPU};
  if (info[3].As<Napi::Boolean>()) activities.insert(impl::ActivityType::CUDA);
  prof::prepareProfiler(config, activities);
  prof::enableProfiler(config, activities);
  ++keepAutogradLayer();
  return info.Env().Undefined();
}

// profilerStop(): the events, each { name, startUs, durationUs, threadId, shapes, dtypes, flops,
// nBytes, deviceType, deviceIndex, sequenceNr, fwdThreadId, scope, correlationId }
Napi::Value profilerStop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::unique_ptr<prof::ProfilerResult> result = prof::disableProfiler();
  --keepAutogradLayer();
  const auto& events = result->events();
  Napi::Array out = Napi::Array::New(env, events.size());
  uint32_t k = 0;
  for (const auto& e : events) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", e.name());
    o.Set("startUs", eventStartUs(e, 0));
    o.Set("durationUs", eventDurationUs(e, 0));
    o.Set("threadId", static_cast<double>(e.startThreadId()));
    Napi::Array shapes = Napi::Array::New(env);
    if (e.hasShapes()) {
      uint32_t s = 0;
      for (const auto& shape : e.shapes()) {
        Napi::Array dims = Napi::Array::New(env, shape.size());
        for (size_t d = 0; d < shape.size(); ++d) dims.Set(static_cast<uint32_t>(d), static_cast<double>(shape[d]));
        shapes.Set(s++, dims);
      }
    }
    o.Set("shapes", shapes);
    Napi::Array dtypes = Napi::Array::New(env);
    if (e.hasTypes()) {
      uint32_t s = 0;
      for (const auto& t : e.dtypes()) dtypes.Set(s++, t);
    }
    o.Set("dtypes", dtypes);
    o.Set("flops", static_cast<double>(e.flops()));
    o.Set("nBytes", static_cast<double>(e.nBytes()));
    o.Set("deviceType", static_cast<double>(static_cast<int>(e.deviceType())));
    o.Set("deviceIndex", static_cast<double>(e.deviceIndex()));
    o.Set("sequenceNr", static_cast<double>(e.sequenceNr()));
    o.Set("fwdThreadId", static_cast<double>(e.fwdThreadId()));
    o.Set("scope", static_cast<double>(e.scope()));
    o.Set("correlationId", static_cast<double>(e.correlationId()));
    o.Set("activityType", static_cast<double>(e.activityType()));
    out.Set(k++, o);
  }
  return out;
}

// Open record_function ranges by handle (ended in any order JS ends them).
std::unordered_map<int32_t, std::unique_ptr<at::RecordFunction>>& openRanges() {
  static std::unordered_map<int32_t, std::unique_ptr<at::RecordFunction>> ranges;
  return ranges;
}

// recordFunctionEnter(name): a user range (at::RecordScope::USER_SCOPE) begins; its handle
Napi::Value recordFunctionEnter(const Napi::CallbackInfo& info) {
  static int32_t next = 0;
  auto rec = std::make_unique<at::RecordFunction>(at::RecordScope::USER_SCOPE);
  if (rec->isActive()) rec->before(info[0].As<Napi::String>().Utf8Value());
  int32_t h = next++;
  openRanges().emplace(h, std::move(rec));
  return Napi::Number::New(info.Env(), h);
}

// recordFunctionExit(handle)
Napi::Value recordFunctionExit(const Napi::CallbackInfo& info) {
  auto it = openRanges().find(argInt(info, 0));
  if (it == openRanges().end()) throw std::runtime_error("tstorch: record_function range already ended");
  it->second->end();
  openRanges().erase(it);
  return info.Env().Undefined();
}

Napi::Value profilerEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), impl::ProfilerStateBase::get() != nullptr);
}

}  // namespace

void registerProfiler(Registrar& r) {
#define R(name) r.add<name>(#name)
  R(profilerStart); R(profilerStop); R(recordFunctionEnter); R(recordFunctionExit); R(profilerEnabled);
#undef R
}

}  // namespace tstorch
