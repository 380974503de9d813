// Tensor lifecycle: creation, copies in and out of JS memory, metadata, autograd, memory
// counters, RNG, threads, build information. One binding per libtorch call.
#include <torch/cuda.h>
#include <torch/version.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/anomaly_mode.h>
#include <torch/csrc/autograd/forward_grad.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/accumulate_grad.h>
#include <cerrno>
#include <cmath>
#include <sstream>
#include <climits>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <cstdio>
#include <cstring>
#include <unordered_set>

#include "common.h"

namespace tstorch {

std::string describeJs(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsArray()) return "an array";
  if (v.IsString()) return "a string \"" + v.As<Napi::String>().Utf8Value() + "\"";
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsObject()) return "an object (an options object where a number goes?)";
  return "a value of another kind";
}

int64_t wholeNumber(const Napi::Value& v, const char* what) {
  double d;
  if (napi_get_value_double(v.Env(), v, &d) != napi_ok) {
    throw std::runtime_error(std::string("tstorch: ") + what + " must be a number, got " + describeJs(v));
  }
  if (!(std::isfinite(d) && std::floor(d) == d)) {
    std::ostringstream msg;
    msg << "tstorch: " << what << " must be a whole number, got " << d;
    throw std::runtime_error(msg.str());
  }
  return v.As<Napi::Number>().Int64Value();
}

std::vector<int64_t> argInts(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsArray()) throw std::runtime_error("tstorch: expected a list of sizes or dims (an array such as [2, 3]), got " + describeJs(info[i]));
  Napi::Array arr = info[i].As<Napi::Array>();
  uint32_t n = arr.Length();
  std::vector<int64_t> out(n);
  for (uint32_t k = 0; k < n; ++k) out[k] = wholeNumber(arr.Get(k), "a size, dim or index in a list");
  return out;
}

std::vector<at::Tensor> argTensors(const Napi::CallbackInfo& info, size_t i) {
  Napi::Array arr = info[i].As<Napi::Array>();
  uint32_t n = arr.Length();
  std::vector<at::Tensor> out;
  out.reserve(n);
  for (uint32_t k = 0; k < n; ++k) {
    out.push_back(table(info).get(arr.Get(k).As<Napi::Number>().Int32Value()));
  }
  return out;
}

at::Scalar argScalar(const Napi::CallbackInfo& info, size_t i) {
  Napi::Value v = info[i];
  if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
  double d;
  if (napi_get_value_double(v.Env(), v, &d) != napi_ok) {
    throw std::runtime_error("tstorch: expected a number (or a boolean) as a scalar, got " + describeJs(v));
  }
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0) {
    return at::Scalar(static_cast<int64_t>(d));
  }
  return at::Scalar(d);
}

at::ScalarType argDtype(const Napi::CallbackInfo& info, size_t i) {
  int32_t code = argInt(info, i);
  if (code < 0 || code >= static_cast<int32_t>(at::ScalarType::NumOptions)) {
    throw std::runtime_error("tstorch: unknown dtype code " + std::to_string(code));
  }
  return static_cast<at::ScalarType>(code);
}

at::Device argDevice(const Napi::CallbackInfo& info, size_t i) {
  int32_t code = argInt(info, i);
  if (code == -2) return at::Device(at::kMeta);  // shapes and dtypes, no memory (torch.device('meta'))
  if (code < 0) return at::Device(at::kCPU);
  // Every op's device argument passes here: a clear word instead of libtorch's "Could not run
  // 'aten::empty_strided' with arguments from the 'CUDA' backend ..." in a CPU-only build.
  static const int32_t cudaDevices = static_cast<int32_t>(torch::cuda::device_count());
  if (code >= cudaDevices) {
    const std::string dev = "tstorch: device 'cuda:" + std::to_string(code) + "' ";
#ifndef TSTORCH_WITH_CUDA
    throw std::runtime_error(dev + "is not available: this addon is built against a CPU-only libtorch (to use a GPU, "
                             "build it against a CUDA libtorch: see the README); use 'cpu'");
#else
    if (cudaDevices == 0) throw std::runtime_error(dev + "is not available: no CUDA device is visible to this process; use 'cpu'");
    throw std::runtime_error(dev + "does not exist: this machine has " + std::to_string(cudaDevices) +
                             " CUDA device(s), cuda:0 to cuda:" + std::to_string(cudaDevices - 1));
#endif
  }
  return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(code));
}

int32_t deviceCode(const at::Device& d) {
  if (d.is_cpu()) return -1;
  if (d.is_cuda()) return d.has_index() ? d.index() : 0;
  if (d.is_meta()) return -2;
  return -3;  // another device type; the TS side reports it by name
}

c10::optional<at::MemoryFormat> optMemoryFormat(const Napi::CallbackInfo& info, size_t i) {
  if (isNullish(info, i) || argInt(info, i) < 0) return c10::nullopt;
  int32_t code = argInt(info, i);
  if (code >= static_cast<int32_t>(at::MemoryFormat::NumOptions)) throw std::runtime_error("tstorch: unknown memory format code " + std::to_string(code));
  return static_cast<at::MemoryFormat>(code);
}

at::TensorOptions argOptions(const Napi::CallbackInfo& info, size_t dtypeIdx, size_t deviceIdx) {
  return at::TensorOptions().dtype(argDtype(info, dtypeIdx)).device(argDevice(info, deviceIdx));
}

Napi::Value retList(const Napi::CallbackInfo& info, const std::vector<at::Tensor>& ts) {
  Napi::Array arr = Napi::Array::New(info.Env(), ts.size());
  for (size_t k = 0; k < ts.size(); ++k) {
    arr.Set(static_cast<uint32_t>(k), Napi::Number::New(info.Env(), table(info).put(ts[k])));
  }
  return arr;
}

Napi::Value retPair(const Napi::CallbackInfo& info, at::Tensor a, at::Tensor b) {
  return retList(info, {std::move(a), std::move(b)});
}

