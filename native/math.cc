// Elementwise math, comparisons, reductions, matrix products and in-place optimizer ops.
// Each binding is one ATen call; the macros only spell out the argument plumbing.
#include <ATen/EmptyTensor.h>
#include <ATen/ScalarOps.h>
#include <torch/version.h>

#include "common.h"

namespace tstorch {
namespace {

#define T0 argTensor(info, 0)
#define T1 argTensor(info, 1)
#define T2 argTensor(info, 2)
// OP1 / OP2 / OP3 (fresh results, tensor arguments a, b, c) are in common.h.
// In-place ops return nothing: the JS side returns the same Tensor object.
#define INPLACE(name, stmt)                          \
  Napi::Value name(const Napi::CallbackInfo& info) { \
    at::Tensor self = T0;                            \
    stmt;                                            \
    return info.Env().Undefined();                   \
  }

// --- unary ---
OP1(neg, a.neg())
OP1(abs, a.abs())
OP1(exp, a.exp())
OP1(log, a.log())
OP1(log1p, a.log1p())
OP1(sqrt, a.sqrt())
OP1(rsqrt, a.rsqrt())
OP1(sin, a.sin())
OP1(cos, a.cos())
OP1(tanh, a.tanh())
OP1(sigmoid, a.sigmoid())
OP1(relu, a.relu())
OP1(erf, a.erf())
OP1(reciprocal, a.reciprocal())
OP1(square, a.square())
OP1(sign, a.sign())
OP1(floor, a.floor())
OP1(ceil, a.ceil())
OP1(round, a.round())
OP1(logicalNot, a.logical_not())
OP1(isnan, a.isnan())
OP1(isfinite, a.isfinite())
OP1(isinf, a.isinf())
OP1(tan, a.tan())
OP1(asin, a.asin())
OP1(acos, a.acos())
OP1(atan, a.atan())
OP1(sinh, a.sinh())
OP1(cosh, a.cosh())
OP1(asinh, a.asinh())
OP1(acosh, a.acosh())
OP1(atanh, a.atanh())
OP1(expm1, a.expm1())
OP1(exp2, a.exp2())
OP1(log2, a.log2())
OP1(log10, a.log10())
OP1(trunc, a.trunc())
OP1(frac, a.frac())
OP1(erfc, a.erfc())
OP1(erfinv, a.erfinv())
OP1(lgamma, a.lgamma())
OP1(digamma, a.digamma())
// bernoulli(p): a fresh draw per element (no gradient flows through a sample)
OP1(bernoulli, at::bernoulli(a, optGenerator(info, 1)))
// The samplers behind torch.distributions (Poisson, Gamma, Dirichlet), with libtorch's gradients
// where it has them (_standard_gamma's), and Dirichlet's reparameterization gradient.
OP1(poisson, at::poisson(a, optGenerator(info, 1)))
OP1(standardGamma, at::_standard_gamma(a))
// binomial(count, prob, generator): a draw per element (torch.binomial)
OP2(binomial, at::binomial(a, b, optGenerator(info, 2)))
OP1(sampleDirichlet, at::_sample_dirichlet(a))
OP3(dirichletGrad, at::_dirichlet_grad(a, b, c))
// logit(x, eps|null): log(p / (1 - p)), p clamped to [eps, 1 - eps] when eps is given
Napi::Value logit(const Napi::CallbackInfo& info) {
  const at::Tensor& a = T0;
  SkipAutogradIfUnneeded skip(a);
  c10::optional<double> eps;
  if (!isNullish(info, 1)) eps = argDouble(info, 1);
  return ret(info, a.logit(eps));
}
// nanToNum(x, nan, posinf|null, neginf|null): null means the dtype's largest / lowest value
Napi::Value nanToNum(const Napi::CallbackInfo& info) {
  const at::Tensor& a = T0;
  SkipAutogradIfUnneeded skip(a);
  c10::optional<double> pos, neg;
  if (!isNullish(info, 2)) pos = argDouble(info, 2);
  if (!isNullish(info, 3)) neg = argDouble(info, 3);
  return ret(info, a.nan_to_num(argDouble(info, 1), pos, neg));
}

// --- binary, tensor with tensor (broadcasting) ---
OP2(add, info.Length() > 2 ? a.add(b, argScalar(info, 2)) : at::add(a, b))
OP2(sub, a.sub(b, argScalar(info, 2)))
OP2(mul, a.mul(b))
OP2(div, a.div(b))
OP2(pow, a.pow(b))
OP2(remainder, a.remainder(b))
OP2(maximum, at::maximum(a, b))
OP2(minimum, at::minimum(a, b))
OP2(eq, a.eq(b))
OP2(ne, a.ne(b))
OP2(lt, a.lt(b))
OP2(le, a.le(b))
OP2(gt, a.gt(b))
OP2(ge, a.ge(b))
OP2(logicalAnd, a.logical_and(b))
OP2(logicalOr, a.logical_or(b))
OP2(logicalXor, a.logical_xor(b))
OP2(atan2, a.atan2(b))
OP2(fmod, a.fmod(b))
OP2(hypot, a.hypot(b))
OP2(xlogy, a.xlogy(b))
// divMode(a, b, 'trunc' | 'floor'): division rounded as Python's // ('floor') or C's ('trunc')
OP2(divMode, a.div(b, argString(info, 2)))
OP1(divScalarMode, a.div(argScalar(info, 1), argString(info, 2)))
OP2(lerp, a.lerp(b, argScalar(info, 2)))
OP3(lerpTensor, a.lerp(b, c))
// isclose(a, b, rtol, atol, equalNan)
OP2(isclose, a.isclose(b, argDouble(info, 2), argDouble(info, 3), argBool(info, 4)))
Napi::Value equal(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), T0.equal(T1));
}

