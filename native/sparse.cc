// Sparse COO tensors: creation, layout queries, conversions and the torch.sparse ops that have no
// dense counterpart. Everything else (add, mul, matmul, neg, ...) dispatches on the layout inside
// libtorch through the ordinary bindings. One ATen call each.
#include "common.h"

namespace tstorch {
namespace {

#define T0 argTensor(info, 0)

// sparseCooTensor(indices, values, size | null, dtype | -1, device | null)
Napi::Value sparseCooTensor(const Napi::CallbackInfo& info) {
  const at::Tensor &indices = T0, &values = argTensor(info, 1);
  // As Python's torch.sparse_coo_tensor: the values' dtype and device unless given.
  at::TensorOptions opts = values.options().layout(at::kSparse);
  if (argInt(info, 3) >= 0) opts = opts.dtype(argDtype(info, 3));
  if (!isNullish(info, 4)) opts = opts.device(argDevice(info, 4));
  if (isNullish(info, 2)) return ret(info, at::sparse_coo_tensor(indices, values, opts));
  return ret(info, at::sparse_coo_tensor(indices, values, argInts(info, 2), opts));
}
// sparseCsrTensor(crowIndices, colIndices, values, size | null, dtype | -1, device | null)
Napi::Value sparseCsrTensor(const Napi::CallbackInfo& info) {
  const at::Tensor &crow = T0, &col = argTensor(info, 1), &values = argTensor(info, 2);
  at::TensorOptions opts = values.options().layout(at::kSparseCsr);
  if (argInt(info, 4) >= 0) opts = opts.dtype(argDtype(info, 4));
  if (!isNullish(info, 5)) opts = opts.device(argDevice(info, 5));
  if (isNullish(info, 3)) return ret(info, at::sparse_csr_tensor(crow, col, values, opts));
  return ret(info, at::sparse_csr_tensor(crow, col, values, argInts(info, 3), opts));
}
// sparseCompressedTensor(compressedIndices, plainIndices, values, size | null, layout, dtype | -1, device | null):
// torch.sparse_csc_tensor / sparse_bsr_tensor / sparse_bsc_tensor by layout ("sparse_csc", ...)
Napi::Value sparseCompressedTensor(const Napi::CallbackInfo& info) {
  const at::Tensor &compressed = T0, &plain = argTensor(info, 1), &values = argTensor(info, 2);
  const std::string name = argString(info, 4);
  at::Layout layout = name == "sparse_csc" ? at::kSparseCsc : name == "sparse_bsr" ? at::kSparseBsr : name == "sparse_bsc" ? at::kSparseBsc : at::kSparseCsr;
  at::TensorOptions opts = values.options().layout(layout);
  if (argInt(info, 5) >= 0) opts = opts.dtype(argDtype(info, 5));
  if (!isNullish(info, 6)) opts = opts.device(argDevice(info, 6));
  if (isNullish(info, 3)) return ret(info, at::sparse_compressed_tensor(compressed, plain, values, opts));
  return ret(info, at::sparse_compressed_tensor(compressed, plain, values, argInts(info, 3), opts));
}
Napi::Value toSparseCsr(const Napi::CallbackInfo& info) { return ret(info, T0.to_sparse_csr()); }
Napi::Value toSparseCsc(const Napi::CallbackInfo& info) { return ret(info, T0.to_sparse_csc()); }
// toSparseBsr(x, [rows, cols]) / toSparseBsc: blocks of that size
Napi::Value toSparseBsr(const Napi::CallbackInfo& info) { return ret(info, T0.to_sparse_bsr(argInts(info, 1))); }
Napi::Value toSparseBsc(const Napi::CallbackInfo& info) { return ret(info, T0.to_sparse_bsc(argInts(info, 1))); }
Napi::Value crowIndices(const Napi::CallbackInfo& info) { return ret(info, T0.crow_indices()); }
Napi::Value colIndices(const Napi::CallbackInfo& info) { return ret(info, T0.col_indices()); }
Napi::Value ccolIndices(const Napi::CallbackInfo& info) { return ret(info, T0.ccol_indices()); }
Napi::Value rowIndices(const Napi::CallbackInfo& info) { return ret(info, T0.row_indices()); }
// layout(x): "strided", "sparse_coo", "sparse_csr", ... (PyTorch's names without "torch.")
Napi::Value layout(const Napi::CallbackInfo& info) {
  switch (T0.layout()) {
    case at::kStrided: return Napi::String::New(info.Env(), "strided");
    case at::kSparse: return Napi::String::New(info.Env(), "sparse_coo");
    case at::kSparseCsr: return Napi::String::New(info.Env(), "sparse_csr");
    case at::kSparseCsc: return Napi::String::New(info.Env(), "sparse_csc");
    case at::kSparseBsr: return Napi::String::New(info.Env(), "sparse_bsr");
    case at::kSparseBsc: return Napi::String::New(info.Env(), "sparse_bsc");
    default: return Napi::String::New(info.Env(), c10::str(T0.layout()));
  }
}
// toSparse(x, sparseDim | null)
Napi::Value toSparse(const Napi::CallbackInfo& info) {
  return ret(info, isNullish(info, 1) ? T0.to_sparse() : T0.to_sparse(argInt64(info, 1)));
}
Napi::Value toDense(const Napi::CallbackInfo& info) { return ret(info, T0.to_dense()); }
Napi::Value coalesce(const Napi::CallbackInfo& info) { return ret(info, T0.coalesce()); }
Napi::Value isCoalesced(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), T0.is_coalesced()); }
// indices / values: of a coalesced tensor (PyTorch's indices(), values()); raw: _indices(), _values()
Napi::Value sparseIndices(const Napi::CallbackInfo& info) { return ret(info, argBool(info, 1) ? T0._indices() : T0.indices()); }
Napi::Value sparseValues(const Napi::CallbackInfo& info) {
  // (a compressed (CSR, CSC, BSR, BSC) tensor's values are stored as they are: no raw / coalesced distinction)
  if (T0.layout() != at::kSparse) return ret(info, T0.values());
  return ret(info, argBool(info, 1) ? T0._values() : T0.values());
}
Napi::Value nnz(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(T0._nnz())); }
Napi::Value sparseDim(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(T0.sparse_dim())); }
Napi::Value denseDim(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(T0.dense_dim())); }

