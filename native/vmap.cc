// torch.vmap on ATen's own batched tensors (the "legacy" vmap that torch._vmap_internals and
// torch.autograd.functional use; functorch's is another): a level per nested vmap; a batch dim
// is hidden in a tensor of that level (ops see the per-example shape) and brought out again at
// the end. Its headers were renamed Legacy* in libtorch 2.x. Built where this file compiles
// against the libtorch (CMakeLists.txt checks); elsewhere the calls say torch.vmap is missing.
#include "common.h"

#ifdef TSTORCH_WITH_VMAP
#if __has_include(<ATen/LegacyVmapMode.h>)
#include <ATen/LegacyBatchedTensorImpl.h>
#include <ATen/LegacyVmapMode.h>
#else
#include <ATen/BatchedTensorImpl.h>
#include <ATen/VmapMode.h>
#endif
#endif

namespace tstorch {
namespace {

#ifdef TSTORCH_WITH_VMAP
Napi::Value vmapIncrementNesting(const Napi::CallbackInfo& info) {
  int64_t level = at::impl::VmapMode::increment_nesting();
  ++keepAutogradLayer();
  return Napi::Number::New(info.Env(), static_cast<double>(level));
}
Napi::Value vmapDecrementNesting(const Napi::CallbackInfo& info) {
  int64_t level = at::impl::VmapMode::decrement_nesting();
  --keepAutogradLayer();
  return Napi::Number::New(info.Env(), static_cast<double>(level));
}
// addBatchDim(x, dim, level)
Napi::Value addBatchDim(const Napi::CallbackInfo& info) {
  return ret(info, at::_add_batch_dim(argTensor(info, 0), argInt64(info, 1), argInt64(info, 2)));
}
// isBatchedAt(x, level): whether x carries a batch dim of that vmap level
Napi::Value isBatchedAt(const Napi::CallbackInfo& info) {
  const at::Tensor& t = argTensor(info, 0);
  int64_t level = argInt64(info, 1);
  auto* impl = at::maybeGetBatchedImpl(t);
  bool found = false;
  if (impl) {
    for (const auto& bdim : impl->bdims()) found = found || bdim.level() == level;
  }
  return Napi::Boolean::New(info.Env(), found);
}
// removeBatchDim(x, level, batchSize, outDim)
Napi::Value removeBatchDim(const Napi::CallbackInfo& info) {
  return ret(info, at::_remove_batch_dim(argTensor(info, 0), argInt64(info, 1), argInt64(info, 2), argInt64(info, 3)));
}
#else
Napi::Value vmapMissing(const Napi::CallbackInfo&) {
  throw std::runtime_error(
      "torch.vmap: this addon was built against a libtorch whose batched-tensor API native/vmap.cc "
      "does not compile with (see the build log); use a loop, or torch.func on another libtorch");
}
Napi::Value vmapIncrementNesting(const Napi::CallbackInfo& info) { return vmapMissing(info); }
Napi::Value vmapDecrementNesting(const Napi::CallbackInfo& info) { return vmapMissing(info); }
Napi::Value addBatchDim(const Napi::CallbackInfo& info) { return vmapMissing(info); }
Napi::Value isBatchedAt(const Napi::CallbackInfo& info) { return vmapMissing(info); }
Napi::Value removeBatchDim(const Napi::CallbackInfo& info) { return vmapMissing(info); }
#endif

}  // namespace

void registerVmap(Registrar& r) {
  r.add<vmapIncrementNesting>("vmapIncrementNesting");
  r.add<vmapDecrementNesting>("vmapDecrementNesting");
  r.add<addBatchDim>("addBatchDim");
  r.add<isBatchedAt>("isBatchedAt");
  r.add<removeBatchDim>("removeBatchDim");
}

}  // namespace tstorch