namespace {

// ---------- creation ----------

// fromData(typedArray, shape, dtype, device): copies JS memory into a new tensor.
Napi::Value fromData(const Napi::CallbackInfo& info) {
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  at::ScalarType src;
  switch (ta.TypedArrayType()) {
    case napi_float32_array: src = at::kFloat; break;
    case napi_float64_array: src = at::kDouble; break;
    case napi_int32_array: src = at::kInt; break;
    case napi_bigint64_array: src = at::kLong; break;
    case napi_int16_array: src = at::kShort; break;
    case napi_int8_array: src = at::kChar; break;
    case napi_uint8_array:
    case napi_uint8_clamped_array: src = at::kByte; break;
    default: throw std::runtime_error("tstorch.tensor: unsupported typed array type");
  }
  std::vector<int64_t> shape = argInts(info, 1);
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  if (n != static_cast<int64_t>(ta.ElementLength())) {
    throw std::runtime_error("tstorch.tensor: data has " + std::to_string(ta.ElementLength()) +
                             " elements but shape needs " + std::to_string(n));
  }
  uint8_t* base = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  at::Tensor view = at::from_blob(base, shape, at::TensorOptions().dtype(src));
  at::TensorOptions opts = argOptions(info, 2, 3);
  // .to() copies when dtype or device differ; clone() otherwise (the JS buffer may go away).
  at::Tensor t = (opts.dtype() == view.dtype() && opts.device().is_cpu())
                     ? view.clone()
                     : view.to(opts, /*non_blocking=*/false, /*copy=*/true);
  return ret(info, t);
}

// fromBytes(uint8array, shape, dtype, device): raw little-endian bytes of `dtype` (safetensors).
Napi::Value fromBytes(const Napi::CallbackInfo& info) {
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  std::vector<int64_t> shape = argInts(info, 1);
  at::ScalarType dtype = argDtype(info, 2);
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  size_t need = static_cast<size_t>(n) * c10::elementSize(dtype);
  if (need != ta.ByteLength()) {
    throw std::runtime_error("tstorch: " + std::to_string(ta.ByteLength()) + " bytes given, shape " +
                             c10::str(at::IntArrayRef(shape)) + " of " + c10::toString(dtype) +
                             " needs " + std::to_string(need));
  }
  uint8_t* base = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  at::Tensor view = at::from_blob(base, shape, at::TensorOptions().dtype(dtype));
  at::Device dev = argDevice(info, 3);
  return ret(info, dev.is_cpu() ? view.clone() : view.to(dev));
}

// Fresh memory about to be filled whole (a weight read from a file): asked to be backed by
// transparent huge pages where the kernel offers them on request (THP "madvise"), so that a
// model's worth of weights costs thousands of page faults, not hundreds of thousands.
static void adviseHugePages(void* p, size_t n) {
  constexpr uintptr_t kHuge = 2u << 20;
  uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(p) + n) & ~(kHuge - 1);
#ifdef MADV_HUGEPAGE
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);  // (advice: failure is harmless)
#endif
}

// fromFile(path, offset, shape, dtype, device): reads nbytes at offset straight into a new
// tensor's memory (no staging copy in JS; the safetensors reader validates offsets first).
Napi::Value fromFile(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int64_t offset = argInt64(info, 1);
  std::vector<int64_t> shape = argInts(info, 2);
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(argDtype(info, 3)));
  size_t need = t.nbytes();
  adviseHugePages(t.data_ptr(), need);
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("tstorch: cannot open " + path + ": " + std::strerror(errno));
  bool ok = fseeko(f, offset, SEEK_SET) == 0 &&
            (need == 0 || std::fread(t.data_ptr(), 1, need, f) == need);
  std::fclose(f);
  if (!ok) {
    throw std::runtime_error("tstorch: " + path + ": could not read " + std::to_string(need) +
                             " bytes at offset " + std::to_string(offset) + " (file truncated?)");
  }
  at::Device dev = argDevice(info, 4);
  return ret(info, dev.is_cpu() ? t : t.to(dev));
}

// mapFile(path, offset, shape, dtype): the bytes at offset as a CPU tensor over a private
// mapping of the file (PyTorch's torch.load(mmap=True), safetensors' safe_open): nothing read
// until touched, pages shared with the page cache (and with other processes mapping the file);
// a write to the tensor copies the page it touches, never reaching the file. The mapping lives
// as long as the tensor's memory.
Napi::Value mapFile(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int64_t offset = argInt64(info, 1);
  std::vector<int64_t> shape = argInts(info, 2);
  at::ScalarType dtype = argDtype(info, 3);
  int64_t numel = 1;
  for (int64_t s : shape) numel *= s;
  size_t need = static_cast<size_t>(numel) * c10::elementSize(dtype);
  if (offset < 0 || offset % static_cast<int64_t>(c10::elementSize(dtype)) != 0) {
    throw std::runtime_error("tstorch: mapFile: offset " + std::to_string(offset) + " is not a whole number of " +
                             c10::toString(dtype) + " elements");
  }
  if (need == 0) return ret(info, at::empty(shape, at::TensorOptions().dtype(dtype)));
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("tstorch: cannot open " + path + ": " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) < static_cast<uint64_t>(offset) + need) {
    close(fd);
    throw std::runtime_error("tstorch: " + path + ": could not map " + std::to_string(need) + " bytes at offset " +
                             std::to_string(offset) + " (file truncated?)");
  }
  // (a mapping starts on a page: the tensor's data is `delta` bytes into it)
  const int64_t page = sysconf(_SC_PAGESIZE);
  const int64_t start = offset - offset % page;
  const size_t delta = static_cast<size_t>(offset - start), length = delta + need;
  void* base = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, start);
  int mapErr = errno;
  close(fd);  // (the mapping keeps the file open)
  if (base == MAP_FAILED) throw std::runtime_error("tstorch: cannot map " + path + ": " + std::strerror(mapErr));
  at::Tensor t = at::from_blob(
      static_cast<uint8_t*>(base) + delta, shape, [base, length](void*) { munmap(base, length); },
      at::TensorOptions().dtype(dtype));
  return ret(info, t);
}

// fromFileShared(path, size, dtype): at::from_file(shared=true): the file's first size elements,
// mapped shared (writes reach the file; a file too small, or missing, is made that size).
Napi::Value fromFileShared(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>().Utf8Value();
  return ret(info, at::from_file(path, true, argInt64(info, 1), at::TensorOptions().dtype(argDtype(info, 2))));
}

