// Elementwise math, comparisons, reductions, matrix products and in-place optimizer ops.
// Each binding is one ATen call; the macros only spell out the argument plumbing.
#include <torch/version.h>

#include "common.h"

namespace tstorch {
namespace {

#define T0 argTensor(info, 0)
#define T1 argTensor(info, 1)
#define T2 argTensor(info, 2)
#define OP(name, expr) \
  Napi::Value name(const Napi::CallbackInfo& info) { return ret(info, expr); }
// In-place ops return nothing: the JS side returns the same Tensor object.
#define INPLACE(name, stmt)                          \
  Napi::Value name(const Napi::CallbackInfo& info) { \
    at::Tensor self = T0;                            \
    stmt;                                            \
    return info.Env().Undefined();                   \
  }

// --- unary ---
OP(neg, T0.neg())
OP(abs, T0.abs())
OP(exp, T0.exp())
OP(log, T0.log())
OP(log1p, T0.log1p())
OP(sqrt, T0.sqrt())
OP(rsqrt, T0.rsqrt())
OP(sin, T0.sin())
OP(cos, T0.cos())
OP(tanh, T0.tanh())
OP(sigmoid, T0.sigmoid())
OP(relu, T0.relu())
OP(erf, T0.erf())
OP(reciprocal, T0.reciprocal())
OP(square, T0.square())
OP(sign, T0.sign())
OP(floor, T0.floor())
OP(ceil, T0.ceil())
OP(round, T0.round())
OP(logicalNot, T0.logical_not())
OP(isnan, T0.isnan())
OP(isfinite, T0.isfinite())

// --- binary, tensor with tensor (broadcasting) ---
OP(add, info.Length() > 2 ? T0.add(T1, argScalar(info, 2)) : at::add(T0, T1))
OP(sub, T0.sub(T1, argScalar(info, 2)))
OP(mul, T0.mul(T1))
OP(div, T0.div(T1))
OP(pow, T0.pow(T1))
OP(remainder, T0.remainder(T1))
OP(maximum, at::maximum(T0, T1))
OP(minimum, at::minimum(T0, T1))
OP(eq, T0.eq(T1))
OP(ne, T0.ne(T1))
OP(lt, T0.lt(T1))
OP(le, T0.le(T1))
OP(gt, T0.gt(T1))
OP(ge, T0.ge(T1))
OP(logicalAnd, T0.logical_and(T1))
OP(logicalOr, T0.logical_or(T1))

// --- binary, tensor with scalar ---
OP(addScalar, T0.add(argScalar(info, 1), argScalar(info, 2)))
OP(subScalar, T0.sub(argScalar(info, 1), argScalar(info, 2)))
OP(rsubScalar, at::rsub(T0, argScalar(info, 1)))
OP(mulScalar, T0.mul(argScalar(info, 1)))
OP(divScalar, T0.div(argScalar(info, 1)))
OP(powScalar, T0.pow(argScalar(info, 1)))
OP(remainderScalar, T0.remainder(argScalar(info, 1)))
OP(eqScalar, T0.eq(argScalar(info, 1)))
OP(neScalar, T0.ne(argScalar(info, 1)))
OP(ltScalar, T0.lt(argScalar(info, 1)))
OP(leScalar, T0.le(argScalar(info, 1)))
OP(gtScalar, T0.gt(argScalar(info, 1)))
OP(geScalar, T0.ge(argScalar(info, 1)))

// --- selection ---
OP(where, at::where(T0, T1, T2))
OP(whereScalar, at::where(T0, T1, argScalar(info, 2)))
OP(maskedFill, T0.masked_fill(T1, argScalar(info, 2)))
Napi::Value clamp(const Napi::CallbackInfo& info) {
  c10::optional<at::Scalar> lo, hi;
  if (!isNullish(info, 1)) lo = argScalar(info, 1);
  if (!isNullish(info, 2)) hi = argScalar(info, 2);
  return ret(info, T0.clamp(lo, hi));
}

// --- reductions: dims is an array or null (all dims) ---
std::vector<int64_t> dimsOrAll(const Napi::CallbackInfo& info, size_t i) {
  return isNullish(info, i) ? std::vector<int64_t>{} : argInts(info, i);
}
Napi::Value sum(const Napi::CallbackInfo& info) {
  if (isNullish(info, 1)) return ret(info, T0.sum());
  return ret(info, T0.sum(argInts(info, 1), argBool(info, 2)));
}
Napi::Value mean(const Napi::CallbackInfo& info) {
  if (isNullish(info, 1)) return ret(info, T0.mean());
  return ret(info, T0.mean(argInts(info, 1), argBool(info, 2)));
}
Napi::Value prod(const Napi::CallbackInfo& info) {
  if (isNullish(info, 1)) return ret(info, T0.prod());
  return ret(info, T0.prod(argInt64(info, 1), argBool(info, 2)));
}
OP(maxAll, T0.max())
OP(minAll, T0.min())
Napi::Value maxDim(const Napi::CallbackInfo& info) {
  auto r = T0.max(argInt64(info, 1), argBool(info, 2));
  return retPair(info, std::get<0>(r), std::get<1>(r));
}
Napi::Value minDim(const Napi::CallbackInfo& info) {
  auto r = T0.min(argInt64(info, 1), argBool(info, 2));
  return retPair(info, std::get<0>(r), std::get<1>(r));
}
Napi::Value argmax(const Napi::CallbackInfo& info) {
  c10::optional<int64_t> d;
  if (!isNullish(info, 1)) d = argInt64(info, 1);
  return ret(info, T0.argmax(d, argBool(info, 2)));
}
Napi::Value argmin(const Napi::CallbackInfo& info) {
  c10::optional<int64_t> d;
  if (!isNullish(info, 1)) d = argInt64(info, 1);
  return ret(info, T0.argmin(d, argBool(info, 2)));
}
// The correction argument is an int in libtorch 1.13 and a Scalar in 2.x.
#if TORCH_VERSION_MAJOR >= 2
using Correction = c10::optional<at::Scalar>;
#else
using Correction = c10::optional<int64_t>;
#endif
// var(x, dims|null, correction, keepdim)
Napi::Value var(const Napi::CallbackInfo& info) {
  c10::optional<at::IntArrayRef> dims;
  std::vector<int64_t> d = dimsOrAll(info, 1);
  if (!isNullish(info, 1)) dims = d;
  return ret(info, at::var(T0, dims, Correction(argInt64(info, 2)), argBool(info, 3)));
}
Napi::Value std_(const Napi::CallbackInfo& info) {
  c10::optional<at::IntArrayRef> dims;
  std::vector<int64_t> d = dimsOrAll(info, 1);
  if (!isNullish(info, 1)) dims = d;
  return ret(info, at::std(T0, dims, Correction(argInt64(info, 2)), argBool(info, 3)));
}
// norm(x, p, dims|null, keepdim)
Napi::Value norm(const Napi::CallbackInfo& info) {
  at::Scalar p = argScalar(info, 1);
  if (isNullish(info, 2)) return ret(info, T0.norm(p));
  return ret(info, T0.norm(p, argInts(info, 2), argBool(info, 3)));
}
Napi::Value logsumexp(const Napi::CallbackInfo& info) {
  return ret(info, T0.logsumexp(argInts(info, 1), argBool(info, 2)));
}
OP(all, T0.all())
OP(any, T0.any())
OP(cumsum, T0.cumsum(argInt64(info, 1)))

// --- matrix products ---
OP(matmul, T0.matmul(T1))
OP(mm, T0.mm(T1))
OP(bmm, T0.bmm(T1))
OP(addmm, at::addmm(T0, T1, T2, argScalar(info, 3), argScalar(info, 4)))
OP(baddbmm, at::baddbmm(T0, T1, T2, argScalar(info, 3), argScalar(info, 4)))
OP(outer, at::outer(T0, T1))

// --- in place (optimizers, init) ---
INPLACE(add_, self.add_(T1, argScalar(info, 2)))
INPLACE(addScalar_, self.add_(argScalar(info, 1), argScalar(info, 2)))
INPLACE(sub_, self.sub_(T1, argScalar(info, 2)))
INPLACE(mul_, self.mul_(T1))
INPLACE(mulScalar_, self.mul_(argScalar(info, 1)))
INPLACE(div_, self.div_(T1))
INPLACE(divScalar_, self.div_(argScalar(info, 1)))
INPLACE(addcmul_, self.addcmul_(T1, T2, argScalar(info, 3)))
INPLACE(addcdiv_, self.addcdiv_(T1, T2, argScalar(info, 3)))
INPLACE(lerp_, self.lerp_(T1, argScalar(info, 2)))
INPLACE(lerpTensor_, self.lerp_(T1, T2))
INPLACE(copy_, self.copy_(T1))
INPLACE(zero_, self.zero_())
INPLACE(fill_, self.fill_(argScalar(info, 1)))
INPLACE(normal_, self.normal_(argDouble(info, 1), argDouble(info, 2)))
INPLACE(uniform_, self.uniform_(argDouble(info, 1), argDouble(info, 2)))
INPLACE(sqrt_, self.sqrt_())
INPLACE(clampMax_, self.clamp_max_(argScalar(info, 1)))
INPLACE(maskedFill_, self.masked_fill_(T1, argScalar(info, 2)))

#undef OP
#undef INPLACE

}  // namespace

void registerMath(Registrar& r) {
#define R(name) r.add<name>(#name)
  R(neg); R(abs); R(exp); R(log); R(log1p); R(sqrt); R(rsqrt); R(sin); R(cos); R(tanh);
  R(sigmoid); R(relu); R(erf); R(reciprocal); R(square); R(sign); R(floor); R(ceil); R(round);
  R(logicalNot); R(isnan); R(isfinite);
  R(add); R(sub); R(mul); R(div); R(pow); R(remainder); R(maximum); R(minimum);
  R(eq); R(ne); R(lt); R(le); R(gt); R(ge); R(logicalAnd); R(logicalOr);
  R(addScalar); R(subScalar); R(rsubScalar); R(mulScalar); R(divScalar); R(powScalar);
  R(remainderScalar); R(eqScalar); R(neScalar); R(ltScalar); R(leScalar); R(gtScalar); R(geScalar);
  R(where); R(whereScalar); R(maskedFill); R(clamp);
  R(sum); R(mean); R(prod); R(maxAll); R(minAll); R(maxDim); R(minDim); R(argmax); R(argmin);
  R(var); r.add<std_>("std"); R(norm); R(logsumexp); R(all); R(any); R(cumsum);
  R(matmul); R(mm); R(bmm); R(addmm); R(baddbmm); R(outer);
  R(add_); R(addScalar_); R(sub_); R(mul_); R(mulScalar_); R(div_); R(divScalar_);
  R(addcmul_); R(addcdiv_); R(lerp_); R(lerpTensor_); R(copy_); R(zero_); R(fill_);
  R(normal_); R(uniform_); R(sqrt_); R(clampMax_); R(maskedFill_);
#undef R
}

}  // namespace tstorch
