// torch.special: special functions by PyTorch's names (camelCased). Those that are also Tensor
// methods (erf, digamma, logit, ...) are the same calls; the rest are one libtorch call each.
import { native } from './native';
import { Tensor, _self as self, _wrap as wrap, _id as id } from './tensor';

type Dims = number | number[];
const unary = (op: string) => (x: Tensor): Tensor => wrap(native[op](id(x)));
const binary = (op: string) => (x: Tensor, y: Tensor): Tensor => wrap(native[op](id(x), id(y)));
/** An orthogonal polynomial of degree n (a number, or a tensor broadcast against x). */
const polynomial = (op: string) => (x: Tensor, n: Tensor | number): Tensor => wrap(typeof n === 'number' ? native[op](id(x), -1, n) : native[op](id(x), id(n), 0));

// ---- the same as Tensor methods ----
export const erf = (x: Tensor) => self('torch.special.erf', x).erf();
export const erfc = (x: Tensor) => self('torch.special.erfc', x).erfc();
export const erfinv = (x: Tensor) => self('torch.special.erfinv', x).erfinv();
export const expm1 = (x: Tensor) => self('torch.special.expm1', x).expm1();
export const exp2 = (x: Tensor) => self('torch.special.exp2', x).exp2();
export const log1p = (x: Tensor) => self('torch.special.log1p', x).log1p();
export const digamma = (x: Tensor) => self('torch.special.digamma', x).digamma();
export const psi = digamma;
export const gammaln = (x: Tensor) => self('torch.special.gammaln', x).lgamma();
/** The logistic sigmoid 1 / (1 + e^-x). */
export const expit = (x: Tensor) => self('torch.special.expit', x).sigmoid();
export const logit = (x: Tensor, eps?: number | null | { eps?: number | null }) => self('torch.special.logit', x).logit(eps);
/** sin(pi x) / (pi x), 1 at 0. */
export const sinc = (x: Tensor) => self('torch.special.sinc', x).sinc();
export const round = (x: Tensor) => self('torch.special.round', x).round();
export const xlogy = (x: Tensor, y: Tensor) => self('torch.special.xlogy', x).xlogy(y);
export const logsumexp = (x: Tensor, dim: Dims, keepdim = false) => self('torch.special.logsumexp', x).logsumexp(dim, keepdim);
export const softmax = (x: Tensor, dim: number) => wrap(native.softmax(id(x), dim));
export const logSoftmax = (x: Tensor, dim: number) => wrap(native.logSoftmax(id(x), dim));

// ---- their own ----
/** -x ln x (0 at 0, -inf below). */
export const entr = unary('specialEntr');
/** The scaled complementary error function e^(x²) erfc(x). */
export const erfcx = unary('specialErfcx');
/** Modified Bessel functions of the first kind, orders 0 and 1, and their exponentially scaled forms. */
export const i0 = unary('specialI0');
export const i0e = unary('specialI0e');
export const i1 = unary('specialI1');
export const i1e = unary('specialI1e');
/** The standard normal CDF, its inverse, and its log. */
export const ndtr = unary('specialNdtr');
export const ndtri = unary('specialNdtri');
export const logNdtr = unary('specialLogNdtr');
/** x ln(1 + y) (0 where x is 0). */
export const xlog1py = binary('specialXlog1py');
/** The Hurwitz zeta function ζ(x, q). */
export const zeta = binary('specialZeta');
/** The regularized lower and upper incomplete gamma functions P(a, x), Q(a, x). */
export const gammainc = binary('specialGammainc');
export const gammaincc = binary('specialGammaincc');
/** The n-th derivative of digamma. */
export const polygamma = (n: number, x: Tensor) => wrap(native.specialPolygamma(id(x), n));
/** The multivariate log-gamma function of dimension p (elements must be > (p - 1) / 2). */
export const multigammaln = (x: Tensor, p: number) => wrap(native.specialMultigammaln(id(x), p));
export const besselJ0 = unary('specialBesselJ0');
export const besselJ1 = unary('specialBesselJ1');
export const besselY0 = unary('specialBesselY0');
export const besselY1 = unary('specialBesselY1');
export const modifiedBesselI0 = unary('specialModifiedBesselI0');
export const modifiedBesselI1 = unary('specialModifiedBesselI1');
export const modifiedBesselK0 = unary('specialModifiedBesselK0');
export const modifiedBesselK1 = unary('specialModifiedBesselK1');
export const scaledModifiedBesselK0 = unary('specialScaledModifiedBesselK0');
export const scaledModifiedBesselK1 = unary('specialScaledModifiedBesselK1');
export const sphericalBesselJ0 = unary('specialSphericalBesselJ0');
export const airyAi = unary('specialAiryAi');
export const chebyshevPolynomialT = polynomial('specialChebyshevPolynomialT');
export const chebyshevPolynomialU = polynomial('specialChebyshevPolynomialU');
export const chebyshevPolynomialV = polynomial('specialChebyshevPolynomialV');
export const chebyshevPolynomialW = polynomial('specialChebyshevPolynomialW');
export const shiftedChebyshevPolynomialT = polynomial('specialShiftedChebyshevPolynomialT');
export const shiftedChebyshevPolynomialU = polynomial('specialShiftedChebyshevPolynomialU');
export const shiftedChebyshevPolynomialV = polynomial('specialShiftedChebyshevPolynomialV');
export const shiftedChebyshevPolynomialW = polynomial('specialShiftedChebyshevPolynomialW');
/** Physicists' (H) and probabilists' (He) Hermite polynomials. */
export const hermitePolynomialH = polynomial('specialHermitePolynomialH');
export const hermitePolynomialHe = polynomial('specialHermitePolynomialHe');
export const laguerrePolynomialL = polynomial('specialLaguerrePolynomialL');
export const legendrePolynomialP = polynomial('specialLegendrePolynomialP');