Napi::Value zeros(const Napi::CallbackInfo& info) {
  FACTORY_GUARD;
  return ret(info, at::zeros(argInts(info, 0), argOptions(info, 1, 2)));
}
Napi::Value ones(const Napi::CallbackInfo& info) {
  FACTORY_GUARD;
  return ret(info, at::ones(argInts(info, 0), argOptions(info, 1, 2)));
}
Napi::Value empty(const Napi::CallbackInfo& info) {
  FACTORY_GUARD;
  return ret(info, at::empty(argInts(info, 0), argOptions(info, 1, 2)));
}
Napi::Value full(const Napi::CallbackInfo& info) {
  FACTORY_GUARD;
  return ret(info, at::full(argInts(info, 0), argScalar(info, 1), argOptions(info, 2, 3)));
}
Napi::Value arange(const Napi::CallbackInfo& info) {
  FACTORY_GUARD;
  return ret(info, at::arange(argScalar(info, 0), argScalar(info, 1), argScalar(info, 2),
                              argOptions(info, 3, 4)));
}
Napi::Value randn(const Napi::CallbackInfo& info) {
  FACTORY_GUARD;
  return ret(info, at::randn(argInts(info, 0), optGenerator(info, 3), argOptions(info, 1, 2)));
}
Napi::Value rand(const Napi::CallbackInfo& info) {
  FACTORY_GUARD;
  return ret(info, at::rand(argInts(info, 0), optGenerator(info, 3), argOptions(info, 1, 2)));
}
Napi::Value randint(const Napi::CallbackInfo& info) {
  FACTORY_GUARD;
  return ret(info, at::randint(argInt64(info, 0), argInt64(info, 1), argInts(info, 2), optGenerator(info, 5),
                               argOptions(info, 3, 4)));
}
Napi::Value randperm(const Napi::CallbackInfo& info) {
  FACTORY_GUARD;
  return ret(info, at::randperm(argInt64(info, 0), optGenerator(info, 3), argOptions(info, 1, 2)));
}
Napi::Value eye(const Napi::CallbackInfo& info) {
  FACTORY_GUARD;
  return ret(info, at::eye(argInt64(info, 0), argInt64(info, 1), argOptions(info, 2, 3)));
}
Napi::Value scalarTensor(const Napi::CallbackInfo& info) {
  FACTORY_GUARD;
  return ret(info, at::scalar_tensor(argScalar(info, 0), argOptions(info, 1, 2)));
}

// ---------- metadata ----------

Napi::Value shape(const Napi::CallbackInfo& info) {
  const at::Tensor& t = argTensor(info, 0);
  auto sizes = t.sizes();
  Napi::Array arr = Napi::Array::New(info.Env(), sizes.size());
  for (size_t k = 0; k < sizes.size(); ++k) {
    arr.Set(static_cast<uint32_t>(k), Napi::Number::New(info.Env(), static_cast<double>(sizes[k])));
  }
  return arr;
}
Napi::Value dim(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(argTensor(info, 0).dim()));
}
Napi::Value numel(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(argTensor(info, 0).numel()));
}
Napi::Value dtype(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<int>(argTensor(info, 0).scalar_type()));
}
Napi::Value device(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), deviceCode(argTensor(info, 0).device()));
}
// isContiguous(id, memoryFormat | null)
Napi::Value isContiguous(const Napi::CallbackInfo& info) {
  auto format = optMemoryFormat(info, 1);
  return Napi::Boolean::New(info.Env(), argTensor(info, 0).is_contiguous(format ? *format : at::MemoryFormat::Contiguous));
}
Napi::Value stride(const Napi::CallbackInfo& info) {
  auto strides = argTensor(info, 0).strides();
  Napi::Array arr = Napi::Array::New(info.Env(), strides.size());
  for (size_t k = 0; k < strides.size(); ++k) {
    arr.Set(static_cast<uint32_t>(k), Napi::Number::New(info.Env(), static_cast<double>(strides[k])));
  }
  return arr;
}
Napi::Value storageOffset(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(argTensor(info, 0).storage_offset()));
}
Napi::Value memoryFormatCodes(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("contiguousFormat", static_cast<int>(at::MemoryFormat::Contiguous));
  o.Set("preserveFormat", static_cast<int>(at::MemoryFormat::Preserve));
  o.Set("channelsLast", static_cast<int>(at::MemoryFormat::ChannelsLast));
  o.Set("channelsLast3d", static_cast<int>(at::MemoryFormat::ChannelsLast3d));
  return o;
}
Napi::Value dataPtr(const Napi::CallbackInfo& info) {
  // Identity of the underlying storage: lets tests and tools tell views from copies.
  return Napi::Number::New(
      info.Env(), static_cast<double>(reinterpret_cast<uintptr_t>(argTensor(info, 0).data_ptr())));
}

// ---------- data out ----------

// Sparse tensors have no dense memory to read: say what to call instead.
static void checkDense(const at::Tensor& t, const char* what) {
  if (t.is_meta()) {
    throw std::runtime_error(std::string("tstorch: ") + what + " reads values, and this tensor is on the meta device: it has a shape and "
                             "a dtype but no memory. Give it values first (module.loadStateDict(weights, { assign: true }), or "
                             "module.toEmpty({ device: 'cpu' }) and an init)");
  }
  if (t.layout() != at::kStrided) {
    throw std::runtime_error(std::string("tstorch: ") + what + " reads dense memory, and this tensor is " + c10::str(t.layout()) +
                             ": use x.toDense() (or x.indices() / x.values())");
  }
}

// data(id): a typed-array copy. float16/bfloat16 come out as float32, bool as uint8, complex
// numbers as their (real, imaginary) pairs, interleaved (view_as_real's layout).
Napi::Value data(const Napi::CallbackInfo& info) {
  checkDense(argTensor(info, 0), "data()");
  // Lazy conjugates and negations (x.conj(), x.conj().imag) are resolved before memory is read.
  at::Tensor t = argTensor(info, 0).detach().resolve_conj().resolve_neg();
  if (t.is_complex()) t = at::view_as_real(t);
  at::ScalarType st = t.scalar_type();
  if (st == at::kHalf || st == at::kBFloat16) st = at::kFloat;
  if (st == at::kBool) st = at::kByte;
  t = t.to(at::kCPU, st).contiguous();
  size_t bytes = t.nbytes();
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(info.Env(), bytes);
  if (bytes) std::memcpy(buf.Data(), t.data_ptr(), bytes);
  size_t n = static_cast<size_t>(t.numel());
  switch (st) {
    case at::kFloat: return Napi::Float32Array::New(info.Env(), n, buf, 0);
    case at::kDouble: return Napi::Float64Array::New(info.Env(), n, buf, 0);
    case at::kLong: return Napi::BigInt64Array::New(info.Env(), n, buf, 0);
    case at::kInt: return Napi::Int32Array::New(info.Env(), n, buf, 0);
    case at::kShort: return Napi::Int16Array::New(info.Env(), n, buf, 0);
    case at::kChar: return Napi::Int8Array::New(info.Env(), n, buf, 0);
    case at::kByte: return Napi::Uint8Array::New(info.Env(), n, buf, 0);
    default: throw std::runtime_error(std::string("tstorch: data() does not support dtype ") +
                                      c10::toString(st));
  }
}

// A byte range [offset, offset + length) of a tensor's `total` bytes, checked.
static std::pair<size_t, size_t> argByteRange(const Napi::CallbackInfo& info, int i, size_t total, const char* what) {
  int64_t offset = argInt64(info, i), length = argInt64(info, i + 1);
  if (offset < 0 || length < 0 || static_cast<size_t>(offset) + static_cast<size_t>(length) > total) {
    throw std::runtime_error(std::string(what) + ": range " + std::to_string(offset) + "+" + std::to_string(length) +
                             " is outside the tensor's " + std::to_string(total) + " bytes");
  }
  return {static_cast<size_t>(offset), static_cast<size_t>(length)};
}

