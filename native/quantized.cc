// Dynamically quantized linear layers (torch.ao.nn.quantized.dynamic.Linear): the weight as int8
// packed by the quantized engine (onednn / qnnpack / fbgemm, whichever libtorch has), the input
// quantized per call. The packed weight crosses as an External, freed with its JS object.
#include <ATen/native/quantized/PackedParams.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include "common.h"

namespace tstorch {
namespace {

using Packed = c10::intrusive_ptr<LinearPackedParamsBase>;

const Packed& argPacked(const Napi::CallbackInfo& info, size_t i) {
  return *info[i].As<Napi::External<Packed>>().Data();
}

// quantizedLinearPack(weight [out, in] float, scale, zeroPoint, bias | -1): the int8 weight, packed
Napi::Value quantizedLinearPack(const Napi::CallbackInfo& info) {
  static auto prepack = c10::Dispatcher::singleton()
                            .findSchemaOrThrow("quantized::linear_prepack", "")
                            .typed<Packed(at::Tensor, c10::optional<at::Tensor>)>();
  at::Tensor q = at::quantize_per_tensor(argTensor(info, 0).detach().to(at::kFloat).contiguous(), argDouble(info, 1), argInt64(info, 2), at::kQInt8);
  c10::optional<at::Tensor> bias = optT(info, 3);
  if (bias) bias = bias->detach().to(at::kFloat).contiguous();
  Packed packed = prepack.call(q, bias);
  return Napi::External<Packed>::New(info.Env(), new Packed(std::move(packed)), [](Napi::Env, Packed* p) { delete p; });
}

// quantizedLinearDynamic(x, packed, reduceRange): y = x W^T + b, x quantized to uint8 for the product
Napi::Value quantizedLinearDynamic(const Napi::CallbackInfo& info) {
  const at::Tensor& x = argTensor(info, 0);
  if (x.scalar_type() != at::kFloat) throw std::runtime_error("tstorch: a dynamically quantized linear layer takes float32 input, got " + std::string(c10::toString(x.scalar_type())));
  at::AutoDispatchBelowADInplaceOrView guard;  // (no autograd: an inference-only kernel)
  return ret(info, argPacked(info, 1)->apply_dynamic(x.contiguous(), argBool(info, 2)));
}

// quantizedLinearUnpack(packed): [weight (dequantized float), bias | -1]
Napi::Value quantizedLinearUnpack(const Napi::CallbackInfo& info) {
  auto r = argPacked(info, 0)->unpack();
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, Napi::Number::New(info.Env(), table(info).put(std::get<0>(r).dequantize())));
  const auto& b = std::get<1>(r);
  out.Set(1u, Napi::Number::New(info.Env(), b ? table(info).put(*b) : -1));
  return out;
}

// quantizedEngine(): the engine libtorch uses for quantized ops ("onednn", "qnnpack", "fbgemm", ...)
Napi::Value quantizedEngine(const Napi::CallbackInfo& info) {
  std::string name = c10::toString(at::globalContext().qEngine());
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return Napi::String::New(info.Env(), name);
}

}  // namespace

void registerQuantized(Registrar& r) {
#define R(name) r.add<name>(#name)
  R(quantizedLinearPack); R(quantizedLinearDynamic); R(quantizedLinearUnpack); R(quantizedEngine);
#undef R
}

}  // namespace tstorch