// --- binary, tensor with scalar ---
// A JS number as the other operand of arithmetic or a comparison: the wrapped-number 0-d tensor
// Python makes of it (a double or an int64; wrapped numbers never promote a tensor's dtype). On a
// float32 or float64 tensor it is made already of the tensor's dtype: TensorIterator would
// otherwise convert the double in a copy of its own (a whole .to() through the dispatcher, ~1.3 us
// of a 2 us op on a small tensor), and c10::convert is the conversion that copy makes, so the value
// is the same. Only those two: integer division promotes to float (where a scalar already
// converted to int32 would have wrapped), and the half and bfloat16 kernels of libtorch 2.x (CPU
// and CUDA) compute with the scalar's original double in float, not with it rounded to half.
at::Tensor numberOperand(const at::Tensor& self, const Napi::CallbackInfo& info, size_t i) {
  at::ScalarType st = self.scalar_type();
  if ((st != at::kFloat && st != at::kDouble) || !info[i].IsNumber()) return at::native::wrapped_scalar_tensor(argScalar(info, i));
  double v = info[i].As<Napi::Number>().DoubleValue();
  // One per dtype, reused while nothing else holds it (a recorded graph node that saved it does:
  // then a new one is made). One made under inference mode is an inference tensor, which a graph
  // recorded outside it cannot save: out of that mode, such a one is made anew.
  static thread_local at::Tensor cache[static_cast<int>(at::ScalarType::NumOptions)];
  at::Tensor& cached = cache[static_cast<int>(st)];
  if (!cached.defined() || cached.use_count() != 1 || cached.unsafeGetTensorImpl()->storage().use_count() != 1 ||
      (cached.is_inference() && !c10::InferenceMode::is_enabled())) {
    cached = at::Tensor(at::detail::empty_cpu({}, st));
    cached.unsafeGetTensorImpl()->set_wrapped_number(true);
  }
  if (st == at::kFloat) *cached.data_ptr<float>() = c10::convert<float>(v);
  else *cached.data_ptr<double>() = v;
  return cached;
}
// The op with the number as that tensor (s). Python takes the Tensor overloads for + - * / (graph
// nodes MulBackward0, ...) but the Scalar ones for rsub, remainder and fmod (RsubBackward1, ...):
// where a graph is recorded, those (asScalar) keep Python's.
#define OP1_NUMBER(name, withTensor)                    \
  Napi::Value name(const Napi::CallbackInfo& info) {    \
    const at::Tensor& a = argTensor(info, 0);           \
    SkipAutogradIfUnneeded skip(a);                     \
    at::Tensor s = numberOperand(a, info, 1);           \
    return ret(info, withTensor);                       \
  }
#define OP1_NUMBER_SCALAR_RECORDED(name, withTensor, asScalar)          \
  Napi::Value name(const Napi::CallbackInfo& info) {                    \
    const at::Tensor& a = argTensor(info, 0);                           \
    SkipAutogradIfUnneeded skip(a);                                     \
    if (a.requires_grad() && c10::GradMode::is_enabled()) return ret(info, asScalar); \
    at::Tensor s = numberOperand(a, info, 1);                           \
    return ret(info, withTensor);                                       \
  }
OP1_NUMBER(addScalar, a.add(s, argScalar(info, 2)))
OP1_NUMBER(subScalar, a.sub(s, argScalar(info, 2)))
OP1_NUMBER(mulScalar, a.mul(s))
OP1_NUMBER(divScalar, a.div(s))
OP1_NUMBER_SCALAR_RECORDED(rsubScalar, at::rsub(a, s), at::rsub(a, argScalar(info, 1)))
OP1_NUMBER_SCALAR_RECORDED(fmodScalar, a.fmod(s), a.fmod(argScalar(info, 1)))
OP1_NUMBER_SCALAR_RECORDED(remainderScalar, a.remainder(s), a.remainder(argScalar(info, 1)))
OP1(powScalar, a.pow(argScalar(info, 1)))
// scalarPow(x, base): base ** x (torch.pow(2, x))
OP1(scalarPow, at::pow(argScalar(info, 1), a))
OP1_NUMBER(eqScalar, a.eq(s))
OP1_NUMBER(neScalar, a.ne(s))
OP1_NUMBER(ltScalar, a.lt(s))
OP1_NUMBER(leScalar, a.le(s))
OP1_NUMBER(gtScalar, a.gt(s))
OP1_NUMBER(geScalar, a.ge(s))

// --- selection ---
OP3(where, at::where(a, b, c))
// whereScalar(cond, x, number): torch.where(cond, x, number). On the CPU the number is x's
// dtype already (numberOperand), where libtorch would wrap it as a double and convert it in a
// copy (float32 and float64 only, as numberOperand). Unlike arithmetic, that copy refuses a
// number float32 cannot hold (1e300): such a number, other dtypes and CUDA (where's device check
// for a CPU number beside a CUDA x differs between versions) keep libtorch's own path.
Napi::Value whereScalar(const Napi::CallbackInfo& info) {
  const at::Tensor &cond = argTensor(info, 0), &x = argTensor(info, 1);
  SkipAutogradIfUnneeded skip(cond, x);
  at::ScalarType st = x.scalar_type();
  bool own = x.device().is_cpu() && info[2].IsNumber() &&
             (st == at::kDouble || (st == at::kFloat && !c10::overflows<float>(info[2].As<Napi::Number>().DoubleValue())));
  if (!own) return ret(info, at::where(cond, x, argScalar(info, 2)));
  return ret(info, at::where(cond, x, numberOperand(x, info, 2)));
}
// whereScalarSelf(cond, number, other): torch.where(cond, number, other) in one op (libtorch's where.ScalarSelf)
Napi::Value whereScalarSelf(const Napi::CallbackInfo& info) {
  const at::Tensor &cond = argTensor(info, 0), &other = argTensor(info, 2);
  SkipAutogradIfUnneeded skip(cond, other);
  return ret(info, at::where(cond, argScalar(info, 1), other));
}
OP2(maskedFill, a.masked_fill(b, argScalar(info, 2)))
// maskedFillTensor(x, mask, value): value a 0-d tensor (its gradient kept, as PyTorch's)
OP3(maskedFillTensor, a.masked_fill(b, c))
Napi::Value clamp(const Napi::CallbackInfo& info) {
  const at::Tensor& a = T0;
  SkipAutogradIfUnneeded skip(a);
  c10::optional<at::Scalar> lo, hi;
  if (!isNullish(info, 1)) lo = argScalar(info, 1);
  if (!isNullish(info, 2)) hi = argScalar(info, 2);
  return ret(info, a.clamp(lo, hi));
}
// clampTensor(x, min|-1, max|-1): bounds as tensors (broadcast), either absent
Napi::Value clampTensor(const Napi::CallbackInfo& info) {
  return ret(info, T0.clamp(optT(info, 1), optT(info, 2)));
}