// bytes(id[, offset, length]): the raw little-endian bytes in the tensor's own dtype, row-major
// (for safetensors), or the byte range [offset, offset + length) of them (a Buffer holds at most 4 GiB).
Napi::Value bytes(const Napi::CallbackInfo& info) {
  checkDense(argTensor(info, 0), "bytes()");
  at::Tensor t = argTensor(info, 0).detach().resolve_conj().resolve_neg().to(at::kCPU).contiguous();
  size_t from = 0, n = t.nbytes();
  if (info.Length() > 1) std::tie(from, n) = argByteRange(info, 1, t.nbytes(), "bytes()");
  Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::New(info.Env(), n);
  if (n) std::memcpy(buf.Data(), static_cast<const uint8_t*>(t.data_ptr()) + from, n);
  return buf;
}

// bytesView(id, offset, length): bytes [offset, offset + length) of a dense CPU tensor's memory
// as a Buffer that shares it (no copy; the Buffer keeps the memory alive, and sees in-place
// changes): what file writers write from, as PyTorch's writer writes from a storage's pointer.
Napi::Value bytesView(const Napi::CallbackInfo& info) {
  const at::Tensor& t = argTensor(info, 0);
  checkDense(t, "bytesView()");
  if (!t.is_cpu() || !t.is_contiguous() || t.is_conj() || t.is_neg()) {
    throw std::runtime_error("bytesView(): the tensor must be a contiguous CPU tensor without lazy conjugation or negation");
  }
  auto [offset, length] = argByteRange(info, 1, t.nbytes(), "bytesView()");
  if (length == 0) return Napi::Buffer<uint8_t>::New(info.Env(), 0);
  auto* keep = new at::Tensor(t);
  return Napi::Buffer<uint8_t>::NewOrCopy(info.Env(), static_cast<uint8_t*>(t.data_ptr()) + offset, length,
                                          [](Napi::Env, uint8_t*, at::Tensor* held) { delete held; }, keep);
}

// doubles(id): values as float64 (what tolist() builds on; int64 beyond 2^53 loses precision,
// as Python's float() would); complex numbers as (real, imaginary) pairs.
Napi::Value doubles(const Napi::CallbackInfo& info) {
  checkDense(argTensor(info, 0), "tolist()");
  // Lazy conjugates and negations (x.conj(), x.conj().imag) are resolved before memory is read.
  at::Tensor t = argTensor(info, 0).detach().resolve_conj().resolve_neg();
  if (t.is_complex()) t = at::view_as_real(t);
  t = t.to(at::kCPU, at::kDouble).contiguous();
  size_t n = static_cast<size_t>(t.numel());
  Napi::Float64Array arr = Napi::Float64Array::New(info.Env(), n);
  if (n) std::memcpy(arr.Data(), t.data_ptr<double>(), n * sizeof(double));
  return arr;
}

Napi::Value item(const Napi::CallbackInfo& info) {
  const at::Tensor& t = argTensor(info, 0);
  checkDense(t, "item()");
  if (t.numel() != 1) {
    throw std::runtime_error("tstorch: item() needs a tensor with one element, got " +
                             std::to_string(t.numel()));
  }
  if (t.is_complex()) {
    throw std::runtime_error("tstorch: item() gives one number, and a complex value has two: use x.real.item() and "
                             "x.imag.item(), or x.tolist() ({ re, im })");
  }
  at::Scalar s = t.item();
  if (s.isBoolean()) return Napi::Boolean::New(info.Env(), s.toBool());
  return Napi::Number::New(info.Env(), s.toDouble());
}

// ---------- conversion ----------

// to(id, dtype|-1, device|null, copy, nonBlocking)
Napi::Value to(const Napi::CallbackInfo& info) {
  const at::Tensor& t = argTensor(info, 0);
  at::ScalarType st = argInt(info, 1) < 0 ? t.scalar_type() : argDtype(info, 1);
  at::Device dev = isNullish(info, 2) ? t.device() : argDevice(info, 2);
  return ret(info, t.to(dev, st, /*non_blocking=*/argBool(info, 4), /*copy=*/argBool(info, 3), optMemoryFormat(info, 5)));
}
// Page-locked host memory: copies from it to a GPU can be non-blocking (the host allocator keeps
// the block until the copy is done, also when the tensor is freed first).
Napi::Value pinMemory(const Napi::CallbackInfo& info) {
  return ret(info, argTensor(info, 0).pin_memory());
}
Napi::Value isPinned(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), argTensor(info, 0).is_pinned());
}
// contiguous(id, memoryFormat | null)
Napi::Value contiguous(const Napi::CallbackInfo& info) {
  auto format = optMemoryFormat(info, 1);
  return ret(info, argTensor(info, 0).contiguous(format ? *format : at::MemoryFormat::Contiguous));
}
Napi::Value clone(const Napi::CallbackInfo& info) { return ret(info, argTensor(info, 0).clone()); }
Napi::Value alias(const Napi::CallbackInfo& info) {
  // A second handle to the very same tensor (same autograd identity), e.g. for keep().
  return ret(info, argTensor(info, 0));
}

// ---------- autograd ----------

