// CUDA caching-allocator statistics (torch.cuda.memory_allocated / max_memory_allocated /
// memory_reserved / reset_peak_memory_stats / empty_cache). Built in CUDA builds where this file
// compiles against the libtorch's allocator API (CMakeLists.txt checks); elsewhere the calls
// report that there are no CUDA statistics.
#include "common.h"

#ifdef TSTORCH_WITH_CUDA_STATS
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace tstorch {
namespace {

// cudaMemoryStats(device) -> {allocated, peakAllocated, reserved, peakReserved} in bytes, or null.
Napi::Value cudaMemoryStats(const Napi::CallbackInfo& info) {
#ifdef TSTORCH_WITH_CUDA_STATS
  auto device = static_cast<c10::DeviceIndex>(argInt(info, 0));
  const auto s = c10::cuda::CUDACachingAllocator::getDeviceStats(device);
  // Index 0 of each stat array is the aggregate over small and large pools.
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("allocated", static_cast<double>(s.allocated_bytes[0].current));
  o.Set("peakAllocated", static_cast<double>(s.allocated_bytes[0].peak));
  o.Set("reserved", static_cast<double>(s.reserved_bytes[0].current));
  o.Set("peakReserved", static_cast<double>(s.reserved_bytes[0].peak));
  return o;
#else
  return info.Env().Null();
#endif
}

Napi::Value cudaResetPeakMemoryStats(const Napi::CallbackInfo& info) {
#ifdef TSTORCH_WITH_CUDA_STATS
  c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(argInt(info, 0)));
#endif
  return info.Env().Undefined();
}

Napi::Value cudaEmptyCache(const Napi::CallbackInfo& info) {
#ifdef TSTORCH_WITH_CUDA_STATS
  c10::cuda::CUDACachingAllocator::emptyCache();
#endif
  return info.Env().Undefined();
}

}  // namespace

void registerCudaMemory(Registrar& r) {
  r.add<cudaMemoryStats>("cudaMemoryStats");
  r.add<cudaResetPeakMemoryStats>("cudaResetPeakMemoryStats");
  r.add<cudaEmptyCache>("cudaEmptyCache");
}

}  // namespace tstorch
