// torch.special: the special functions of ATen's special_ namespace that have no Tensor method
// here yet (Bessel functions, incomplete gamma, orthogonal polynomials, ...). One ATen call each.
#include "common.h"

namespace tstorch {
namespace {

OP1(specialEntr, at::special_entr(a))
OP1(specialErfcx, at::special_erfcx(a))
OP1(specialI0, at::special_i0(a))
OP1(specialI0e, at::special_i0e(a))
OP1(specialI1, at::special_i1(a))
OP1(specialI1e, at::special_i1e(a))
OP1(specialNdtr, at::special_ndtr(a))
OP1(specialNdtri, at::special_ndtri(a))
OP1(specialLogNdtr, at::special_log_ndtr(a))
OP1(specialBesselJ0, at::special_bessel_j0(a))
OP1(specialBesselJ1, at::special_bessel_j1(a))
OP1(specialBesselY0, at::special_bessel_y0(a))
OP1(specialBesselY1, at::special_bessel_y1(a))
OP1(specialModifiedBesselI0, at::special_modified_bessel_i0(a))
OP1(specialModifiedBesselI1, at::special_modified_bessel_i1(a))
OP1(specialModifiedBesselK0, at::special_modified_bessel_k0(a))
OP1(specialModifiedBesselK1, at::special_modified_bessel_k1(a))
OP1(specialScaledModifiedBesselK0, at::special_scaled_modified_bessel_k0(a))
OP1(specialScaledModifiedBesselK1, at::special_scaled_modified_bessel_k1(a))
OP1(specialSphericalBesselJ0, at::special_spherical_bessel_j0(a))
OP1(specialAiryAi, at::special_airy_ai(a))
OP2(specialXlog1py, at::special_xlog1py(a, b))
OP2(specialZeta, at::special_zeta(a, b))
OP2(specialGammainc, at::special_gammainc(a, b))
OP2(specialGammaincc, at::special_gammaincc(a, b))
// (x, n): the n-th derivative of digamma
OP1(specialPolygamma, at::special_polygamma(argInt64(info, 1), a))
// (x, p): the multivariate log-gamma of dimension p
OP1(specialMultigammaln, at::special_multigammaln(a, argInt64(info, 1)))

// Orthogonal polynomials of degree n: (x, n's tensor or -1, n as a number).
#define POLY(name, fn)                                                      \
  Napi::Value name(const Napi::CallbackInfo& info) {                        \
    const at::Tensor& a = argTensor(info, 0);                               \
    if (argInt(info, 1) < 0) return ret(info, fn(a, argScalar(info, 2)));   \
    const at::Tensor& b = argTensor(info, 1);                               \
    SkipAutogradIfUnneeded skip(a, b);                                      \
    return ret(info, fn(a, b));                                             \
  }
POLY(specialChebyshevPolynomialT, at::special_chebyshev_polynomial_t)
POLY(specialChebyshevPolynomialU, at::special_chebyshev_polynomial_u)
POLY(specialChebyshevPolynomialV, at::special_chebyshev_polynomial_v)
POLY(specialChebyshevPolynomialW, at::special_chebyshev_polynomial_w)
POLY(specialShiftedChebyshevPolynomialT, at::special_shifted_chebyshev_polynomial_t)
POLY(specialShiftedChebyshevPolynomialU, at::special_shifted_chebyshev_polynomial_u)
POLY(specialShiftedChebyshevPolynomialV, at::special_shifted_chebyshev_polynomial_v)
POLY(specialShiftedChebyshevPolynomialW, at::special_shifted_chebyshev_polynomial_w)
POLY(specialHermitePolynomialH, at::special_hermite_polynomial_h)
POLY(specialHermitePolynomialHe, at::special_hermite_polynomial_he)
POLY(specialLaguerrePolynomialL, at::special_laguerre_polynomial_l)
POLY(specialLegendrePolynomialP, at::special_legendre_polynomial_p)

}  // namespace

void registerSpecial(Registrar& r) {
#define R(name) r.add<name>(#name)
  R(specialEntr); R(specialErfcx); R(specialI0); R(specialI0e); R(specialI1); R(specialI1e);
  R(specialNdtr); R(specialNdtri); R(specialLogNdtr);
  R(specialBesselJ0); R(specialBesselJ1); R(specialBesselY0); R(specialBesselY1);
  R(specialModifiedBesselI0); R(specialModifiedBesselI1); R(specialModifiedBesselK0); R(specialModifiedBesselK1);
  R(specialScaledModifiedBesselK0); R(specialScaledModifiedBesselK1); R(specialSphericalBesselJ0); R(specialAiryAi);
  R(specialXlog1py); R(specialZeta); R(specialGammainc); R(specialGammaincc); R(specialPolygamma); R(specialMultigammaln);
  R(specialChebyshevPolynomialT); R(specialChebyshevPolynomialU); R(specialChebyshevPolynomialV); R(specialChebyshevPolynomialW);
  R(specialShiftedChebyshevPolynomialT); R(specialShiftedChebyshevPolynomialU);
  R(specialShiftedChebyshevPolynomialV); R(specialShiftedChebyshevPolynomialW);
  R(specialHermitePolynomialH); R(specialHermitePolynomialHe); R(specialLaguerrePolynomialL); R(specialLegendrePolynomialP);
#undef R
}

}  // namespace tstorch