Napi::Value requiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), argTensor(info, 0).requires_grad());
}
Napi::Value setRequiresGrad(const Napi::CallbackInfo& info) {
  at::Tensor t = argTensor(info, 0);
  t.requires_grad_(argBool(info, 1));
  return info.Env().Undefined();
}
Napi::Value isLeaf(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), argTensor(info, 0).is_leaf());
}
// PyTorch's x._version (in-place writes seen by the version counter), x._is_view(), x._base
Napi::Value version(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(argTensor(info, 0)._version()));
}
Napi::Value isView(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), argTensor(info, 0).is_view());
}
Napi::Value viewBase(const Napi::CallbackInfo& info) {
  at::Tensor t = argTensor(info, 0);
  if (!t.is_view()) return info.Env().Null();
  return ret(info, at::Tensor(t._base()));
}
Napi::Value retainGrad(const Napi::CallbackInfo& info) {
  argTensor(info, 0).retain_grad();
  return info.Env().Undefined();
}
Napi::Value hasGrad(const Napi::CallbackInfo& info) {
  const at::Tensor& t = argTensor(info, 0);
  return Napi::Boolean::New(info.Env(), t.is_leaf() && t.grad().defined());
}
// hasGrads(ids): hasGrad of each, in one crossing (the optimizer asks for a whole group per step).
Napi::Value hasGrads(const Napi::CallbackInfo& info) {
  std::vector<at::Tensor> ts = argTensors(info, 0);
  Napi::Uint8Array out = Napi::Uint8Array::New(info.Env(), ts.size());
  for (size_t k = 0; k < ts.size(); ++k) out[k] = ts[k].is_leaf() && ts[k].grad().defined();
  return out;
}
// firstSparseGrad(ids): the index of the first tensor whose .grad is sparse (not strided), or -1:
// the optimizers that take dense gradients only check a whole group before they move anything.
Napi::Value firstSparseGrad(const Napi::CallbackInfo& info) {
  std::vector<at::Tensor> ts = argTensors(info, 0);
  for (size_t k = 0; k < ts.size(); ++k) {
    const at::Tensor& g = ts[k].grad();
    if (g.defined() && g.layout() != at::kStrided) return Napi::Number::New(info.Env(), static_cast<double>(k));
  }
  return Napi::Number::New(info.Env(), -1);
}
Napi::Value grad(const Napi::CallbackInfo& info) {
  return ret(info, argTensor(info, 0).grad());  // -1 when there is none
}
// setGrad(id, gradId|-1): assigns .grad (or clears it, as optimizer.zero_grad(set_to_none)).
Napi::Value setGrad(const Napi::CallbackInfo& info) {
  at::Tensor t = argTensor(info, 0);
  auto g = argOptTensor(info, 1);
  t.mutable_grad() = g ? *g : at::Tensor();
  return info.Env().Undefined();
}
// backward(id, gradId|-1, retainGraph, createGraph)
Napi::Value backward(const Napi::CallbackInfo& info) {
  // A copy, not a reference into the table: JS hooks and custom Functions run during backward
  // and may grow the table.
  at::Tensor t = argTensor(info, 0);
  auto g = argOptTensor(info, 1);
  bool retain = argBool(info, 2), create = argBool(info, 3);
  if (!g) checkImplicitGrads({t}, {});
  runAutograd(table(info), [&] { t.backward(g ? *g : at::Tensor(), retain, create); });
  return info.Env().Undefined();
}
Napi::Value detach(const Napi::CallbackInfo& info) { return ret(info, argTensor(info, 0).detach()); }
// variableData(id): PyTorch's x.data: the same memory, outside autograd, with its own version
// counter (writes through it do not invalidate graphs that saved x; gradcheck perturbs by it).
Napi::Value variableData(const Napi::CallbackInfo& info) { return ret(info, argTensor(info, 0).variable_data()); }
// setData(id, srcId): id's tensor takes src's data, dtype and device, keeping its identity, its
// autograd settings and every handle to it (PyTorch's `param.data = ...`, how Module.to moves).
Napi::Value setData(const Napi::CallbackInfo& info) {
  at::Tensor t = argTensor(info, 0);
  t.set_data(argTensor(info, 1));
  return info.Env().Undefined();
}
// Autograd graph nodes (Tensor.grad_fn): a node crosses as an External holding a shared_ptr to
// it, freed when JS lets go of it.
using NodePtr = std::shared_ptr<torch::autograd::Node>;
Napi::Value wrapNode(Napi::Env env, const NodePtr& node) {
  if (!node) return env.Null();
  return Napi::External<NodePtr>::New(env, new NodePtr(node), [](Napi::Env, NodePtr* p) { delete p; });
}
const NodePtr& argNode(const Napi::CallbackInfo& info, size_t i) {
  return *info[i].As<Napi::External<NodePtr>>().Data();
}
// gradFn(id): the node that made the tensor, or null for a leaf
Napi::Value gradFn(const Napi::CallbackInfo& info) {
  return wrapNode(info.Env(), argTensor(info, 0).grad_fn());
}
// nodeName(node): "MulBackward0"
Napi::Value nodeName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), argNode(info, 0)->name());
}
// nodeNext(node): [[node | null, inputNr], ...], Python's next_functions
Napi::Value nodeNext(const Napi::CallbackInfo& info) {
  const auto& edges = argNode(info, 0)->next_edges();
  Napi::Array out = Napi::Array::New(info.Env(), edges.size());
  for (size_t k = 0; k < edges.size(); ++k) {
    Napi::Array pair = Napi::Array::New(info.Env(), 2);
    pair.Set(0u, wrapNode(info.Env(), edges[k].function));
    pair.Set(1u, Napi::Number::New(info.Env(), edges[k].input_nr));
    out.Set(static_cast<uint32_t>(k), pair);
  }
  return out;
}
// nodeSame(a, b): the same node
Napi::Value nodeSame(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), argNode(info, 0).get() == argNode(info, 1).get());
}
// nodeVariable(node): an AccumulateGrad node's leaf tensor (a handle), or -1
Napi::Value nodeVariable(const Napi::CallbackInfo& info) {
  auto* acc = dynamic_cast<torch::autograd::AccumulateGrad*>(argNode(info, 0).get());
  if (!acc) return Napi::Number::New(info.Env(), -1);
  return ret(info, acc->variable);
}
// gradFnName(id): the class of the autograd node that made the tensor ("MulBackward0", as
// Python's type(t.grad_fn).__name__), or null for a leaf.
Napi::Value gradFnName(const Napi::CallbackInfo& info) {
  const auto& fn = argTensor(info, 0).grad_fn();
  if (!fn) return info.Env().Null();
  std::string js = jsFunctionName(*fn);
  if (!js.empty()) return Napi::String::New(info.Env(), js);
  std::string name = fn->name();
  size_t colon = name.rfind("::");
  return Napi::String::New(info.Env(), colon == std::string::npos ? name : name.substr(colon + 2));
}
Napi::Value setGradEnabled(const Napi::CallbackInfo& info) {
  bool prev = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(argBool(info, 0));
  return Napi::Boolean::New(info.Env(), prev);
}
Napi::Value isGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled());
}
// torch.inference_mode(fn) around a synchronous JS function: the guards of nested regions are
// entered and left in LIFO order (each environment runs on its own thread).
static thread_local std::vector<std::unique_ptr<c10::InferenceMode>> inferenceGuards;
Napi::Value inferenceModeEnter(const Napi::CallbackInfo& info) {
  inferenceGuards.push_back(std::make_unique<c10::InferenceMode>(argBool(info, 0)));
  return info.Env().Undefined();
}
Napi::Value inferenceModeExit(const Napi::CallbackInfo& info) {
  if (!inferenceGuards.empty()) inferenceGuards.pop_back();
  return info.Env().Undefined();
}
Napi::Value isInferenceModeEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), c10::InferenceMode::is_enabled());
}
Napi::Value isInference(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), argTensor(info, 0).is_inference());
}
Napi::Value isAnomalyEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), torch::autograd::AnomalyMode::is_enabled());
}
Napi::Value isAnomalyCheckNanEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), torch::autograd::AnomalyMode::should_check_nan());
}
// Forward-mode AD (torch.autograd.forward_ad): levels, dual tensors and their tangents.
Napi::Value enterDualLevel(const Napi::CallbackInfo& info) {
  uint64_t level = torch::autograd::ForwardADLevel::get_next_idx();
  ++keepAutogradLayer();
  return Napi::Number::New(info.Env(), static_cast<double>(level));
}
Napi::Value exitDualLevel(const Napi::CallbackInfo& info) {
  torch::autograd::ForwardADLevel::release_idx(static_cast<uint64_t>(argInt64(info, 0)));
  --keepAutogradLayer();
  return info.Env().Undefined();
}
// makeDual(primal, tangent, level)
Napi::Value makeDual(const Napi::CallbackInfo& info) {
  return ret(info, at::_make_dual(argTensor(info, 0), argTensor(info, 1), argInt64(info, 2)));
}
// unpackDual(x, level): [primal, tangent | -1]
Napi::Value unpackDual(const Napi::CallbackInfo& info) {
  auto r = at::_unpack_dual(argTensor(info, 0), argInt64(info, 1));
  Napi::Array arr = Napi::Array::New(info.Env(), 2);
  arr.Set(0u, Napi::Number::New(info.Env(), table(info).put(std::get<0>(r))));
  const at::Tensor& tangent = std::get<1>(r);
  arr.Set(1u, Napi::Number::New(info.Env(), tangent.defined() ? table(info).put(tangent) : -1));
  return arr;
}
// setDetectAnomaly(enabled, checkNan): torch.autograd.set_detect_anomaly; returns the previous [enabled, checkNan]
Napi::Value setDetectAnomaly(const Napi::CallbackInfo& info) {
  Napi::Array prev = Napi::Array::New(info.Env(), 2);
  prev.Set(0u, Napi::Boolean::New(info.Env(), torch::autograd::AnomalyMode::is_enabled()));
  prev.Set(1u, Napi::Boolean::New(info.Env(), torch::autograd::AnomalyMode::should_check_nan()));
  torch::autograd::AnomalyMode::set_enabled(argBool(info, 0), argBool(info, 1));
  return prev;
}

