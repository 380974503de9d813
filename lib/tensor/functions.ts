// torch.<op>(x, ...): the functional forms of the Tensor methods, as PyTorch has them beside its
// methods (torch.sum(x, 1) is x.sum(1)). Each is the method itself, typed as the method is.
import { Tensor, ValuesIndices, TensorLike, UniqueConsecutiveArgs, UniqueOf, _self, _wrap as wrap, _id as id } from './tensor';
import { native } from './native';

type Method<K extends keyof Tensor> = Tensor[K] extends (...args: infer A) => infer R ? (x: Tensor, ...args: A) => R : never;
function method<K extends keyof Tensor>(name: K): Method<K> {
  return ((x: Tensor, ...args: unknown[]) => (_self(`torch.${String(name)}`, x)[name] as (...a: unknown[]) => unknown)(...args)) as Method<K>;
}

/** torch.pow(x, exponent), or torch.pow(base, x) for a number base (2 ** x elementwise). */
function powOf(x: TensorLike, exponent: TensorLike): Tensor {
  if (typeof x === 'number') {
    if (!(exponent instanceof Tensor)) throw new Error('torch.pow: give a tensor as the base or the exponent (for two numbers use Math.pow)');
    return wrap(native.scalarPow(id(exponent), x));
  }
  if (!(x instanceof Tensor)) throw new Error('torch.pow: the first argument must be a Tensor or a number');
  return x.pow(exponent);
}

