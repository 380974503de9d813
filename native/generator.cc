// torch.Generator: random number generators of one's own (a CPU or CUDA generator each), that
// the random ops take instead of the device's default one. A generator crosses as a handle into
// this environment's generator table, as tensors do into theirs.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>

#include "common.h"

namespace tstorch {

struct GeneratorState {
  std::vector<c10::optional<at::Generator>> slots;
  std::vector<int32_t> free;
};

namespace {

GeneratorState& state(const Napi::CallbackInfo& info) {
  TensorTable& tbl = table(info);
  if (!tbl.generators) tbl.generators = std::make_shared<GeneratorState>();
  return *tbl.generators;
}

at::Generator& get(const Napi::CallbackInfo& info, size_t i) {
  GeneratorState& s = state(info);
  int32_t h = argInt(info, i);
  if (h < 0 || h >= static_cast<int32_t>(s.slots.size()) || !s.slots[h]) {
    throw std::runtime_error("tstorch: generator handle " + std::to_string(h) + " is not live (it was disposed)");
  }
  return *s.slots[h];
}

// PyTorch's default seed of a fresh generator (c10::detail::default_rng_seed_val).
constexpr uint64_t kDefaultSeed = 67280421310721ULL;

int32_t put(const Napi::CallbackInfo& info, const at::Generator& gen) {
  GeneratorState& s = state(info);
  int32_t h;
  if (!s.free.empty()) {
    h = s.free.back();
    s.free.pop_back();
    s.slots[h] = gen;
  } else {
    h = static_cast<int32_t>(s.slots.size());
    s.slots.push_back(gen);
  }
  return h;
}

// generatorNew(device): a fresh generator of the device's kind, seeded as torch.Generator() is.
Napi::Value generatorNew(const Napi::CallbackInfo& info) {
  at::Device d = argDevice(info, 0);
  at::Generator gen = d.is_cpu() ? at::make_generator<at::CPUGeneratorImpl>(kDefaultSeed)
                                 : at::globalContext().defaultGenerator(d).clone();
  if (!d.is_cpu()) gen.set_current_seed(kDefaultSeed);  // a clone carries the default's state
  return Napi::Number::New(info.Env(), put(info, gen));
}
// generatorDefault(device): a handle on the device's default generator itself (torch.default_generator:
// what ops without a generator draw from); freeing the handle leaves the generator as it is.
Napi::Value generatorDefault(const Napi::CallbackInfo& info) {
  at::Device d = argDevice(info, 0);
  return Napi::Number::New(info.Env(), put(info, d.is_cpu() ? at::detail::getDefaultCPUGenerator() : at::globalContext().defaultGenerator(d)));
}
Napi::Value generatorFree(const Napi::CallbackInfo& info) {
  GeneratorState& s = state(info);
  int32_t h = argInt(info, 0);
  if (h >= 0 && h < static_cast<int32_t>(s.slots.size()) && s.slots[h]) {
    s.slots[h].reset();
    s.free.push_back(h);
  }
  return info.Env().Undefined();
}
// generatorManualSeed(g, seed as a decimal string: seeds are 64-bit)
Napi::Value generatorManualSeed(const Napi::CallbackInfo& info) {
  at::Generator& gen = get(info, 0);
  uint64_t seed = std::stoull(argString(info, 1));
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_current_seed(seed);
  return info.Env().Undefined();
}
// generatorSeed(g): seeds from a non-deterministic source; returns the seed (as a string)
Napi::Value generatorSeed(const Napi::CallbackInfo& info) {
  at::Generator& gen = get(info, 0);
  std::lock_guard<std::mutex> lock(gen.mutex());
  uint64_t seed = c10::detail::getNonDeterministicRandom(gen.device().is_cuda());
  gen.set_current_seed(seed);
  return Napi::String::New(info.Env(), std::to_string(seed));
}
Napi::Value generatorInitialSeed(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), std::to_string(get(info, 0).current_seed()));
}
Napi::Value generatorDevice(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), deviceCode(get(info, 0).device()));
}
Napi::Value generatorGetState(const Napi::CallbackInfo& info) { return generatorState(info.Env(), get(info, 0)); }
Napi::Value generatorSetState(const Napi::CallbackInfo& info) {
  setGeneratorState(get(info, 0), info[1].As<Napi::Buffer<uint8_t>>());
  return info.Env().Undefined();
}

}  // namespace

Napi::Value generatorState(Napi::Env env, at::Generator& gen) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  at::Tensor st = gen.get_state();
  Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::New(env, st.nbytes());
  std::memcpy(buf.Data(), st.data_ptr(), st.nbytes());
  return buf;
}
void setGeneratorState(at::Generator& gen, const Napi::Buffer<uint8_t>& buf) {
  at::Tensor st = at::empty({static_cast<int64_t>(buf.Length())}, at::kByte);
  std::memcpy(st.data_ptr(), buf.Data(), buf.Length());
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(st);
}

c10::optional<at::Generator> optGenerator(const Napi::CallbackInfo& info, size_t i) {
  if (isNullish(info, i) || argInt(info, i) < 0) return c10::nullopt;
  return get(info, i);
}

void registerGenerator(Registrar& r) {
#define R(name) r.add<name>(#name)
  R(generatorNew); R(generatorDefault); R(generatorFree); R(generatorManualSeed); R(generatorSeed); R(generatorInitialSeed);
  R(generatorDevice); R(generatorGetState); R(generatorSetState);
#undef R
}

}  // namespace tstorch