// ---------- memory ----------

Napi::Value dispose(const Napi::CallbackInfo& info) {
  table(info).release(argInt(info, 0));
  return info.Env().Undefined();
}
// disposeMany(Int32Array ids, count): one crossing for a whole tidy scope.
Napi::Value disposeMany(const Napi::CallbackInfo& info) {
  Napi::Int32Array ids = info[0].As<Napi::Int32Array>();
  TensorTable& tbl = table(info);
  const int32_t* p = ids.Data();
  size_t n = std::min(ids.ElementLength(), static_cast<size_t>(argInt(info, 1)));
  for (size_t k = 0; k < n; ++k) tbl.release(p[k]);
  return info.Env().Undefined();
}
// releaseQueue(): the queue Tensor.dispose() writes to (see TensorTable), made once per
// environment, so every copy of the JS module (jest registries) shares it.
Napi::Value releaseQueue(const Napi::CallbackInfo& info) {
  return table(info).releaseQueue(info.Env());
}
// flushReleased(): frees what dispose() queued now (guarded() drains the queue on entry).
Napi::Value flushReleased(const Napi::CallbackInfo& info) { return info.Env().Undefined(); }
Napi::Value liveTensors(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), table(info).live());
}
// memoryBytes(): {cpu, cuda} bytes of the distinct storages our live handles reference
// (views and aliases are counted once; gradients held by parameters count too).
Napi::Value memoryBytes(const Napi::CallbackInfo& info) {
  std::unordered_set<const void*> seen;
  double cpu = 0, cuda = 0;
  auto count = [&](const at::Tensor& t) {
    if (!t.defined() || !t.has_storage()) return;
    const void* key = t.storage().unsafeGetStorageImpl();
    if (!seen.insert(key).second) return;
    double n = static_cast<double>(t.storage().nbytes());
    (t.is_cuda() ? cuda : cpu) += n;
  };
  for (const at::Tensor& t : table(info).slots()) {
    count(t);
    if (t.defined() && t.is_leaf()) count(t.grad());
  }
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("cpu", cpu);
  o.Set("cuda", cuda);
  return o;
}

// ---------- runtime ----------

// manualSeed(seed): a number, or a decimal string for seeds past 2^53 (seeds are 64-bit)
Napi::Value manualSeed(const Napi::CallbackInfo& info) {
  at::manual_seed(info[0].IsString() ? std::stoull(argString(info, 0)) : static_cast<uint64_t>(argInt64(info, 0)));
  return info.Env().Undefined();
}
// The default generator of a device (the CPU's, or a GPU's: what dropout on that device draws from).
static at::Generator defaultGenerator(const Napi::CallbackInfo& info, size_t i) {
  at::Device d = isNullish(info, i) ? at::Device(at::kCPU) : argDevice(info, i);
  return d.is_cpu() ? at::detail::getDefaultCPUGenerator() : at::globalContext().defaultGenerator(d);
}
// getRngState(device?): a generator's state as bytes (checkpoints restore it for exact resume;
// gradient checkpointing replays a segment's dropout with it).
Napi::Value getRngState(const Napi::CallbackInfo& info) {
  at::Generator gen = defaultGenerator(info, 0);
  return generatorState(info.Env(), gen);
}
// setRngState(bytes, device?)
Napi::Value setRngState(const Napi::CallbackInfo& info) {
  at::Generator gen = defaultGenerator(info, 1);
  setGeneratorState(gen, info[0].As<Napi::Buffer<uint8_t>>());
  return info.Env().Undefined();
}
// keepFreedCpuMemory(): glibc returns every buffer over 32 MiB to the OS when it is freed, so
// a training step that frees and re-makes its large buffers (logits, their gradients) page-
// faults them in again on every step; with mmap off and trimming off, freed memory is reused.
Napi::Value keepFreedCpuMemory(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
  return Napi::Boolean::New(info.Env(), true);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}
// trimCpuMemory(): hands the C library's free memory back to the OS (malloc_trim), also the
// free pages inside the heap; returns whether any was released.
Napi::Value trimCpuMemory(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
  return Napi::Boolean::New(info.Env(), malloc_trim(0) != 0);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}