// --- reductions: dims is an array or null (all dims) ---
std::vector<int64_t> dimsOrAll(const Napi::CallbackInfo& info, size_t i) {
  return isNullish(info, i) ? std::vector<int64_t>{} : argInts(info, i);
}
Napi::Value sum(const Napi::CallbackInfo& info) {
  const at::Tensor& a = T0;
  SkipAutogradIfUnneeded skip(a);
  // A sparse tensor sums as torch.sparse.sum (libtorch 1.13's Tensor.sum has no sparse kernel).
  if (a.is_sparse() && !argBool(info, 2)) return ret(info, isNullish(info, 1) ? at::_sparse_sum(a) : at::_sparse_sum(a, argInts(info, 1)));
  if (isNullish(info, 1)) return ret(info, a.sum());
  return ret(info, a.sum(argInts(info, 1), argBool(info, 2)));
}
Napi::Value mean(const Napi::CallbackInfo& info) {
  const at::Tensor& a = T0;
  SkipAutogradIfUnneeded skip(a);
  if (isNullish(info, 1)) return ret(info, a.mean());
  return ret(info, a.mean(argInts(info, 1), argBool(info, 2)));
}
Napi::Value prod(const Napi::CallbackInfo& info) {
  const at::Tensor& a = T0;
  SkipAutogradIfUnneeded skip(a);
  if (isNullish(info, 1)) return ret(info, a.prod());
  return ret(info, a.prod(argInt64(info, 1), argBool(info, 2)));
}
OP1(maxAll, a.max())
OP1(minAll, a.min())
OP1_PAIR(maxDim, a.max(argInt64(info, 1), argBool(info, 2)))
OP1_PAIR(minDim, a.min(argInt64(info, 1), argBool(info, 2)))
Napi::Value argmax(const Napi::CallbackInfo& info) {
  const at::Tensor& a = T0;
  SkipAutogradIfUnneeded skip(a);
  c10::optional<int64_t> d;
  if (!isNullish(info, 1)) d = argInt64(info, 1);
  return ret(info, a.argmax(d, argBool(info, 2)));
}
Napi::Value argmin(const Napi::CallbackInfo& info) {
  const at::Tensor& a = T0;
  SkipAutogradIfUnneeded skip(a);
  c10::optional<int64_t> d;
  if (!isNullish(info, 1)) d = argInt64(info, 1);
  return ret(info, a.argmin(d, argBool(info, 2)));
}
// The correction argument is an int in libtorch 1.13 and a Scalar in 2.x.
#if TORCH_VERSION_MAJOR >= 2
using Correction = c10::optional<at::Scalar>;
#else
using Correction = c10::optional<int64_t>;
#endif
// var(x, dims|null, correction, keepdim)
Napi::Value var(const Napi::CallbackInfo& info) {
  const at::Tensor& a = T0;
  SkipAutogradIfUnneeded skip(a);
  c10::optional<at::IntArrayRef> dims;
  std::vector<int64_t> d = dimsOrAll(info, 1);
  if (!isNullish(info, 1)) dims = d;
  return ret(info, at::var(a, dims, Correction(argInt64(info, 2)), argBool(info, 3)));
}
Napi::Value std_(const Napi::CallbackInfo& info) {
  const at::Tensor& a = T0;
  SkipAutogradIfUnneeded skip(a);
  c10::optional<at::IntArrayRef> dims;
  std::vector<int64_t> d = dimsOrAll(info, 1);
  if (!isNullish(info, 1)) dims = d;
  return ret(info, at::std(a, dims, Correction(argInt64(info, 2)), argBool(info, 3)));
}
// norm(x, p, dims|null, keepdim)
Napi::Value norm(const Napi::CallbackInfo& info) {
  const at::Tensor& a = T0;
  SkipAutogradIfUnneeded skip(a);
  at::Scalar p = argScalar(info, 1);
  if (isNullish(info, 2)) return ret(info, a.norm(p));
  return ret(info, a.norm(p, argInts(info, 2), argBool(info, 3)));
}
Napi::Value logsumexp(const Napi::CallbackInfo& info) {
  const at::Tensor& a = T0;
  SkipAutogradIfUnneeded skip(a);
  return ret(info, a.logsumexp(argInts(info, 1), argBool(info, 2)));
}
OP1(all, a.all())
OP1(any, a.any())
OP1(allDim, a.all(argInt64(info, 1), argBool(info, 2)))
OP1(anyDim, a.any(argInt64(info, 1), argBool(info, 2)))
OP1(cumsum, a.cumsum(argInt64(info, 1)))
OP1(cumprod, a.cumprod(argInt64(info, 1)))
OP1(logcumsumexp, a.logcumsumexp(argInt64(info, 1)))
OP1_PAIR(cummax, a.cummax(argInt64(info, 1)))
OP1_PAIR(cummin, a.cummin(argInt64(info, 1)))
// amax / amin(x, dims ([] = all), keepdim): the values only, gradient spread evenly over ties
OP1(amax, a.amax(argInts(info, 1), argBool(info, 2)))
OP1(amin, a.amin(argInts(info, 1), argBool(info, 2)))
// median(x): the lower of the two middle values, as PyTorch
OP1(medianAll, a.median())
OP1_PAIR(medianDim, a.median(argInt64(info, 1), argBool(info, 2)))
// kthvalue(x, k, dim, keepdim): the k-th smallest (1-based) along dim
OP1_PAIR(kthvalue, a.kthvalue(argInt64(info, 1), argInt64(info, 2), argBool(info, 3)))
// countNonzero(x, dims ([] = all))
OP1(countNonzero, at::count_nonzero(a, argInts(info, 1)))
// quantile(x, q, dim|null, keepdim, interpolation, ignoreNan): nanquantile with ignoreNan
Napi::Value quantile(const Napi::CallbackInfo& info) {
  const at::Tensor &a = T0, &q = T1;
  SkipAutogradIfUnneeded skip(a, q);
  c10::optional<int64_t> dim;
  if (!isNullish(info, 2)) dim = argInt64(info, 2);
  auto f = argBool(info, 5) ? static_cast<at::Tensor (*)(const at::Tensor&, const at::Tensor&, c10::optional<int64_t>, bool, c10::string_view)>(at::nanquantile)
                            : static_cast<at::Tensor (*)(const at::Tensor&, const at::Tensor&, c10::optional<int64_t>, bool, c10::string_view)>(at::quantile);
  return ret(info, f(a, q, dim, argBool(info, 3), argString(info, 4)));
}
// quantileScalar(x, q: number, dim|null, keepdim, interpolation, ignoreNan): q stays a double, as Python's float
Napi::Value quantileScalar(const Napi::CallbackInfo& info) {
  const at::Tensor& a = T0;
  SkipAutogradIfUnneeded skip(a);
  c10::optional<int64_t> dim;
  if (!isNullish(info, 2)) dim = argInt64(info, 2);
  auto f = argBool(info, 5) ? static_cast<at::Tensor (*)(const at::Tensor&, double, c10::optional<int64_t>, bool, c10::string_view)>(at::nanquantile)
                            : static_cast<at::Tensor (*)(const at::Tensor&, double, c10::optional<int64_t>, bool, c10::string_view)>(at::quantile);
  return ret(info, f(a, argDouble(info, 1), dim, argBool(info, 3), argString(info, 4)));
}