export const abs = method('abs'), absolute = method('absolute'), acos = method('acos'), acosh = method('acosh'), add = method('add'), addcdiv = method('addcdiv'), addcmul = method('addcmul'), addmv = method('addmv');
export const adjoint = method('adjoint'), all = method('all'), aminmax = method('aminmax'), any = method('any'), arccos = method('arccos'), arccosh = method('arccosh'), arcsin = method('arcsin'), arcsinh = method('arcsinh');
export const arctan = method('arctan'), arctan2 = method('arctan2'), arctanh = method('arctanh'), argmax = method('argmax'), argmin = method('argmin'), argsort = method('argsort'), argwhere = method('argwhere'), asin = method('asin');
export const asinh = method('asinh'), atan = method('atan'), atanh = method('atanh'), baddbmm = method('baddbmm'), bitwiseAnd = method('bitwiseAnd'), bitwiseLeftShift = method('bitwiseLeftShift'), bitwiseNot = method('bitwiseNot'), bitwiseOr = method('bitwiseOr');
export const bitwiseRightShift = method('bitwiseRightShift'), bitwiseXor = method('bitwiseXor'), broadcastTo = method('broadcastTo'), ceil = method('ceil'), chunk = method('chunk'), clampMax = method('clampMax'), clampMin = method('clampMin'), clip = method('clip');
export const clone = method('clone'), copysign = method('copysign'), cos = method('cos'), cosh = method('cosh'), countNonzero = method('countNonzero'), cummax = method('cummax'), cummin = method('cummin'), deg2rad = method('deg2rad');
export const detach = method('detach'), diagEmbed = method('diagEmbed'), diagflat = method('diagflat'), digamma = method('digamma'), dist = method('dist'), div = method('div'), divide = method('divide'), dsplit = method('dsplit');
export const eq = method('eq'), erf = method('erf'), erfc = method('erfc'), erfinv = method('erfinv'), exp2 = method('exp2'), expm1 = method('expm1'), fix = method('fix'), flatten = method('flatten');
export const fliplr = method('fliplr'), flipud = method('flipud'), floatPower = method('floatPower'), floor = method('floor'), floorDivide = method('floorDivide'), fmax = method('fmax'), fmin = method('fmin'), fmod = method('fmod');
export const frac = method('frac'), frexp = method('frexp'), gather = method('gather'), gcd = method('gcd'), ge = method('ge'), ger = method('ger'), greater = method('greater'), greaterEqual = method('greaterEqual');
export const gt = method('gt'), heaviside = method('heaviside'), histc = method('histc'), hsplit = method('hsplit'), hypot = method('hypot'), i0 = method('i0'), igamma = method('igamma'), igammac = method('igammac');
export const indexAdd = method('indexAdd'), indexCopy = method('indexCopy'), indexFill = method('indexFill'), indexSelect = method('indexSelect'), inner = method('inner'), isConj = method('isConj'), isFloatingPoint = method('isFloatingPoint'), isInference = method('isInference');
export const isNeg = method('isNeg'), isNonzero = method('isNonzero'), isSameSize = method('isSameSize'), isSigned = method('isSigned'), isfinite = method('isfinite'), isinf = method('isinf'), isnan = method('isnan'), isneginf = method('isneginf');
export const isposinf = method('isposinf'), isreal = method('isreal'), kthvalue = method('kthvalue'), lcm = method('lcm'), ldexp = method('ldexp'), le = method('le'), less = method('less'), lessEqual = method('lessEqual');
export const lgamma = method('lgamma'), log10 = method('log10'), log1p = method('log1p'), log2 = method('log2'), logSoftmax = method('logSoftmax'), logaddexp2 = method('logaddexp2'), logcumsumexp = method('logcumsumexp'), logdet = method('logdet');
export const logicalAnd = method('logicalAnd'), logicalNot = method('logicalNot'), logicalOr = method('logicalOr'), logicalXor = method('logicalXor'), logit = method('logit'), logsumexp = method('logsumexp'), lt = method('lt'), maskedFill = method('maskedFill');
export const maskedScatter = method('maskedScatter'), mean = method('mean'), mode = method('mode'), moveaxis = method('moveaxis'), msort = method('msort');
export const mul = method('mul'), multiply = method('multiply'), mv = method('mv'), mvlgamma = method('mvlgamma'), nanToNum = method('nanToNum'), nanmean = method('nanmean'), nansum = method('nansum');
export const narrow = method('narrow'), narrowCopy = method('narrowCopy'), ne = method('ne'), neg = method('neg'), negative = method('negative'), nextafter = method('nextafter'), norm = method('norm'), notEqual = method('notEqual'), numel = method('numel');
export const permute = method('permute'), polygamma = method('polygamma'), positive = method('positive'), pow = powOf, prod = method('prod'), put = method('put'), quantile = method('quantile'), rad2deg = method('rad2deg');
export const ravel = method('ravel'), reciprocal = method('reciprocal'), relu = method('relu'), remainder = method('remainder'), renorm = method('renorm'), repeatInterleave = method('repeatInterleave'), reshape = method('reshape'), resolveConj = method('resolveConj');
export const resolveNeg = method('resolveNeg'), rot90 = method('rot90'), round = method('round'), rsqrt = method('rsqrt'), rsub = method('rsub'), scatter = method('scatter'), scatterAdd = method('scatterAdd'), scatterReduce = method('scatterReduce');
export const select = method('select'), sgn = method('sgn'), sigmoid = method('sigmoid'), sign = method('sign'), signbit = method('signbit'), sin = method('sin'), sinc = method('sinc'), sinh = method('sinh');
export const softmax = method('softmax'), split = method('split'), square = method('square'), squeeze = method('squeeze'), std = method('std'), stdMean = method('stdMean'), sub = method('sub'), subtract = method('subtract');
export const sum = method('sum'), swapaxes = method('swapaxes'), swapdims = method('swapdims'), t = method('t'), take = method('take'), tan = method('tan'), tensorSplit = method('tensorSplit'), tile = method('tile');
/** torch.unique_consecutive: typed as the method is (a tensor, or the tuple of what is asked for). */
export const uniqueConsecutive = <A extends UniqueConsecutiveArgs>(x: Tensor, ...args: A): UniqueOf<A, 'consecutive'> => method('uniqueConsecutive')(x, ...args) as UniqueOf<A, 'consecutive'>;
export const transpose = method('transpose'), trueDivide = method('trueDivide'), trunc = method('trunc'), unflatten = method('unflatten'), unsqueeze = method('unsqueeze'), var_ = method('var'), varMean = method('varMean');
export const vdot = method('vdot'), vsplit = method('vsplit'), xlogy = method('xlogy');
// The in-place forms PyTorch also has as torch.<op>_(x): the method, on x itself.
export const abs_ = method('abs_'), acos_ = method('acos_'), acosh_ = method('acosh_'), asin_ = method('asin_'), asinh_ = method('asinh_'), atan_ = method('atan_'), atanh_ = method('atanh_'), ceil_ = method('ceil_');
export const clamp_ = method('clamp_'), clampMax_ = method('clampMax_'), clampMin_ = method('clampMin_'), clip_ = method('clip_'), cos_ = method('cos_'), cosh_ = method('cosh_'), deg2rad_ = method('deg2rad_'), detach_ = method('detach_');
export const erf_ = method('erf_'), erfc_ = method('erfc_'), exp2_ = method('exp2_'), exp_ = method('exp_'), expm1_ = method('expm1_'), fill_ = method('fill_'), fix_ = method('fix_'), floor_ = method('floor_');
export const frac_ = method('frac_'), indexPut_ = method('indexPut_'), log10_ = method('log10_'), log1p_ = method('log1p_'), log2_ = method('log2_'), log_ = method('log_'), logit_ = method('logit_'), nanToNum_ = method('nanToNum_');
export const neg_ = method('neg_'), rad2deg_ = method('rad2deg_'), reciprocal_ = method('reciprocal_'), relu_ = method('relu_'), round_ = method('round_'), rsqrt_ = method('rsqrt_'), sigmoid_ = method('sigmoid_'), sin_ = method('sin_');
export const sinh_ = method('sinh_'), sqrt_ = method('sqrt_'), square_ = method('square_'), tan_ = method('tan_'), tanh_ = method('tanh_'), trunc_ = method('trunc_'), xlogy_ = method('xlogy_'), zero_ = method('zero_');
export const arccos_ = method('arccos_'), arccosh_ = method('arccosh_'), arcsin_ = method('arcsin_'), arcsinh_ = method('arcsinh_'), arctan_ = method('arctan_'), arctanh_ = method('arctanh_'), negative_ = method('negative_');
export const gcd_ = method('gcd_'), lcm_ = method('lcm_'), ldexp_ = method('ldexp_'), i0_ = method('i0_'), sinc_ = method('sinc_');
export const asStrided = method('asStrided'), getDevice = method('getDevice');
/** torch.var (var is a reserved word in TS: defined as var_). */
export { var_ as var };