// setAllowTF32(bool): TF32 tensor cores for float32 matmuls and convolutions on CUDA (Ampere+),
// PyTorch's torch.backends.cuda.matmul.allow_tf32 / torch.backends.cudnn.allow_tf32.
Napi::Value setAllowTF32(const Napi::CallbackInfo& info) {
  bool on = argBool(info, 0);
  at::globalContext().setAllowTF32CuBLAS(on);
  at::globalContext().setAllowTF32CuDNN(on);
  return info.Env().Undefined();
}
// setFlushDenormal(bool): denormal floats read and written as zero on the CPU (SSE3's FTZ/DAZ);
// false where the CPU cannot (torch.set_flush_denormal).
Napi::Value setFlushDenormal(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::globalContext().setFlushDenormal(argBool(info, 0)));
}
Napi::Value getAllowTF32(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::globalContext().allowTF32CuBLAS());
}
// backendFlag(name, value?): one of libtorch's global backend switches (torch.backends.*), set
// when value is given; returns its value. cudnnAvailable: whether cuDNN is there at all.
Napi::Value backendFlag(const Napi::CallbackInfo& info) {
  auto& ctx = at::globalContext();
  const std::string name = argString(info, 0);
  const bool set = !isNullish(info, 1);
  const bool v = set && argBool(info, 1);
  if (name == "allowTF32CuBLAS") {
    if (set) ctx.setAllowTF32CuBLAS(v);
    return Napi::Boolean::New(info.Env(), ctx.allowTF32CuBLAS());
  }
  if (name == "allowTF32CuDNN") {
    if (set) ctx.setAllowTF32CuDNN(v);
    return Napi::Boolean::New(info.Env(), ctx.allowTF32CuDNN());
  }
  if (name == "benchmarkCuDNN") {
    if (set) ctx.setBenchmarkCuDNN(v);
    return Napi::Boolean::New(info.Env(), ctx.benchmarkCuDNN());
  }
  if (name == "deterministicCuDNN") {
    if (set) ctx.setDeterministicCuDNN(v);
    return Napi::Boolean::New(info.Env(), ctx.deterministicCuDNN());
  }
  if (name == "userEnabledCuDNN") {
    if (set) ctx.setUserEnabledCuDNN(v);
    return Napi::Boolean::New(info.Env(), ctx.userEnabledCuDNN());
  }
  if (name == "cudnnAvailable") return Napi::Boolean::New(info.Env(), ctx.hasCuDNN());
  throw std::runtime_error("tstorch: unknown backend flag '" + name + "'");
}
Napi::Value setNumThreads(const Napi::CallbackInfo& info) {
  int n = argInt(info, 0);
  if (n < 1) throw std::runtime_error("tstorch.setNumThreads: need a positive count");
  at::set_num_threads(n);
  return info.Env().Undefined();
}
Napi::Value getNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}
Napi::Value cudaIsAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), torch::cuda::is_available());
}
Napi::Value cudaDeviceCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(torch::cuda::device_count()));
}
Napi::Value cudaSynchronize(const Napi::CallbackInfo& info) {
  if (!torch::cuda::is_available()) throw std::runtime_error("tstorch: CUDA is not available");
  torch::cuda::synchronize(isNullish(info, 0) ? -1 : argInt(info, 0));
  return info.Env().Undefined();
}
Napi::Value buildInfo(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("torchVersion", TORCH_VERSION);
  o.Set("torchVersionMajor", TORCH_VERSION_MAJOR);
  o.Set("torchVersionMinor", TORCH_VERSION_MINOR);
  o.Set("torchSource", TSTORCH_TORCH_SOURCE);
#ifdef TSTORCH_WITH_CUDA
  o.Set("builtWithCuda", true);
#else
  o.Set("builtWithCuda", false);
#endif
  o.Set("cxx11Abi", static_cast<bool>(_GLIBCXX_USE_CXX11_ABI));
  o.Set("parallel", at::get_parallel_info());
  o.Set("config", at::show_config());
  return o;
}
// Type promotion (torch.result_type, promote_types, can_cast): dtypes cross as their codes.
// resultType(a, b, aIsTensor, bIsTensor): a and b tensor handles, or numbers (Python scalars)
Napi::Value resultType(const Napi::CallbackInfo& info) {
  auto scalarOf = [&](size_t i) { return argScalar(info, i); };
  bool aT = info[2].As<Napi::Boolean>(), bT = info[3].As<Napi::Boolean>();
  at::ScalarType t;
  if (aT && bT) t = at::result_type(argTensor(info, 0), argTensor(info, 1));
  else if (aT) t = at::result_type(argTensor(info, 0), scalarOf(1));
  else if (bT) t = at::result_type(scalarOf(0), argTensor(info, 1));
  else t = at::result_type(scalarOf(0), scalarOf(1));
  return Napi::Number::New(info.Env(), static_cast<int>(t));
}
Napi::Value promoteTypes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<int>(c10::promoteTypes(static_cast<at::ScalarType>(argInt(info, 0)), static_cast<at::ScalarType>(argInt(info, 1)))));
}
Napi::Value canCast(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), c10::canCast(static_cast<at::ScalarType>(argInt(info, 0)), static_cast<at::ScalarType>(argInt(info, 1))));
}
// Deterministic algorithms (torch.use_deterministic_algorithms): ops without a deterministic
// implementation then refuse (or warn, with warnOnly).
Napi::Value setDeterministic(const Napi::CallbackInfo& info) {
  at::globalContext().setDeterministicAlgorithms(info[0].As<Napi::Boolean>(), info[1].As<Napi::Boolean>());
  return info.Env().Undefined();
}
Napi::Value deterministicState(const Napi::CallbackInfo& info) {
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, at::globalContext().deterministicAlgorithms());
  out.Set(1u, at::globalContext().deterministicAlgorithmsWarnOnly());
  return out;
}
Napi::Value setNumInteropThreads(const Napi::CallbackInfo& info) {
  int n = argInt(info, 0);
  if (n < 1) throw std::runtime_error("tstorch.setNumInteropThreads: need a positive count");
  at::set_num_interop_threads(n);
  return info.Env().Undefined();
}
Napi::Value getNumInteropThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_interop_threads());
}
Napi::Value setFloat32MatmulPrecision(const Napi::CallbackInfo& info) {
  at::globalContext().setFloat32MatmulPrecision(argString(info, 0));
  return info.Env().Undefined();
}
Napi::Value getFloat32MatmulPrecision(const Napi::CallbackInfo& info) {
  switch (at::globalContext().float32MatmulPrecision()) {
    case at::Float32MatmulPrecision::HIGHEST: return Napi::String::New(info.Env(), "highest");
    case at::Float32MatmulPrecision::HIGH: return Napi::String::New(info.Env(), "high");
    default: return Napi::String::New(info.Env(), "medium");
  }
}
Napi::Value dtypeCodes(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("float32", static_cast<int>(at::kFloat));
  o.Set("float64", static_cast<int>(at::kDouble));
  o.Set("float16", static_cast<int>(at::kHalf));
  o.Set("bfloat16", static_cast<int>(at::kBFloat16));
  o.Set("int64", static_cast<int>(at::kLong));
  o.Set("int32", static_cast<int>(at::kInt));
  o.Set("int16", static_cast<int>(at::kShort));
  o.Set("int8", static_cast<int>(at::kChar));
  o.Set("uint8", static_cast<int>(at::kByte));
  o.Set("bool", static_cast<int>(at::kBool));
  o.Set("complex64", static_cast<int>(at::kComplexFloat));
  o.Set("complex128", static_cast<int>(at::kComplexDouble));
  return o;
}

}  // namespace