// --- matrix products ---
OP2(matmul, a.matmul(b))
OP2(mm, a.mm(b))
OP2(bmm, a.bmm(b))
OP3(addmm, at::addmm(a, b, c, argScalar(info, 3), argScalar(info, 4)))
OP3(baddbmm, at::baddbmm(a, b, c, argScalar(info, 3), argScalar(info, 4)))
// addbmm(x, batch1, batch2, beta, alpha): beta x + alpha sum_b batch1[b] @ batch2[b]
OP3(addbmm, at::addbmm(a, b, c, argScalar(info, 3), argScalar(info, 4)))
// addr(x, vec1, vec2, beta, alpha): beta x + alpha outer(vec1, vec2)
OP3(addr, at::addr(a, b, c, argScalar(info, 3), argScalar(info, 4)))
OP2(outer, at::outer(a, b))
OP2(dot, a.dot(b))
OP2(mv, a.mv(b))
OP2(kron, at::kron(a, b))
// cross(a, b, dim)
OP2(cross, at::linalg_cross(a, b, argInt64(info, 2)))
// cdist(x1, x2, p): pairwise p-norm distances of rows
OP2(cdist, at::cdist(a, b, argDouble(info, 2)))
// tensordot(a, b, dimsA, dimsB)
OP2(tensordot, at::tensordot(a, b, argInts(info, 2), argInts(info, 3)))
// einsum(equation, tensors)
Napi::Value einsum(const Napi::CallbackInfo& info) {
  std::string eq = argString(info, 0);
  return ret(info, at::einsum(eq, argTensors(info, 1)));
}

// --- in place (optimizers, init) ---
// the in-place activations (F.elu_, ...): libtorch's own kernels, whose backward reads the result
INPLACE(elu_, at::elu_(self, argScalar(info, 1)))
INPLACE(celu_, at::celu_(self, argScalar(info, 1)))
INPLACE(selu_, at::selu_(self))
INPLACE(leakyRelu_, at::leaky_relu_(self, argScalar(info, 1)))
INPLACE(hardtanh_, at::hardtanh_(self, argScalar(info, 1), argScalar(info, 2)))
INPLACE(threshold_, at::threshold_(self, argScalar(info, 1), argScalar(info, 2)))
INPLACE(add_, self.add_(T1, argScalar(info, 2)))
INPLACE(addScalar_, self.add_(numberOperand(self, info, 1), argScalar(info, 2)))
INPLACE(sub_, self.sub_(T1, argScalar(info, 2)))
INPLACE(mul_, self.mul_(T1))
INPLACE(mulScalar_, self.mul_(numberOperand(self, info, 1)))
INPLACE(div_, self.div_(T1))
INPLACE(divScalar_, self.div_(numberOperand(self, info, 1)))
INPLACE(addcmul_, self.addcmul_(T1, T2, argScalar(info, 3)))
INPLACE(addmm_, self.addmm_(T1, T2, argScalar(info, 3), argScalar(info, 4)))
INPLACE(addcdiv_, self.addcdiv_(T1, T2, argScalar(info, 3)))
INPLACE(lerp_, self.lerp_(T1, argScalar(info, 2)))
INPLACE(lerpTensor_, self.lerp_(T1, T2))
INPLACE(copy_, self.copy_(T1))
INPLACE(zero_, self.zero_())
INPLACE(fill_, self.fill_(argScalar(info, 1)))
INPLACE(normal_, self.normal_(argDouble(info, 1), argDouble(info, 2), optGenerator(info, 3)))
INPLACE(uniform_, self.uniform_(argDouble(info, 1), argDouble(info, 2), optGenerator(info, 3)))
INPLACE(sqrt_, self.sqrt_())
INPLACE(clampMax_, self.clamp_max_(argScalar(info, 1)))
INPLACE(maskedFill_, self.masked_fill_(T1, argScalar(info, 2)))
INPLACE(maskedFillTensor_, self.masked_fill_(T1, argTensor(info, 2)))
// clamp_(x, min|null, max|null)
INPLACE(clamp_, self.clamp_(isNullish(info, 1) ? c10::optional<at::Scalar>() : argScalar(info, 1),
                            isNullish(info, 2) ? c10::optional<at::Scalar>() : argScalar(info, 2)))
