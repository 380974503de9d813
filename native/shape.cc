// Shape and indexing ops: views, joins, splits, gathers, sorting and sampling.
#include "common.h"

namespace tstorch {
namespace {

#define T0 argTensor(info, 0)
#define T1 argTensor(info, 1)
#define OP(name, expr) \
  Napi::Value name(const Napi::CallbackInfo& info) { return ret(info, expr); }

OP(view, T0.view(argInts(info, 1)))
OP(reshape, T0.reshape(argInts(info, 1)))
OP(transpose, T0.transpose(argInt64(info, 1), argInt64(info, 2)))
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
  auto r = T0.sort(argInt64(info, 1), argBool(info, 2));
  return retPair(info, std::get<0>(r), std::get<1>(r));
}
OP(argsort, T0.argsort(argInt64(info, 1), argBool(info, 2)))
OP(multinomial, T0.multinomial(argInt64(info, 1), argBool(info, 2)))
// scatter(x, dim, index, src) — out of place
OP(scatter, T0.scatter(argInt64(info, 1), argTensor(info, 2), argTensor(info, 3)))
OP(scatterScalar, T0.scatter(argInt64(info, 1), argTensor(info, 2), argScalar(info, 3)))
OP(oneHot, at::one_hot(T0, argInt64(info, 1)))

#undef OP

}  // namespace

void registerShape(Registrar& r) {
#define R(name) r.add<name>(#name)
  R(view); R(reshape); R(transpose); R(permute); R(unsqueeze); R(squeeze); R(expand);
  R(flatten); R(repeat); R(cat); R(stack); R(narrow); R(asStrided); R(select); R(slice); R(indexSelect);
  R(gather); R(tril); R(triu); R(split); R(chunk); R(topk); R(sort); R(argsort);
  R(multinomial); R(scatter); R(scatterScalar); R(oneHot);
#undef R
}

}  // namespace tstorch