// sparseMask(dense, sparse): the dense tensor's values at the sparse one's indices, as a sparse tensor
Napi::Value sparseMask(const Napi::CallbackInfo& info) { return ret(info, T0.sparse_mask(argTensor(info, 1))); }

// torch.sparse: mm (sparse x dense, gradients for both), sum, softmax / log_softmax over the nonzeros
OP2(sparseMm, at::_sparse_mm(a, b))
Napi::Value sparseSum(const Napi::CallbackInfo& info) {
  const at::Tensor& a = T0;
  SkipAutogradIfUnneeded skip(a);
  return ret(info, isNullish(info, 1) ? at::_sparse_sum(a) : at::_sparse_sum(a, argInts(info, 1)));
}
OP1(sparseSoftmax, at::_sparse_softmax(a, argInt64(info, 1)))
OP1(sparseLogSoftmax, at::_sparse_log_softmax(a, argInt64(info, 1)))

}  // namespace

void registerSparse(Registrar& r) {
#define R(name) r.add<name>(#name)
  R(sparseCooTensor); R(sparseCsrTensor); R(sparseCompressedTensor); R(toSparseCsr); R(toSparseCsc); R(toSparseBsr); R(toSparseBsc);
  R(crowIndices); R(colIndices); R(ccolIndices); R(rowIndices); R(layout); R(toSparse); R(toDense); R(coalesce); R(isCoalesced); R(sparseIndices); R(sparseValues);
  R(nnz); R(sparseDim); R(denseDim); R(sparseMask); R(sparseMm); R(sparseSum); R(sparseSoftmax); R(sparseLogSoftmax);
#undef R
}

}  // namespace tstorch
