// Shape and indexing ops: views, joins, splits, gathers, sorting and sampling.
#include <ATen/TensorIndexing.h>
#include <cmath>
#include <torch/version.h>

#include "common.h"

namespace tstorch {
namespace {

#define T0 argTensor(info, 0)
#define T1 argTensor(info, 1)
#define OP(name, expr) \
  Napi::Value name(const Napi::CallbackInfo& info) { return ret(info, expr); }

OP(view, T0.view(argInts(info, 1)))
// viewDtype(x, dtype): the same bytes read as another dtype (Tensor.view(dtype))
OP(viewDtype, T0.view(argDtype(info, 1)))
OP(reshape, T0.reshape(argInts(info, 1)))
OP(transpose, T0.transpose(argInt64(info, 1), argInt64(info, 2)))
OP(t, T0.t())
OP(permute, T0.permute(argInts(info, 1)))
OP(unsqueeze, T0.unsqueeze(argInt64(info, 1)))
Napi::Value squeeze(const Napi::CallbackInfo& info) {
  return ret(info, isNullish(info, 1) ? T0.squeeze() : T0.squeeze(argInt64(info, 1)));
}
OP(expand, T0.expand(argInts(info, 1)))
OP(flatten, T0.flatten(argInt64(info, 1), argInt64(info, 2)))
OP(repeat, T0.repeat(argInts(info, 1)))
OP(cat, at::cat(argTensors(info, 0), argInt64(info, 1)))
OP(stack, at::stack(argTensors(info, 0), argInt64(info, 1)))
OP(narrow, T0.narrow(argInt64(info, 1), argInt64(info, 2), argInt64(info, 3)))
OP(narrowCopy, T0.narrow_copy(argInt64(info, 1), argInt64(info, 2), argInt64(info, 3)))
// asStrided(x, sizes, strides, storageOffset): a view of x's storage with these strides (in elements)
OP(asStrided, T0.as_strided(argInts(info, 1), argInts(info, 2), argInt64(info, 3)))
OP(select, T0.select(argInt64(info, 1), argInt64(info, 2)))
// slice(x, dim, start, end, step): end may be null (to the end)
Napi::Value slice(const Napi::CallbackInfo& info) {
  c10::optional<int64_t> start, end;
  if (!isNullish(info, 2)) start = argInt64(info, 2);
  if (!isNullish(info, 3)) end = argInt64(info, 3);
  return ret(info, T0.slice(argInt64(info, 1), start, end, argInt64(info, 4)));
}
OP(indexSelect, T0.index_select(argInt64(info, 1), argTensor(info, 2)))
OP(gather, T0.gather(argInt64(info, 1), argTensor(info, 2)))
OP(tril, T0.tril(argInt64(info, 1)))
OP(triu, T0.triu(argInt64(info, 1)))
Napi::Value split(const Napi::CallbackInfo& info) {
  if (info[1].IsArray()) return retList(info, T0.split_with_sizes(argInts(info, 1), argInt64(info, 2)));
  return retList(info, T0.split(argInt64(info, 1), argInt64(info, 2)));
}
Napi::Value chunk(const Napi::CallbackInfo& info) {
  return retList(info, T0.chunk(argInt64(info, 1), argInt64(info, 2)));
}
Napi::Value topk(const Napi::CallbackInfo& info) {
  auto r = T0.topk(argInt64(info, 1), argInt64(info, 2), argBool(info, 3), argBool(info, 4));
  return retPair(info, std::get<0>(r), std::get<1>(r));
}
Napi::Value sort(const Napi::CallbackInfo& info) {
  // (a 4th argument, stable, picks the stable sort: equal values keep their order)
  auto r = isNullish(info, 3) ? T0.sort(argInt64(info, 1), argBool(info, 2))
                              : T0.sort(c10::optional<bool>(argBool(info, 3)), argInt64(info, 1), argBool(info, 2));
  return retPair(info, std::get<0>(r), std::get<1>(r));
}
OP(argsort, T0.argsort(argInt64(info, 1), argBool(info, 2)))
OP(multinomial, T0.multinomial(argInt64(info, 1), argBool(info, 2), optGenerator(info, 3)))
// scatter(x, dim, index, src) — out of place
OP(scatter, T0.scatter(argInt64(info, 1), argTensor(info, 2), argTensor(info, 3)))
OP(scatterScalar, T0.scatter(argInt64(info, 1), argTensor(info, 2), argScalar(info, 3)))
OP(oneHot, at::one_hot(T0, argInt64(info, 1)))
OP(flip, T0.flip(argInts(info, 1)))
OP(roll, T0.roll(argInts(info, 1), argInts(info, 2)))
OP(diag, T0.diag(argInt64(info, 1)))
OP(diagEmbed, at::diag_embed(T0, argInt64(info, 1), argInt64(info, 2), argInt64(info, 3)))
OP(diagonal, T0.diagonal(argInt64(info, 1), argInt64(info, 2), argInt64(info, 3)))
OP(trace, T0.trace())
OP(movedim, T0.movedim(argInts(info, 1), argInts(info, 2)))
OP(tile, T0.tile(argInts(info, 1)))
OP(broadcastTo, T0.broadcast_to(argInts(info, 1)))
OP(unfold, T0.unfold(argInt64(info, 1), argInt64(info, 2), argInt64(info, 3)))
OP(repeatInterleave, T0.repeat_interleave(argInt64(info, 1), isNullish(info, 2) ? c10::optional<int64_t>() : argInt64(info, 2)))
OP(repeatInterleaveTensor, T0.repeat_interleave(T1, isNullish(info, 2) ? c10::optional<int64_t>() : argInt64(info, 2)))
Napi::Value unbind(const Napi::CallbackInfo& info) { return retList(info, T0.unbind(argInt64(info, 1))); }
Napi::Value meshgrid(const Napi::CallbackInfo& info) {
  return retList(info, at::meshgrid(argTensors(info, 0), argString(info, 1)));
}
// padSequence(tensors, batchFirst, paddingValue): nn.utils.rnn.pad_sequence
OP(padSequence, at::pad_sequence(argTensors(info, 0), argBool(info, 1), argDouble(info, 2)))
OP(nonzero, T0.nonzero())
OP(maskedSelect, T0.masked_select(T1))
OP(take, T0.take(T1))
OP(takeAlongDim, T0.take_along_dim(T1, argInt64(info, 2)))
// scatterAdd(x, dim, index, src), scatterReduce(x, dim, index, src, reduce, includeSelf)
OP(scatterAdd, T0.scatter_add(argInt64(info, 1), argTensor(info, 2), argTensor(info, 3)))
OP(scatterReduce, T0.scatter_reduce(argInt64(info, 1), argTensor(info, 2), argTensor(info, 3), argString(info, 4), argBool(info, 5)))
// indexAdd(x, dim, index, src, alpha), indexCopy(x, dim, index, src), indexFill(x, dim, index, value)
OP(indexAdd, T0.index_add(argInt64(info, 1), argTensor(info, 2), argTensor(info, 3), argScalar(info, 4)))
OP(indexCopy, T0.index_copy(argInt64(info, 1), argTensor(info, 2), argTensor(info, 3)))
OP(indexFill, T0.index_fill(argInt64(info, 1), argTensor(info, 2), argScalar(info, 3)))
// unique(x, sorted, returnInverse, returnCounts, dim|null) -> [values, inverse, counts]
Napi::Value unique(const Napi::CallbackInfo& info) {
  bool sorted = argBool(info, 1), inverse = argBool(info, 2), counts = argBool(info, 3);
  auto r = isNullish(info, 4) ? at::_unique2(T0, sorted, inverse, counts)
                              : at::unique_dim(T0, argInt64(info, 4), sorted, inverse, counts);
  return retList(info, {std::get<0>(r), std::get<1>(r), std::get<2>(r)});
}
Napi::Value uniqueConsecutive(const Napi::CallbackInfo& info) {
  c10::optional<int64_t> dim;
  if (!isNullish(info, 3)) dim = argInt64(info, 3);
  auto r = at::unique_consecutive(T0, argBool(info, 1), argBool(info, 2), dim);
  return retList(info, {std::get<0>(r), std::get<1>(r), std::get<2>(r)});
}
// searchsorted(sortedSequence, values, right)
OP(searchsorted, at::searchsorted(T0, T1, /*out_int32=*/false, argBool(info, 2)))
OP(bucketize, at::bucketize(T0, T1, /*out_int32=*/false, argBool(info, 2)))
// bincount(x, weights|-1, minlength)
Napi::Value bincount(const Napi::CallbackInfo& info) {
  auto w = argOptTensor(info, 1);
  return ret(info, T0.bincount(w ? c10::optional<at::Tensor>(*w) : c10::nullopt, argInt64(info, 2)));
}
OP(histc, T0.histc(argInt64(info, 1), argScalar(info, 2), argScalar(info, 3)))
OP(trilIndices, at::tril_indices(argInt64(info, 0), argInt64(info, 1), argInt64(info, 2), at::TensorOptions().dtype(at::kLong)))
OP(triuIndices, at::triu_indices(argInt64(info, 0), argInt64(info, 1), argInt64(info, 2), at::TensorOptions().dtype(at::kLong)))

// ---------- Python-style indexing: x[...] and x[...] = v ----------
// Indices cross as 4 numbers each in a Float64Array, with their count: [kind, a, b, c], kind 0 an
// integer a, 1 None (a new axis), 2 Ellipsis, 3 a slice a:b:c (NaN for an omitted bound), 4 a
// boolean a, 5 the tensor of handle a (indices or a mask). One typed array keeps the crossing cheap.
#if TORCH_VERSION_MAJOR >= 2
using SliceBound = c10::optional<c10::SymInt>;
#else
using SliceBound = c10::optional<int64_t>;
#endif
SliceBound sliceBound(double v) {
  if (std::isnan(v)) return c10::nullopt;
  return SliceBound(static_cast<int64_t>(v));
}
std::vector<at::indexing::TensorIndex> argIndices(const Napi::CallbackInfo& info, size_t i) {
  using namespace at::indexing;
  if (!info[i].IsTypedArray()) throw std::runtime_error("tstorch: indices must be a Float64Array");
  Napi::Float64Array arr = info[i].As<Napi::Float64Array>();
  size_t n = static_cast<size_t>(argInt(info, i + 1));
  if (4 * n > arr.ElementLength()) throw std::runtime_error("tstorch: indices array is too short");
  const double* p = arr.Data();
  std::vector<TensorIndex> out;
  out.reserve(n);
  for (size_t k = 0; k < n; ++k, p += 4) {
    switch (static_cast<int>(p[0])) {
      case 0: out.emplace_back(static_cast<int64_t>(p[1])); break;
      case 1: out.emplace_back(None); break;
      case 2: out.emplace_back(Ellipsis); break;
      case 3: out.emplace_back(Slice(sliceBound(p[1]), sliceBound(p[2]), std::isnan(p[3]) ? SliceBound(1) : sliceBound(p[3]))); break;
      case 4: out.emplace_back(p[1] != 0); break;
      case 5: out.emplace_back(table(info).get(static_cast<int32_t>(p[1]))); break;
      default: throw std::runtime_error("tstorch: unknown index kind");
    }
  }
  return out;
}
// Basic indexing (integers, slices with a positive step, None, one Ellipsis) of a dense tensor
// whose view records no gradient is a single as_strided view with the sizes, strides and offset
// PyTorch's chain of select/slice/unsqueeze views gives: ~5x cheaper than the chain. Anything
// else, or an index out of range, returns false: libtorch's path then does it (or raises its error).
bool basicIndexView(const at::Tensor& self, const double* p, size_t n, at::Tensor& out) {
  if (self.layout() != at::kStrided || self.is_quantized() || self.is_conj() || self.is_neg() ||
      self.is_nested() || self._is_zerotensor() || !(self.is_cpu() || self.is_cuda()) ||
      (self.requires_grad() && at::GradMode::is_enabled())) {
    return false;
  }
  const int64_t ndim = self.dim();
  int64_t consumed = 0, ellipses = 0;
  for (size_t k = 0; k < n; ++k) {
    int kind = static_cast<int>(p[4 * k]);
    if (kind == 0 || kind == 3) ++consumed;
    else if (kind == 2) ++ellipses;
    else if (kind != 1) return false;
  }
  if (consumed > ndim || ellipses > 1) return false;
  const auto sizes = self.sizes(), strides = self.strides();
  c10::SmallVector<int64_t, 8> outSizes, outStrides;
  int64_t offset = self.storage_offset(), d = 0;
  // a double from JS as an int64, saturated (slice bounds past the size are clamped anyway)
  auto toInt = [](double v) { return v >= 9.2e18 ? INT64_MAX : v <= -9.2e18 ? INT64_MIN : static_cast<int64_t>(v); };
  for (size_t k = 0; k < n; ++k, p += 4) {
    switch (static_cast<int>(p[0])) {
      case 0: {  // select
        int64_t size = sizes[d], i = toInt(p[1]);
        if (i < -size || i >= size) return false;
        offset += (i < 0 ? i + size : i) * strides[d++];
        break;
      }
      case 1:  // a new axis: unsqueeze's stride
        outSizes.push_back(1);
        outStrides.push_back(d < ndim ? sizes[d] * strides[d] : 1);
        break;
      case 2:  // Ellipsis: the dims no other index names, unchanged
        for (int64_t e = 0; e < ndim - consumed; ++e, ++d) {
          outSizes.push_back(sizes[d]);
          outStrides.push_back(strides[d]);
        }
        break;
      case 3: {  // a slice, clamped as at::slice clamps it
        int64_t size = sizes[d], step = std::isnan(p[3]) ? 1 : toInt(p[3]);
        if (step <= 0) return false;
        int64_t start = std::isnan(p[1]) ? 0 : toInt(p[1]), end = std::isnan(p[2]) ? INT64_MAX : toInt(p[2]);
        if (start < 0) start += size;
        if (end < 0) end += size;
        start = start < 0 ? 0 : std::min(start, size);
        end = end < start ? start : std::min(end, size);
        offset += start * strides[d];
        outSizes.push_back(end == start ? 0 : (end - start - 1) / step + 1);  // (rounded up, without overflow for a huge step)
        outStrides.push_back(strides[d++] * step);
        break;
      }
    }
  }
  for (; d < ndim; ++d) {
    outSizes.push_back(sizes[d]);
    outStrides.push_back(strides[d]);
  }
  out = self.as_strided(outSizes, outStrides, offset);
  return true;
}
Napi::Value index(const Napi::CallbackInfo& info) {
  at::Tensor self = T0;
  if (info[1].IsTypedArray()) {
    Napi::Float64Array arr = info[1].As<Napi::Float64Array>();
    size_t n = static_cast<size_t>(argInt(info, 2));
    at::Tensor view;
    if (4 * n <= arr.ElementLength() && basicIndexView(self, arr.Data(), n, view)) return ret(info, std::move(view));
  }
  std::vector<at::indexing::TensorIndex> indices = argIndices(info, 1);
  // Python checks the count first; C++'s index() gives other messages for some (x[:] of a 0-dim x)
  int64_t specified = 0;
  for (const auto& ix : indices) specified += ix.is_integer() || ix.is_slice();
  if (specified > self.dim()) throw std::runtime_error("too many indices for tensor of dimension " + std::to_string(self.dim()));
  if (indices.empty()) return ret(info, at::alias(self));  // Python's x[()]: libtorch refuses an empty list
  return ret(info, self.index(indices));
}
// indexPut_(x, indices, count, value handle) / indexPutScalar_(x, indices, count, number): x[indices] = value
Napi::Value indexPut_(const Napi::CallbackInfo& info) {
  at::Tensor self = T0;
  self.index_put_(argIndices(info, 1), argTensor(info, 3));
  return info.Env().Undefined();
}
Napi::Value indexPutScalar_(const Napi::CallbackInfo& info) {
  at::Tensor self = T0;
  self.index_put_(argIndices(info, 1), argScalar(info, 3));
  return info.Env().Undefined();
}
// indexPutAccumulate(x, indexTensors, values, accumulate): torch.index_put with accumulate
Napi::Value indexPutTensors(const Napi::CallbackInfo& info) {
  c10::List<c10::optional<at::Tensor>> idx;
  for (const at::Tensor& t : argTensors(info, 1)) idx.push_back(t);
  return ret(info, T0.index_put(idx, argTensor(info, 2), argBool(info, 3)));
}


// --- more of torch's shape functions ---
// tensorSplit(x, sections: number | indices: number[], dim)
Napi::Value tensorSplit(const Napi::CallbackInfo& info) {
  const at::Tensor& a = T0;
  int64_t dim = argInt64(info, 2);
  if (info[1].IsArray()) return retList(info, at::tensor_split(a, argInts(info, 1), dim));
  return retList(info, at::tensor_split(a, argInt64(info, 1), dim));
}
Napi::Value hstack(const Napi::CallbackInfo& info) { return ret(info, at::hstack(argTensors(info, 0))); }
Napi::Value vstack(const Napi::CallbackInfo& info) { return ret(info, at::vstack(argTensors(info, 0))); }
Napi::Value dstack(const Napi::CallbackInfo& info) { return ret(info, at::dstack(argTensors(info, 0))); }
Napi::Value columnStack(const Napi::CallbackInfo& info) { return ret(info, at::column_stack(argTensors(info, 0))); }
Napi::Value cartesianProd(const Napi::CallbackInfo& info) { return ret(info, at::cartesian_prod(argTensors(info, 0))); }
Napi::Value blockDiag(const Napi::CallbackInfo& info) { return ret(info, at::block_diag(argTensors(info, 0))); }
OP(atleast1d, at::atleast_1d(T0))
OP(atleast2d, at::atleast_2d(T0))
OP(atleast3d, at::atleast_3d(T0))
// rot90(x, k, dims)
OP(rot90, at::rot90(T0, argInt64(info, 1), argInts(info, 2)))
// combinations(x, r, withReplacement)
OP(combinations, at::combinations(T0, argInt64(info, 1), argBool(info, 2)))

#undef OP

// The *_scatter ops: a copy of x with src written into a view of it (the functional form of
// writing into a slice; differentiable with respect to both).
// diagonalScatter(x, src, offset, dim1, dim2)
OP2(diagonalScatter, at::diagonal_scatter(a, b, argInt64(info, 2), argInt64(info, 3), argInt64(info, 4)))
// selectScatter(x, src, dim, index)
OP2(selectScatter, at::select_scatter(a, b, argInt64(info, 2), argInt64(info, 3)))
// sliceScatter(x, src, dim, start|null, end|null, step)
Napi::Value sliceScatter(const Napi::CallbackInfo& info) {
  const at::Tensor &a = T0, &b = T1;
  SkipAutogradIfUnneeded skip(a, b);
  c10::optional<int64_t> start, end;
  if (!isNullish(info, 3)) start = argInt64(info, 3);
  if (!isNullish(info, 4)) end = argInt64(info, 4);
  return ret(info, at::slice_scatter(a, b, argInt64(info, 2), start, end, argInt64(info, 5)));
}

}  // namespace

void registerShape(Registrar& r) {
#define R(name) r.add<name>(#name)
  R(view); R(viewDtype); R(reshape); R(transpose); R(t); R(permute); R(unsqueeze); R(squeeze); R(expand);
  R(flatten); R(repeat); R(cat); R(stack); R(narrow); R(narrowCopy); R(asStrided); R(select); R(slice); R(indexSelect);
  R(gather); R(tril); R(triu); R(split); R(chunk); R(topk); R(sort); R(argsort);
  R(multinomial); R(scatter); R(scatterScalar); R(oneHot);
  R(flip); R(roll); R(diag); R(diagEmbed); R(diagonal); R(trace); R(movedim); R(tile); R(broadcastTo);
  R(unfold); R(repeatInterleave); R(repeatInterleaveTensor); R(unbind); R(meshgrid); R(padSequence); R(nonzero);
  R(maskedSelect); R(take); R(takeAlongDim); R(scatterAdd); R(scatterReduce); R(indexAdd);
  R(indexCopy); R(indexFill); R(unique); R(uniqueConsecutive); R(searchsorted); R(bucketize);
  R(bincount); R(histc); R(trilIndices); R(triuIndices); R(index); R(indexPut_); R(indexPutScalar_);
  R(indexPutTensors);
  R(tensorSplit); R(hstack); R(vstack); R(dstack); R(columnStack); R(cartesianProd); R(blockDiag);
  R(atleast1d); R(atleast2d); R(atleast3d); R(rot90); R(combinations);
  R(diagonalScatter); R(selectScatter); R(sliceScatter);
#undef R
}

}  // namespace tstorch