INPLACE(relu_, self.relu_())
INPLACE(exp_, self.exp_())
INPLACE(log_, self.log_())
INPLACE(abs_, self.abs_())
INPLACE(neg_, self.neg_())
INPLACE(tanh_, self.tanh_())
INPLACE(sigmoid_, self.sigmoid_())
INPLACE(erfinv_, self.erfinv_())
INPLACE(powScalar_, self.pow_(argScalar(info, 1)))
INPLACE(subScalar_, self.sub_(numberOperand(self, info, 1), argScalar(info, 2)))
INPLACE(fillDiagonal_, self.fill_diagonal_(argScalar(info, 1), argBool(info, 2)))
// More in-place elementwise ops (x.sin_() ...): libtorch's own, so autograd records them as PyTorch does.
INPLACE(acos_, self.acos_())
INPLACE(acosh_, self.acosh_())
INPLACE(asin_, self.asin_())
INPLACE(asinh_, self.asinh_())
INPLACE(atan_, self.atan_())
INPLACE(atanh_, self.atanh_())
INPLACE(ceil_, self.ceil_())
INPLACE(cos_, self.cos_())
INPLACE(cosh_, self.cosh_())
INPLACE(digamma_, self.digamma_())
INPLACE(erf_, self.erf_())
INPLACE(erfc_, self.erfc_())
INPLACE(exp2_, self.exp2_())
INPLACE(expm1_, self.expm1_())
INPLACE(floor_, self.floor_())
INPLACE(frac_, self.frac_())
INPLACE(lgamma_, self.lgamma_())
INPLACE(log10_, self.log10_())
INPLACE(log1p_, self.log1p_())
INPLACE(log2_, self.log2_())
INPLACE(reciprocal_, self.reciprocal_())
INPLACE(round_, self.round_())
INPLACE(rsqrt_, self.rsqrt_())
INPLACE(sign_, self.sign_())
INPLACE(sin_, self.sin_())
INPLACE(sinh_, self.sinh_())
INPLACE(square_, self.square_())
INPLACE(tan_, self.tan_())
INPLACE(trunc_, self.trunc_())
INPLACE(deg2rad_, self.deg2rad_())
INPLACE(rad2deg_, self.rad2deg_())
INPLACE(logit_, self.logit_())
INPLACE(nanToNum_, self.nan_to_num_())
INPLACE(cumsum_, self.cumsum_(argInt64(info, 1)))
INPLACE(cumprod_, self.cumprod_(argInt64(info, 1)))
// binary in place: (x, other tensor | -1, other as a number)
#define INPLACE2(name, method)                                                        \
  INPLACE(name, argInt(info, 1) >= 0 ? (void)self.method(argTensor(info, 1)) : (void)self.method(argScalar(info, 2)))
INPLACE2(fmod_, fmod_)
INPLACE2(remainder_, remainder_)
INPLACE2(eq_, eq_)
INPLACE2(ne_, ne_)
INPLACE2(lt_, lt_)
INPLACE2(le_, le_)
INPLACE2(gt_, gt_)
INPLACE2(ge_, ge_)
INPLACE2(floorDivide_, floor_divide_)
INPLACE2(xlogy_, xlogy_)
INPLACE2(copysign_, copysign_)
INPLACE(atan2_, self.atan2_(argTensor(info, 1)))
INPLACE(hypot_, self.hypot_(argTensor(info, 1)))
INPLACE(logicalAnd_, self.logical_and_(argTensor(info, 1)))
INPLACE(logicalOr_, self.logical_or_(argTensor(info, 1)))
INPLACE(logicalXor_, self.logical_xor_(argTensor(info, 1)))
INPLACE(logicalNot_, self.logical_not_())
// in-place views (their metadata changes in place): t_, transpose_, unsqueeze_, squeeze_, detach_
INPLACE(t_, self.t_())
INPLACE(transpose_, self.transpose_(argInt64(info, 1), argInt64(info, 2)))
INPLACE(unsqueeze_, self.unsqueeze_(argInt64(info, 1)))
INPLACE(squeeze_, isNullish(info, 1) ? (void)self.squeeze_() : (void)self.squeeze_(argInt64(info, 1)))
INPLACE(detach_, self.detach_())
// put_(x, index, source, accumulate): values at flat indices
INPLACE(put_, self.put_(argTensor(info, 1), argTensor(info, 2), argBool(info, 3)))
INPLACE(resize_, self.resize_(argInts(info, 1)))
OP1(sumToSize, a.sum_to_size(argInts(info, 1)))
OP1(diagflat, a.diagflat(argInt64(info, 1)))
OP2(dist, a.dist(b, argScalar(info, 2)))
OP1_PAIR(frexp, a.frexp())
OP1(isreal, a.isreal())
OP2(put, a.put(b, argTensor(info, 2), argBool(info, 3)))
Napi::Value isSigned(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), T0.is_signed()); }
Napi::Value isNonzero(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), T0.is_nonzero()); }
Napi::Value isNeg(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), T0.is_neg()); }
Napi::Value retainsGrad(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), T0.retains_grad()); }
Napi::Value elementSize(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(T0.element_size())); }
// bernoulli_(x, p): each element 1 with probability p (the CPU / CUDA generator)
INPLACE(bernoulli_, self.bernoulli_(argDouble(info, 1), optGenerator(info, 2)))
INPLACE(exponential_, self.exponential_(argDouble(info, 1), optGenerator(info, 2)))
// cauchy_(x, median, sigma, generator), geometric_(x, p, generator), logNormal_(x, mean, std, generator)
INPLACE(cauchy_, self.cauchy_(argDouble(info, 1), argDouble(info, 2), optGenerator(info, 3)))
INPLACE(geometric_, self.geometric_(argDouble(info, 1), optGenerator(info, 2)))
INPLACE(logNormal_, self.log_normal_(argDouble(info, 1), argDouble(info, 2), optGenerator(info, 3)))
// random_(x, from, to): integers in [from, to)
INPLACE(random_, self.random_(argInt64(info, 1), c10::optional<int64_t>(argInt64(info, 2)), optGenerator(info, 3)))
// randomFull_(x, generator): integers over the dtype's whole non-negative range (random_() without bounds)
INPLACE(randomFull_, self.random_(optGenerator(info, 1)))
INPLACE(scatter_, self.scatter_(argInt64(info, 1), T2, argTensor(info, 3)))
INPLACE(scatterScalar_, self.scatter_(argInt64(info, 1), T2, argScalar(info, 3)))
INPLACE(scatterAdd_, self.scatter_add_(argInt64(info, 1), T2, argTensor(info, 3)))
INPLACE(indexAdd_, self.index_add_(argInt64(info, 1), T2, argTensor(info, 3), argScalar(info, 4)))
INPLACE(indexCopy_, self.index_copy_(argInt64(info, 1), T2, argTensor(info, 3)))
INPLACE(indexFill_, self.index_fill_(argInt64(info, 1), T2, argScalar(info, 3)))

