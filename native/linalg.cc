// torch.linalg, the creation ops with spacing (linspace, logspace) and torch.autograd.grad.
#include <torch/csrc/autograd/autograd.h>

#include "common.h"

namespace tstorch {
namespace {

#define T0 argTensor(info, 0)
#define OP(name, expr) \
  Napi::Value name(const Napi::CallbackInfo& info) { return ret(info, expr); }

// --- creation ---
// linspace(start, end, steps, dtype, device), logspace(start, end, steps, base, dtype, device)
Napi::Value linspace(const Napi::CallbackInfo& info) {
  FACTORY_GUARD;
  return ret(info, at::linspace(argScalar(info, 0), argScalar(info, 1), argInt64(info, 2), argOptions(info, 3, 4)));
}
Napi::Value logspace(const Napi::CallbackInfo& info) {
  FACTORY_GUARD;
  return ret(info, at::logspace(argScalar(info, 0), argScalar(info, 1), argInt64(info, 2), argDouble(info, 3), argOptions(info, 4, 5)));
}

// --- linalg: each is torch.linalg's function of the same name ---
OP(linalgInv, at::linalg_inv(T0))
OP(linalgDet, at::linalg_det(T0))
OP(linalgSolve, at::linalg_solve(T0, argTensor(info, 1)))
OP(linalgCholesky, at::linalg_cholesky(T0, argBool(info, 1)))
// linalgSolveTriangular(A, B, upper, left, unitriangular)
OP(linalgSolveTriangular, at::linalg_solve_triangular(T0, argTensor(info, 1), argBool(info, 2), argBool(info, 3), argBool(info, 4)))
// choleskyInverse(L, upper): the inverse of L L^T (torch.cholesky_inverse)
OP(choleskyInverse, at::cholesky_inverse(T0, argBool(info, 1)))
// choleskySolve(B, L, upper): (L L^T)^-1 B (torch.cholesky_solve)
OP(choleskySolve, at::cholesky_solve(T0, argTensor(info, 1), argBool(info, 2)))
OP(linalgPinv, at::linalg_pinv(T0, argDouble(info, 1), argBool(info, 2)))
// linalgPinvTol(x, atol|null, rtol|null, hermitian): singular values under max(atol, rtol * the
// largest) dropped; neither given: rtol = eps * max(m, n), PyTorch's default for linalg.pinv
Napi::Value linalgPinvTol(const Napi::CallbackInfo& info) {
  auto tol = [&](size_t i) { return isNullish(info, i) ? c10::optional<double>() : c10::optional<double>(argDouble(info, i)); };
  return ret(info, at::linalg_pinv(T0, tol(1), tol(2), argBool(info, 3)));
}
OP(linalgMatrixExp, at::linalg_matrix_exp(T0))
OP(linalgMatrixPower, at::linalg_matrix_power(T0, argInt64(info, 1)))
OP(linalgMatrixRank, at::linalg_matrix_rank(T0, c10::optional<double>(), c10::optional<double>(), argBool(info, 1)))
// linalgVectorNorm(x, ord, dims|null, keepdim)
Napi::Value linalgVectorNorm(const Napi::CallbackInfo& info) {
  c10::optional<at::IntArrayRef> dims;
  std::vector<int64_t> d;
  if (!isNullish(info, 2)) {
    d = argInts(info, 2);
    dims = d;
  }
  return ret(info, at::linalg_vector_norm(T0, argScalar(info, 1), dims, argBool(info, 3)));
}
// linalgMatrixNorm(x, ord: number | 'fro' | 'nuc', keepdim): over the last two dims
Napi::Value linalgMatrixNorm(const Napi::CallbackInfo& info) {
  std::vector<int64_t> dims{-2, -1};
  if (info[1].IsString()) return ret(info, at::linalg_matrix_norm(T0, argString(info, 1), dims, argBool(info, 2)));
  return ret(info, at::linalg_matrix_norm(T0, argScalar(info, 1), dims, argBool(info, 2)));
}
// An optional list of dims (null: none), kept in `storage`.
at::OptionalIntArrayRef optDims(const Napi::CallbackInfo& info, size_t i, std::vector<int64_t>& storage) {
  if (isNullish(info, i)) return c10::nullopt;
  storage = argInts(info, i);
  return storage;
}
// linalgNorm(x, ord: number | 'fro' | 'nuc' | null, dims | null, keepdim): linalg.norm (vector or matrix by dims)
Napi::Value linalgNorm(const Napi::CallbackInfo& info) {
  std::vector<int64_t> d;
  at::OptionalIntArrayRef dims = optDims(info, 2, d);
  if (info[1].IsString()) return ret(info, at::linalg_norm(T0, argString(info, 1), dims, argBool(info, 3)));
  c10::optional<at::Scalar> ord = isNullish(info, 1) ? c10::nullopt : c10::optional<at::Scalar>(argScalar(info, 1));
  return ret(info, at::linalg_norm(T0, ord, dims, argBool(info, 3)));
}
// linalgCond(x, p: number | 'fro' | 'nuc' | null)
Napi::Value linalgCond(const Napi::CallbackInfo& info) {
  if (info[1].IsString()) return ret(info, at::linalg_cond(T0, argString(info, 1)));
  return ret(info, at::linalg_cond(T0, isNullish(info, 1) ? c10::nullopt : c10::optional<at::Scalar>(argScalar(info, 1))));
}
Napi::Value linalgLu(const Napi::CallbackInfo& info) {
  auto r = at::linalg_lu(T0, argBool(info, 1));
  return retList(info, {std::get<0>(r), std::get<1>(r), std::get<2>(r)});
}
Napi::Value linalgLuFactor(const Napi::CallbackInfo& info) {
  auto r = at::linalg_lu_factor(T0, argBool(info, 1));
  return retPair(info, std::get<0>(r), std::get<1>(r));
}
OP(linalgLuSolve, at::linalg_lu_solve(T0, argTensor(info, 1), argTensor(info, 2), argBool(info, 3), argBool(info, 4)))
// luUnpack(LU, pivots, unpackData, unpackPivots): [P, L, U] (torch.lu_unpack)
Napi::Value luUnpack(const Napi::CallbackInfo& info) {
  auto r = at::lu_unpack(T0, argTensor(info, 1), argBool(info, 2), argBool(info, 3));
  return retList(info, {std::get<0>(r), std::get<1>(r), std::get<2>(r)});
}
// linalgLuFactorEx(A, pivot): [LU, pivots, info] (info > 0: singular, no error thrown)
Napi::Value linalgLuFactorEx(const Napi::CallbackInfo& info) {
  auto r = at::linalg_lu_factor_ex(T0, argBool(info, 1), false);
  return retList(info, {std::get<0>(r), std::get<1>(r), std::get<2>(r)});
}
// linalgSolveEx(A, B, left): [result, info]
Napi::Value linalgSolveEx(const Napi::CallbackInfo& info) {
  auto r = at::linalg_solve_ex(T0, argTensor(info, 1), argBool(info, 2), false);
  return retPair(info, std::get<0>(r), std::get<1>(r));
}
// linalgLdlFactorEx(A, hermitian): [LD, pivots, info] (symmetric indefinite: Bunch-Kaufman)
Napi::Value linalgLdlFactorEx(const Napi::CallbackInfo& info) {
  auto r = at::linalg_ldl_factor_ex(T0, argBool(info, 1), false);
  return retList(info, {std::get<0>(r), std::get<1>(r), std::get<2>(r)});
}
// linalgLdlSolve(LD, pivots, B, hermitian)
OP(linalgLdlSolve, at::linalg_ldl_solve(T0, argTensor(info, 1), argTensor(info, 2), argBool(info, 3)))
// linalgVecdot(x, y, dim): sum over dim of conj(x) * y
OP(linalgVecdot, at::linalg_vecdot(T0, argTensor(info, 1), argInt64(info, 2)))
Napi::Value linalgCholeskyEx(const Napi::CallbackInfo& info) {
  auto r = at::linalg_cholesky_ex(T0, argBool(info, 1), false);
  return retPair(info, std::get<0>(r), std::get<1>(r));
}
Napi::Value linalgInvEx(const Napi::CallbackInfo& info) {
  auto r = at::linalg_inv_ex(T0, false);
  return retPair(info, std::get<0>(r), std::get<1>(r));
}
OP(linalgMultiDot, at::linalg_multi_dot(argTensors(info, 0)))
OP(linalgHouseholderProduct, at::linalg_householder_product(T0, argTensor(info, 1)))
OP(linalgTensorinv, at::linalg_tensorinv(T0, argInt64(info, 1)))
Napi::Value linalgTensorsolve(const Napi::CallbackInfo& info) {
  std::vector<int64_t> d;
  return ret(info, at::linalg_tensorsolve(T0, argTensor(info, 1), optDims(info, 2, d)));
}
// vander(x, N|null, increasing): torch.vander
OP(vander, at::vander(T0, isNullish(info, 1) ? c10::nullopt : c10::optional<int64_t>(argInt64(info, 1)), argBool(info, 2)))
OP(linalgVander, at::linalg_vander(T0, isNullish(info, 1) ? c10::nullopt : c10::optional<int64_t>(argInt64(info, 1))))
OP(linalgCross, at::linalg_cross(T0, argTensor(info, 1), argInt64(info, 2)))
OP(linalgDiagonal, at::linalg_diagonal(T0, argInt64(info, 1), argInt64(info, 2), argInt64(info, 3)))
Napi::Value linalgSlogdet(const Napi::CallbackInfo& info) {
  auto r = at::linalg_slogdet(T0);
  return retPair(info, std::get<0>(r), std::get<1>(r));
}
Napi::Value linalgQr(const Napi::CallbackInfo& info) {
  auto r = at::linalg_qr(T0, argString(info, 1));
  return retPair(info, std::get<0>(r), std::get<1>(r));
}
Napi::Value linalgEigh(const Napi::CallbackInfo& info) {
  auto r = at::linalg_eigh(T0, argString(info, 1));
  return retPair(info, std::get<0>(r), std::get<1>(r));
}
Napi::Value linalgSvd(const Napi::CallbackInfo& info) {
  auto r = at::linalg_svd(T0, argBool(info, 1));
  return retList(info, {std::get<0>(r), std::get<1>(r), std::get<2>(r)});
}
OP(linalgSvdvals, at::linalg_svdvals(T0))
OP(linalgEigvalsh, at::linalg_eigvalsh(T0, argString(info, 1)))
// linalgLstsq(A, B, rcond|null, driver|null): [solution, residuals, rank, singular_values]
Napi::Value linalgLstsq(const Napi::CallbackInfo& info) {
  c10::optional<double> rcond = isNullish(info, 2) ? c10::nullopt : c10::optional<double>(argDouble(info, 2));
  std::string driver = isNullish(info, 3) ? "" : argString(info, 3);
  auto r = at::linalg_lstsq(T0, argTensor(info, 1), rcond, driver.empty() ? c10::nullopt : c10::optional<c10::string_view>(driver));
  return retList(info, {std::get<0>(r), std::get<1>(r), std::get<2>(r), std::get<3>(r)});
}
// geqrf(A): LAPACK's QR in Householder form [a, tau] (torch.geqrf)
Napi::Value geqrf(const Napi::CallbackInfo& info) {
  auto r = at::geqrf(T0);
  return retPair(info, std::get<0>(r), std::get<1>(r));
}
// ormqr(A, tau, C, left, transpose): C times the Q of geqrf's (A, tau) (torch.ormqr)
OP(ormqr, at::ormqr(T0, argTensor(info, 1), argTensor(info, 2), argBool(info, 3), argBool(info, 4)))

// --- autograd ---
// grad(outputs, inputs, gradOutputs (handles, -1 = none), retainGraph, createGraph, allowUnused):
// torch.autograd.grad; an input the outputs do not depend on gives -1 (None) when allowUnused.
Napi::Value autogradGrad(const Napi::CallbackInfo& info) {
  std::vector<at::Tensor> outputs = argTensors(info, 0), inputs = argTensors(info, 1);
  std::vector<at::Tensor> gradOutputs;
  if (!isNullish(info, 2)) {
    Napi::Array g = info[2].As<Napi::Array>();
    for (uint32_t k = 0; k < g.Length(); ++k) {
      int32_t h = g.Get(k).As<Napi::Number>().Int32Value();
      gradOutputs.push_back(h < 0 ? at::Tensor() : table(info).get(h));
    }
  }
  bool retain = argBool(info, 3), create = argBool(info, 4), allowUnused = argBool(info, 5);
  std::vector<at::Tensor> grads;
  checkImplicitGrads(outputs, gradOutputs);
  runAutograd(table(info), [&] { grads = torch::autograd::grad(outputs, inputs, gradOutputs, retain, create, allowUnused); });
  return retList(info, grads);
}

// autogradBackward(outputs, gradOutputs|null, retainGraph, createGraph, inputs): torch.autograd.backward,
// accumulating into .grad (of inputs only, when given).
Napi::Value autogradBackward(const Napi::CallbackInfo& info) {
  std::vector<at::Tensor> outputs = argTensors(info, 0), inputs = argTensors(info, 4);
  std::vector<at::Tensor> gradOutputs;
  if (!isNullish(info, 1)) {
    Napi::Array g = info[1].As<Napi::Array>();
    for (uint32_t k = 0; k < g.Length(); ++k) {
      int32_t h = g.Get(k).As<Napi::Number>().Int32Value();
      gradOutputs.push_back(h < 0 ? at::Tensor() : table(info).get(h));
    }
  }
  bool retain = argBool(info, 2), create = argBool(info, 3);
  checkImplicitGrads(outputs, gradOutputs);
  runAutograd(table(info), [&] { torch::autograd::backward(outputs, gradOutputs, retain, create, inputs); });
  return info.Env().Undefined();
}

#undef OP

}  // namespace

void registerLinalg(Registrar& r) {
#define R(name) r.add<name>(#name)
  R(linspace); R(logspace);
  R(linalgInv); R(linalgDet); R(linalgSolve); R(linalgCholesky); R(linalgSolveTriangular); R(choleskyInverse); R(choleskySolve); R(linalgPinv); R(linalgPinvTol); R(linalgMatrixExp);
  R(linalgMatrixPower); R(linalgMatrixRank); R(linalgVectorNorm); R(linalgMatrixNorm); R(linalgSlogdet);
  R(linalgQr); R(linalgEigh); R(linalgSvd); R(linalgSvdvals); R(linalgEigvalsh); R(linalgLstsq);
  R(linalgNorm); R(linalgCond); R(linalgLu); R(luUnpack); R(linalgLuFactor); R(linalgLuSolve); R(linalgLuFactorEx); R(linalgSolveEx); R(linalgLdlFactorEx); R(linalgLdlSolve); R(linalgVecdot); R(linalgCholeskyEx); R(linalgInvEx);
  R(linalgMultiDot); R(linalgHouseholderProduct); R(geqrf); R(ormqr); R(linalgTensorinv); R(linalgTensorsolve); R(linalgVander); R(vander); R(linalgCross); R(linalgDiagonal);
  R(autogradGrad); R(autogradBackward);
#undef R
}

}  // namespace tstorch