// The overloaded reductions: over everything, or { values, indices } along dim (and torch.max(a, b):
// the elementwise maximum, as PyTorch's).
export function max(x: Tensor): Tensor;
export function max(x: Tensor, dim: number | { dim: number; keepdim?: boolean }, keepdim?: boolean | { keepdim?: boolean }): ValuesIndices;
export function max(x: Tensor, other: Tensor): Tensor;
export function max(x: Tensor, dim?: number | Tensor | { dim: number; keepdim?: boolean }, keepdim?: boolean | { keepdim?: boolean }): Tensor | ValuesIndices {
  if (dim instanceof Tensor) return x.maximum(dim);
  return dim === undefined ? x.max() : x.max(dim, keepdim);
}
export function min(x: Tensor): Tensor;
export function min(x: Tensor, dim: number | { dim: number; keepdim?: boolean }, keepdim?: boolean | { keepdim?: boolean }): ValuesIndices;
export function min(x: Tensor, other: Tensor): Tensor;
export function min(x: Tensor, dim?: number | Tensor | { dim: number; keepdim?: boolean }, keepdim?: boolean | { keepdim?: boolean }): Tensor | ValuesIndices {
  if (dim instanceof Tensor) return x.minimum(dim);
  return dim === undefined ? x.min() : x.min(dim, keepdim);
}
export function median(x: Tensor): Tensor;
export function median(x: Tensor, dim: number | { dim: number; keepdim?: boolean }, keepdim?: boolean | { keepdim?: boolean }): ValuesIndices;
export function median(x: Tensor, dim?: number | { dim: number; keepdim?: boolean }, keepdim?: boolean | { keepdim?: boolean }): Tensor | ValuesIndices {
  return dim === undefined ? x.median() : x.median(dim, keepdim);
}
export function nanmedian(x: Tensor): Tensor;
export function nanmedian(x: Tensor, dim: number | { dim: number; keepdim?: boolean }, keepdim?: boolean | { keepdim?: boolean }): ValuesIndices;
export function nanmedian(x: Tensor, dim?: number | { dim: number; keepdim?: boolean }, keepdim?: boolean | { keepdim?: boolean }): Tensor | ValuesIndices {
  return dim === undefined ? x.nanmedian() : x.nanmedian(dim, keepdim);
}