INPLACE(triu_, self.triu_(argInt64(info, 1)))
INPLACE(tril_, self.tril_(argInt64(info, 1)))
#undef INPLACE

// --- more of torch's elementwise functions ---
OP2(logaddexp, at::logaddexp(a, b))
OP2(logaddexp2, at::logaddexp2(a, b))
OP2(heaviside, at::heaviside(a, b))
OP2(gcd, at::gcd(a, b))
OP2(lcm, at::lcm(a, b))
OP2(bitwiseAnd, at::bitwise_and(a, b))
OP2(bitwiseOr, at::bitwise_or(a, b))
OP2(bitwiseXor, at::bitwise_xor(a, b))
OP1(bitwiseNot, at::bitwise_not(a))
OP2(bitwiseLeftShift, at::bitwise_left_shift(a, b))
OP2(bitwiseRightShift, at::bitwise_right_shift(a, b))
OP1(sinc, at::sinc(a))
OP1(sgn, at::sgn(a))
OP1(signbit, at::signbit(a))
OP2(copysign, at::copysign(a, b))
OP2(nextafter, at::nextafter(a, b))
OP2(floatPower, at::float_power(a, b))
OP1(floatPowerScalar, at::float_power(a, argScalar(info, 1)))
OP2(fmax, at::fmax(a, b))
OP2(fmin, at::fmin(a, b))
OP1(deg2rad, at::deg2rad(a))
OP1(rad2deg, at::rad2deg(a))
OP2(ldexp, at::ldexp(a, b))
OP1(isneginf, at::isneginf(a))
OP1(isposinf, at::isposinf(a))
OP3(maskedScatter, a.masked_scatter(b, c))
// addcmul / addcdiv(x, t1, t2, value): x + value * t1 * t2 (or t1 / t2), fresh
OP3(addcmul, at::addcmul(a, b, c, argScalar(info, 3)))
OP3(addcdiv, at::addcdiv(a, b, c, argScalar(info, 3)))

// --- more reductions ---
// nansum / nanmean(x, dims ([] = all), keepdim): NaNs left out
#define NAN_REDUCTION(name, fn)                                                   \
  Napi::Value name(const Napi::CallbackInfo& info) {                              \
    const at::Tensor& a = T0;                                                     \
    SkipAutogradIfUnneeded skip(a);                                               \
    std::vector<int64_t> dims = argInts(info, 1);                                 \
    return ret(info, dims.empty() ? fn(a) : fn(a, dims, argBool(info, 2)));        \
  }
NAN_REDUCTION(nansum, at::nansum)
NAN_REDUCTION(nanmean, at::nanmean)
#undef NAN_REDUCTION
OP1(nanmedianAll, at::nanmedian(a))
OP1_PAIR(nanmedianDim, at::nanmedian(a, argInt64(info, 1), argBool(info, 2)))
OP1_PAIR(mode, at::mode(a, argInt64(info, 1), argBool(info, 2)))
// aminmax(x, dim|null, keepdim) -> [min, max]
Napi::Value aminmax(const Napi::CallbackInfo& info) {
  const at::Tensor& a = T0;
  SkipAutogradIfUnneeded skip(a);
  c10::optional<int64_t> dim;
  if (!isNullish(info, 1)) dim = argInt64(info, 1);
  auto r = at::aminmax(a, dim, argBool(info, 2));
  return retPair(info, std::get<0>(r), std::get<1>(r));
}
// stdMean / varMean(x, dims|null, correction, keepdim) -> [std or var, mean]
#define MOMENTS(name, fn)                                                         \
  Napi::Value name(const Napi::CallbackInfo& info) {                              \
    const at::Tensor& a = T0;                                                     \
    SkipAutogradIfUnneeded skip(a);                                               \
    c10::optional<at::IntArrayRef> dims;                                          \
    std::vector<int64_t> d = dimsOrAll(info, 1);                                  \
    if (!isNullish(info, 1)) dims = d;                                            \
    auto r = fn(a, dims, Correction(argInt64(info, 2)), argBool(info, 3));        \
    return retPair(info, std::get<0>(r), std::get<1>(r));                         \
  }