void registerCore(Registrar& r) {
  r.add<fromData>("fromData");
  r.add<fromBytes>("fromBytes");
  r.add<fromFile>("fromFile");
  r.add<mapFile>("mapFile");
  r.add<fromFileShared>("fromFileShared");
  r.add<zeros>("zeros");
  r.add<ones>("ones");
  r.add<empty>("empty");
  r.add<full>("full");
  r.add<arange>("arange");
  r.add<randn>("randn");
  r.add<rand>("rand");
  r.add<randint>("randint");
  r.add<randperm>("randperm");
  r.add<eye>("eye");
  r.add<scalarTensor>("scalarTensor");
  r.add<shape>("shape");
  r.add<dim>("dim");
  r.add<numel>("numel");
  r.add<dtype>("dtype");
  r.add<device>("device");
  r.add<isContiguous>("isContiguous");
  r.add<stride>("stride");
  r.add<storageOffset>("storageOffset");
  r.add<memoryFormatCodes>("memoryFormatCodes");
  r.add<dataPtr>("dataPtr");
  r.add<data>("data");
  r.add<bytes>("bytes");
  r.add<bytesView>("bytesView");
  r.add<doubles>("doubles");
  r.add<item>("item");
  r.add<to>("to");
  r.add<pinMemory>("pinMemory");
  r.add<isPinned>("isPinned");
  r.add<contiguous>("contiguous");
  r.add<clone>("clone");
  r.add<alias>("alias");
  r.add<requiresGrad>("requiresGrad");
  r.add<setRequiresGrad>("setRequiresGrad");
  r.add<isLeaf>("isLeaf");
  r.add<version>("version");
  r.add<isView>("isView");
  r.add<viewBase>("viewBase");
  r.add<retainGrad>("retainGrad");
  r.add<hasGrad>("hasGrad");
  r.add<hasGrads>("hasGrads");
  r.add<firstSparseGrad>("firstSparseGrad");
  r.add<grad>("grad");
  r.add<setGrad>("setGrad");
  r.add<backward>("backward");
  r.add<detach>("detach");
  r.add<setData>("setData");
  r.add<gradFnName>("gradFnName");
  r.add<gradFn>("gradFn");
  r.add<nodeName>("nodeName");
  r.add<nodeNext>("nodeNext");
  r.add<nodeSame>("nodeSame");
  r.add<nodeVariable>("nodeVariable");
  r.add<setGradEnabled>("setGradEnabled");
  r.add<variableData>("variableData");
  r.add<inferenceModeEnter>("inferenceModeEnter");
  r.add<inferenceModeExit>("inferenceModeExit");
  r.add<isInferenceModeEnabled>("isInferenceModeEnabled");
  r.add<isInference>("isInference");
  r.add<setDetectAnomaly>("setDetectAnomaly");
  r.add<enterDualLevel>("enterDualLevel");
  r.add<resultType>("resultType");
  r.add<promoteTypes>("promoteTypes");
  r.add<canCast>("canCast");
  r.add<setDeterministic>("setDeterministic");
  r.add<deterministicState>("deterministicState");
  r.add<setNumInteropThreads>("setNumInteropThreads");
  r.add<getNumInteropThreads>("getNumInteropThreads");
  r.add<setFloat32MatmulPrecision>("setFloat32MatmulPrecision");
  r.add<getFloat32MatmulPrecision>("getFloat32MatmulPrecision");
  r.add<exitDualLevel>("exitDualLevel");
  r.add<makeDual>("makeDual");
  r.add<unpackDual>("unpackDual");
  r.add<isAnomalyEnabled>("isAnomalyEnabled");
  r.add<isAnomalyCheckNanEnabled>("isAnomalyCheckNanEnabled");
  r.add<isGradEnabled>("isGradEnabled");
  r.add<dispose>("dispose");
  r.add<disposeMany>("disposeMany");
  r.add<liveTensors>("liveTensors");
  r.add<releaseQueue>("releaseQueue");
  r.add<flushReleased>("flushReleased");
  r.add<memoryBytes>("memoryBytes");
  r.add<manualSeed>("manualSeed");
  r.add<getRngState>("getRngState");
  r.add<setRngState>("setRngState");
  r.add<keepFreedCpuMemory>("keepFreedCpuMemory");
  r.add<trimCpuMemory>("trimCpuMemory");
  r.add<setAllowTF32>("setAllowTF32");
  r.add<backendFlag>("backendFlag");
  r.add<getAllowTF32>("getAllowTF32");
  r.add<setFlushDenormal>("setFlushDenormal");
  r.add<setNumThreads>("setNumThreads");
  r.add<getNumThreads>("getNumThreads");
  r.add<cudaIsAvailable>("cudaIsAvailable");
  r.add<cudaDeviceCount>("cudaDeviceCount");
  r.add<cudaSynchronize>("cudaSynchronize");
  r.add<buildInfo>("buildInfo");
  r.add<dtypeCodes>("dtypeCodes");
}

}  // namespace tstorch

// Module entry: context-aware (NODE_API_MODULE registers per environment), one table per env.
static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* tbl = new tstorch::TensorTable();
  // Freed with the environment (worker exit, jest registry teardown). libtorch itself is never
  // unloaded: its static destructors are known to crash at exit (pytorch#36408).
  env.AddCleanupHook([tbl]() { delete tbl; });
  tstorch::Registrar r{env, exports, tbl};
  tstorch::registerCore(r);
  tstorch::registerMath(r);
  tstorch::registerShape(r);
  tstorch::registerNN(r);
  tstorch::registerLinalg(r);
  tstorch::registerSpectral(r);
  tstorch::registerSpecial(r);
  tstorch::registerGenerator(r);
  tstorch::registerProfiler(r);
  tstorch::registerQuantized(r);
  tstorch::registerSparse(r);
  tstorch::registerJit(r);
  tstorch::registerAutograd(r);
  tstorch::registerDist(r);
  tstorch::registerCudaMemory(r);
  tstorch::registerVmap(r);
  tstorch::registerWarnings(r);
  tstorch::registerInterrupts(r);
  tstorch::installWarningHandler();
  return exports;
}

NODE_API_MODULE(tstorch, Init)
