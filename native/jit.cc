// TorchScript: modules saved by Python's torch.jit.save (script or trace), loaded and run as
// they are. A JS ScriptModule holds an id into this environment's table of modules; tensors
// cross as handles, as everywhere else.
#include <torch/script.h>

#include "common.h"

namespace tstorch {

struct JitState {
  std::vector<std::unique_ptr<torch::jit::Module>> slots;
};

namespace {

JitState& state(const Napi::CallbackInfo& info) {
  auto& tbl = table(info);
  if (!tbl.jit) tbl.jit = std::make_shared<JitState>();
  return *tbl.jit;
}
torch::jit::Module& module(const Napi::CallbackInfo& info, size_t i) {
  auto& s = state(info);
  int32_t id = argInt(info, i);
  if (id < 0 || id >= static_cast<int32_t>(s.slots.size()) || !s.slots[id]) {
    throw std::runtime_error("tstorch: this TorchScript module was disposed");
  }
  return *s.slots[id];
}

// IValue -> JS: tensors as {t: handle} (so they are told apart from numbers), tuples and lists
// as arrays, string-keyed dicts as objects.
Napi::Value toJs(const Napi::CallbackInfo& info, const c10::IValue& v) {
  Napi::Env env = info.Env();
  if (v.isTensor()) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("t", Napi::Number::New(env, table(info).put(v.toTensor())));
    return o;
  }
  if (v.isNone()) return env.Null();
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isTuple() || v.isList() || v.isTensorList()) {
    std::vector<c10::IValue> items;
    if (v.isTuple()) items = v.toTupleRef().elements().vec();
    else if (v.isTensorList()) for (const at::Tensor& t : v.toTensorVector()) items.emplace_back(t);
    else items = v.toListRef().vec();
    Napi::Array arr = Napi::Array::New(env, items.size());
    for (size_t k = 0; k < items.size(); ++k) arr.Set(static_cast<uint32_t>(k), toJs(info, items[k]));
    return arr;
  }
  if (v.isGenericDict()) {
    Napi::Object obj = Napi::Object::New(env);
    for (const auto& kv : v.toGenericDict()) {
      if (!kv.key().isString()) throw std::runtime_error("tstorch: a TorchScript dict output needs string keys");
      obj.Set(kv.key().toStringRef(), toJs(info, kv.value()));
    }
    return obj;
  }
  throw std::runtime_error("tstorch: a TorchScript output of type " + v.tagKind() + " has no JS form");
}

// JS -> IValue: {t: handle} a tensor, numbers, booleans, strings, null, arrays (as tuples).
c10::IValue fromJs(const Napi::CallbackInfo& info, const Napi::Value& v) {
  if (v.IsNull() || v.IsUndefined()) return c10::IValue();
  if (v.IsBoolean()) return c10::IValue(v.As<Napi::Boolean>().Value());
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (d == static_cast<double>(static_cast<int64_t>(d))) return c10::IValue(static_cast<int64_t>(d));
    return c10::IValue(d);
  }
  if (v.IsString()) return c10::IValue(v.As<Napi::String>().Utf8Value());
  if (v.IsArray()) {
    Napi::Array a = v.As<Napi::Array>();
    std::vector<c10::IValue> items;
    for (uint32_t k = 0; k < a.Length(); ++k) items.push_back(fromJs(info, a.Get(k)));
    return c10::ivalue::Tuple::create(std::move(items));
  }
  if (v.IsObject() && v.As<Napi::Object>().Has("t")) {
    return c10::IValue(table(info).get(v.As<Napi::Object>().Get("t").As<Napi::Number>().Int32Value()));
  }
  throw std::runtime_error("tstorch: a TorchScript argument must be a Tensor, number, boolean, string, null or an array of them");
}

// jitLoad(path, device) -> id
Napi::Value jitLoad(const Napi::CallbackInfo& info) {
  std::string path = argString(info, 0);
  at::Device device = argDevice(info, 1);
  auto m = std::make_unique<torch::jit::Module>(torch::jit::load(path, device));
  auto& s = state(info);
  s.slots.push_back(std::move(m));
  return Napi::Number::New(info.Env(), static_cast<double>(s.slots.size() - 1));
}
// jitRun(id, method, args[]) -> output
Napi::Value jitRun(const Napi::CallbackInfo& info) {
  torch::jit::Module& m = module(info, 0);
  std::string name = argString(info, 1);
  Napi::Array a = info[2].As<Napi::Array>();
  std::vector<c10::IValue> args;
  for (uint32_t k = 0; k < a.Length(); ++k) args.push_back(fromJs(info, a.Get(k)));
  auto method = m.find_method(name);
  if (!method) throw std::runtime_error("tstorch: the TorchScript module has no method '" + name + "'");
  return toJs(info, (*method)(std::move(args)));
}
Napi::Value jitMethods(const Napi::CallbackInfo& info) {
  torch::jit::Module& m = module(info, 0);
  std::vector<std::string> names;
  for (const auto& method : m.get_methods()) names.push_back(method.name());
  Napi::Array arr = Napi::Array::New(info.Env(), names.size());
  for (size_t k = 0; k < names.size(); ++k) arr.Set(static_cast<uint32_t>(k), names[k]);
  return arr;
}
// jitNamed(id, buffers: bool) -> [names, handles]: every parameter (or buffer), recursively
Napi::Value jitNamed(const Napi::CallbackInfo& info) {
  torch::jit::Module& m = module(info, 0);
  Napi::Array names = Napi::Array::New(info.Env()), handles = Napi::Array::New(info.Env());
  uint32_t k = 0;
  auto add = [&](const std::string& n, const at::Tensor& t) {
    names.Set(k, n);
    handles.Set(k, Napi::Number::New(info.Env(), table(info).put(t)));
    ++k;
  };
  if (argBool(info, 1)) for (const auto& p : m.named_buffers()) add(p.name, p.value);
  else for (const auto& p : m.named_parameters()) add(p.name, p.value);
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, names);
  out.Set(1u, handles);
  return out;
}
Napi::Value jitTrain(const Napi::CallbackInfo& info) {
  module(info, 0).train(argBool(info, 1));
  return info.Env().Undefined();
}
// jitSave(id, path): torch.jit.save (the caller writes to a temporary path and renames it)
Napi::Value jitSave(const Napi::CallbackInfo& info) {
  module(info, 0).save(argString(info, 1));
  return info.Env().Undefined();
}
Napi::Value jitDispose(const Napi::CallbackInfo& info) {
  auto& s = state(info);
  int32_t id = argInt(info, 0);
  if (id >= 0 && id < static_cast<int32_t>(s.slots.size())) s.slots[id].reset();
  return info.Env().Undefined();
}

}  // namespace

void registerJit(Registrar& r) {
#define R(name) r.add<name>(#name)
  R(jitLoad); R(jitRun); R(jitMethods); R(jitNamed); R(jitTrain); R(jitSave); R(jitDispose);
#undef R
}

}  // namespace tstorch