MOMENTS(stdMean, at::std_mean)
MOMENTS(varMean, at::var_mean)
#undef MOMENTS
OP1(msort, at::msort(a))
OP1(logdet, at::logdet(a))
// renorm(x, p, dim, maxnorm): each slice along dim rescaled to p-norm at most maxnorm
OP1(renorm, at::renorm(a, argScalar(info, 1), argInt64(info, 2), argScalar(info, 3)))
// addmv(input, mat, vec, beta, alpha)
OP3(addmv, at::addmv(a, b, c, argScalar(info, 3), argScalar(info, 4)))
OP2(inner, at::inner(a, b))
OP2(vdot, at::vdot(a, b))
// trapezoid(y, x, dim) / trapezoidDx(y, dx, dim)
OP2(trapezoid, at::trapezoid(a, b, argInt64(info, 2)))
OP1(trapezoidDx, at::trapezoid(a, argScalar(info, 1), argInt64(info, 2)))
// cov(x, correction, fweights|-1, aweights|-1): rows are variables, columns observations
Napi::Value cov(const Napi::CallbackInfo& info) {
  const at::Tensor& a = T0;
  SkipAutogradIfUnneeded skip(a);
  return ret(info, at::cov(a, argInt64(info, 1), optT(info, 2), optT(info, 3)));
}
OP1(corrcoef, at::corrcoef(a))
// diff(x, n, dim, prepend|-1, append|-1)
Napi::Value diff(const Napi::CallbackInfo& info) {
  const at::Tensor& a = T0;
  SkipAutogradIfUnneeded skip(a);
  return ret(info, at::diff(a, argInt64(info, 1), argInt64(info, 2), optT(info, 3), optT(info, 4)));
}
// A histogram's range argument: [min, max, ...] or null (the data's own), kept in `storage`.
c10::optional<at::ArrayRef<double>> optRange(const Napi::CallbackInfo& info, size_t i, std::vector<double>& storage) {
  if (isNullish(info, i)) return c10::nullopt;
  Napi::Array arr = info[i].As<Napi::Array>();
  for (uint32_t k = 0; k < arr.Length(); ++k) storage.push_back(arr.Get(k).As<Napi::Number>().DoubleValue());
  return at::ArrayRef<double>(storage);
}
// histogram(x, bins, range [min, max] | null, weight|-1, density) -> [hist, binEdges]
Napi::Value histogram(const Napi::CallbackInfo& info) {
  std::vector<double> range;
  auto res = at::histogram(T0, argInt64(info, 1), optRange(info, 2, range), optT(info, 3), argBool(info, 4));
  return retPair(info, std::get<0>(res), std::get<1>(res));
}

// isin(elements, testElements, assumeUnique, invert)
OP2(isin, at::isin(a, b, argBool(info, 2), argBool(info, 3)))
// gradient(x, spacing, dims|null, edgeOrder, spacingAreTensors): spacing null, a number, an array
// of numbers, or of tensor handles (coordinates; then the flag is true); one tensor per dim
Napi::Value gradient(const Napi::CallbackInfo& info) {
  const at::Tensor& a = T0;
  bool dimList = !isNullish(info, 2) && info[2].IsArray();
  c10::optional<int64_t> dim;
  std::vector<int64_t> dims;
  if (dimList) dims = argInts(info, 2);
  else if (!isNullish(info, 2)) dim = argInt64(info, 2);
  int64_t edge = argInt64(info, 3);
  if (isNullish(info, 1) || info[1].IsNumber()) {
    c10::optional<at::Scalar> spacing;
    if (!isNullish(info, 1)) spacing = argScalar(info, 1);
    if (dimList) return retList(info, at::gradient(a, spacing.value_or(at::Scalar(1)), dims, edge));
    return retList(info, at::gradient(a, spacing, dim, edge));
  }
  Napi::Array arr = info[1].As<Napi::Array>();
  if (!argBool(info, 4)) {
    std::vector<at::Scalar> sp;
    for (uint32_t k = 0; k < arr.Length(); ++k) sp.emplace_back(arr.Get(k).As<Napi::Number>().DoubleValue());
    if (dimList) return retList(info, at::gradient(a, sp, dims, edge));
    return retList(info, at::gradient(a, sp, dim, edge));
  }
  std::vector<at::Tensor> coords = argTensors(info, 1);
  if (dimList) return retList(info, at::gradient(a, coords, dims, edge));
  return retList(info, at::gradient(a, coords, dim, edge));
}
// cumulativeTrapezoid(y, x, dim) / cumulativeTrapezoidDx(y, dx, dim)
OP2(cumulativeTrapezoid, at::cumulative_trapezoid(a, b, argInt64(info, 2)))
OP1(cumulativeTrapezoidDx, at::cumulative_trapezoid(a, argScalar(info, 1), argInt64(info, 2)))
// histogramdd(x, bins[], range|null, weight|-1, density): [hist, ...binEdges]
Napi::Value histogramdd(const Napi::CallbackInfo& info) {
  std::vector<double> range;
  auto res = at::histogramdd(T0, argInts(info, 1), optRange(info, 2, range), optT(info, 3), argBool(info, 4));
  std::vector<at::Tensor> out{std::get<0>(res)};
  for (const auto& e : std::get<1>(res)) out.push_back(e);
  return retList(info, out);
}
// indexReduce(x, dim, index, source, reduce, includeSelf)
Napi::Value indexReduce(const Napi::CallbackInfo& info) {
  const at::Tensor &a = T0, &index = argTensor(info, 2), &src = argTensor(info, 3);
  SkipAutogradIfUnneeded skip(a, src);
  return ret(info, a.index_reduce(argInt64(info, 1), index, src, argString(info, 4), argBool(info, 5)));
}
// fakeQuantizePerTensor(x, scale, zeroPoint, quantMin, quantMax): quantize then dequantize (QAT),
// gradients passed straight through inside the range
OP1(fakeQuantizePerTensor, at::fake_quantize_per_tensor_affine(a, argDouble(info, 1), argInt64(info, 2), argInt64(info, 3), argInt64(info, 4)))
// fakeQuantizePerChannel(x, scales, zeroPoints, axis, quantMin, quantMax)
Napi::Value fakeQuantizePerChannel(const Napi::CallbackInfo& info) {
  const at::Tensor &a = T0, &scale = T1, &zp = argTensor(info, 2);
  SkipAutogradIfUnneeded skip(a, scale);
  return ret(info, at::fake_quantize_per_channel_affine(a, scale, zp, argInt64(info, 3), argInt64(info, 4), argInt64(info, 5)));
}
// pdist(x, p): the distances between the rows of x, the upper triangle flattened
OP1(pdist, at::pdist(a, argDouble(info, 1)))

}  // namespace

void registerMath(Registrar& r) {
#define R(name) r.add<name>(#name)
  R(neg); R(abs); R(exp); R(log); R(log1p); R(sqrt); R(rsqrt); R(sin); R(cos); R(tanh);
  R(sigmoid); R(relu); R(erf); R(reciprocal); R(square); R(sign); R(floor); R(ceil); R(round);
  R(logicalNot); R(isnan); R(isfinite); R(isinf); R(tan); R(asin); R(acos); R(atan); R(sinh);
  R(cosh); R(asinh); R(acosh); R(atanh); R(expm1); R(exp2); R(log2); R(log10); R(trunc); R(frac);
  R(erfc); R(erfinv); R(lgamma); R(digamma); R(bernoulli); R(logit); R(nanToNum);
  R(logicalXor); R(atan2); R(fmod); R(hypot); R(xlogy); R(divMode); R(divScalarMode); R(fmodScalar);
  R(lerp); R(lerpTensor); R(isclose); R(equal);
  R(allDim); R(anyDim); R(cumprod); R(logcumsumexp); R(cummax); R(cummin); R(amax); R(amin);
  R(medianAll); R(medianDim); R(kthvalue); R(countNonzero); R(quantile); R(quantileScalar);
  R(dot); R(mv); R(kron); R(cross); R(cdist); R(tensordot); R(einsum);
  R(add); R(sub); R(mul); R(div); R(pow); R(remainder); R(maximum); R(minimum);
  R(eq); R(ne); R(lt); R(le); R(gt); R(ge); R(logicalAnd); R(logicalOr);
  R(addScalar); R(subScalar); R(rsubScalar); R(mulScalar); R(divScalar); R(powScalar); R(scalarPow);
  R(remainderScalar); R(eqScalar); R(neScalar); R(ltScalar); R(leScalar); R(gtScalar); R(geScalar);
  R(where); R(whereScalar); R(whereScalarSelf); R(maskedFill); R(maskedFillTensor); R(clamp); R(clampTensor);
  R(sum); R(mean); R(prod); R(maxAll); R(minAll); R(maxDim); R(minDim); R(argmax); R(argmin);
  R(var); r.add<std_>("std"); R(norm); R(logsumexp); R(all); R(any); R(cumsum);
  R(matmul); R(mm); R(bmm); R(addmm); R(baddbmm); R(outer);
  R(add_); R(addScalar_); R(sub_); R(mul_); R(mulScalar_); R(div_); R(divScalar_);
  R(addcmul_); R(addmm_); R(addcdiv_); R(lerp_); R(lerpTensor_); R(copy_); R(zero_); R(fill_);
  R(poisson); R(binomial); R(standardGamma); R(sampleDirichlet); R(dirichletGrad);
  R(normal_); R(uniform_); R(sqrt_); R(clampMax_); R(maskedFill_); R(maskedFillTensor_);
  R(clamp_); R(relu_); R(exp_); R(log_); R(abs_); R(neg_); R(tanh_); R(sigmoid_); R(erfinv_); R(powScalar_);
  R(acos_); R(acosh_); R(asin_); R(asinh_); R(atan_); R(atanh_); R(ceil_); R(cos_); R(cosh_); R(digamma_); R(erf_); R(erfc_);
  R(exp2_); R(expm1_); R(floor_); R(frac_); R(lgamma_); R(log10_); R(log1p_); R(log2_); R(reciprocal_); R(round_); R(rsqrt_);
  R(sign_); R(sin_); R(sinh_); R(square_); R(tan_); R(trunc_); R(deg2rad_); R(rad2deg_); R(logit_); R(nanToNum_); R(cumsum_); R(cumprod_);
  R(fmod_); R(remainder_); R(eq_); R(ne_); R(lt_); R(le_); R(gt_); R(ge_); R(floorDivide_); R(xlogy_); R(copysign_);
  R(atan2_); R(hypot_); R(logicalAnd_); R(logicalOr_); R(logicalXor_); R(logicalNot_);
  R(t_); R(transpose_); R(unsqueeze_); R(squeeze_); R(detach_); R(put_); R(resize_); R(sumToSize); R(diagflat); R(dist); R(frexp);
  R(isreal); R(put); R(isSigned); R(isNonzero); R(isNeg); R(retainsGrad); R(elementSize);
  R(subScalar_); R(fillDiagonal_); R(bernoulli_); R(exponential_); R(cauchy_); R(geometric_); R(logNormal_); R(random_); R(randomFull_); R(scatter_); R(scatterScalar_);
  R(scatterAdd_); R(indexAdd_); R(indexCopy_); R(indexFill_);
  R(logaddexp); R(logaddexp2); R(heaviside); R(gcd); R(lcm); R(bitwiseAnd); R(bitwiseOr); R(bitwiseXor);
  R(bitwiseNot); R(bitwiseLeftShift); R(bitwiseRightShift); R(sinc); R(sgn); R(signbit); R(copysign);
  R(nextafter); R(floatPower); R(floatPowerScalar); R(fmax); R(fmin); R(deg2rad); R(rad2deg); R(ldexp);
  R(isneginf); R(isposinf); R(maskedScatter); R(addcmul); R(addcdiv); R(nansum); R(nanmean); R(nanmedianAll); R(nanmedianDim);
  R(mode); R(aminmax); R(stdMean); R(varMean); R(msort); R(logdet); R(renorm); R(addmv); R(inner); R(vdot);
  R(trapezoid); R(trapezoidDx); R(cov); R(corrcoef); R(diff); R(histogram); R(triu_); R(tril_);
  R(addbmm); R(addr); R(elu_); R(celu_); R(selu_); R(leakyRelu_); R(hardtanh_); R(threshold_); R(isin); R(gradient); R(cumulativeTrapezoid); R(cumulativeTrapezoidDx); R(histogramdd); R(indexReduce); R(pdist); R(fakeQuantizePerTensor); R(fakeQuantizePerChannel);
#undef R
}

}  // namespace tstorch
