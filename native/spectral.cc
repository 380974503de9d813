// Complex tensors and torch.fft: complex views and parts, the discrete Fourier transforms,
// stft / istft and the window functions. Each binding is one ATen call.
#include "common.h"

namespace tstorch {
namespace {

#define T0 argTensor(info, 0)

// Optional arguments cross as null (absent) or a value.
c10::optional<int64_t> optInt(const Napi::CallbackInfo& info, size_t i) {
  if (isNullish(info, i)) return c10::nullopt;
  return argInt64(info, i);
}
c10::optional<bool> optBool(const Napi::CallbackInfo& info, size_t i) {
  if (isNullish(info, i)) return c10::nullopt;
  return argBool(info, i);
}
std::optional<std::string> optString(const Napi::CallbackInfo& info, size_t i) {
  if (isNullish(info, i)) return std::nullopt;
  return argString(info, i);
}
std::optional<std::vector<int64_t>> optInts(const Napi::CallbackInfo& info, size_t i) {
  if (isNullish(info, i)) return std::nullopt;
  return argInts(info, i);
}
// ATen takes views of these: the owners above must outlive the call.
c10::optional<c10::string_view> view(const std::optional<std::string>& s) {
  return s ? c10::optional<c10::string_view>(c10::string_view(*s)) : c10::nullopt;
}
at::OptionalIntArrayRef view(const std::optional<std::vector<int64_t>>& v) {
  return v ? at::OptionalIntArrayRef(*v) : at::OptionalIntArrayRef(c10::nullopt);
}

// ---------- complex numbers ----------

// Views share memory with their input (no SkipAutograd: the autograd layer records view bases).
Napi::Value viewAsReal(const Napi::CallbackInfo& info) { return ret(info, at::view_as_real(T0)); }
Napi::Value viewAsComplex(const Napi::CallbackInfo& info) { return ret(info, at::view_as_complex(T0)); }
Napi::Value real(const Napi::CallbackInfo& info) { return ret(info, at::real(T0)); }
Napi::Value imag(const Napi::CallbackInfo& info) { return ret(info, at::imag(T0)); }
Napi::Value conj(const Napi::CallbackInfo& info) { return ret(info, T0.conj()); }
Napi::Value resolveConj(const Napi::CallbackInfo& info) { return ret(info, T0.resolve_conj()); }
Napi::Value resolveNeg(const Napi::CallbackInfo& info) { return ret(info, T0.resolve_neg()); }
Napi::Value isConj(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), T0.is_conj()); }
OP1(conjPhysical, a.conj_physical())
OP1(angle, a.angle())
OP2(complex, at::complex(a, b))
OP2(polar, at::polar(a, b))

// ---------- torch.fft ----------

// One-dimensional transforms: (x, n | null, dim, norm | null).
#define FFT1(name, fn)                                                     \
  Napi::Value name(const Napi::CallbackInfo& info) {                       \
    const at::Tensor& a = T0;                                              \
    SkipAutogradIfUnneeded skip(a);                                        \
    auto norm = optString(info, 3);                                        \
    return ret(info, fn(a, optInt(info, 1), argInt64(info, 2), view(norm))); \
  }
FFT1(fftFft, at::fft_fft)
FFT1(fftIfft, at::fft_ifft)
FFT1(fftRfft, at::fft_rfft)
FFT1(fftIrfft, at::fft_irfft)
FFT1(fftHfft, at::fft_hfft)
FFT1(fftIhfft, at::fft_ihfft)

// n-dimensional transforms: (x, s | null, dims | null, norm | null).
#define FFTN(name, fn)                                                        \
  Napi::Value name(const Napi::CallbackInfo& info) {                          \
    const at::Tensor& a = T0;                                                 \
    SkipAutogradIfUnneeded skip(a);                                           \
    auto s = optInts(info, 1);                                                \
    auto dim = optInts(info, 2);                                              \
    auto norm = optString(info, 3);                                           \
    return ret(info, fn(a, view(s), view(dim), view(norm)));                  \
  }
FFTN(fftFftn, at::fft_fftn)
FFTN(fftIfftn, at::fft_ifftn)
FFTN(fftRfftn, at::fft_rfftn)
FFTN(fftIrfftn, at::fft_irfftn)
FFTN(fftHfftn, at::fft_hfftn)
FFTN(fftIhfftn, at::fft_ihfftn)

// (n, d, dtype, device)
Napi::Value fftFftfreq(const Napi::CallbackInfo& info) {
  return ret(info, at::fft_fftfreq(argInt64(info, 0), argDouble(info, 1), argOptions(info, 2, 3)));
}
Napi::Value fftRfftfreq(const Napi::CallbackInfo& info) {
  return ret(info, at::fft_rfftfreq(argInt64(info, 0), argDouble(info, 1), argOptions(info, 2, 3)));
}
// (x, dims | null)
Napi::Value fftFftshift(const Napi::CallbackInfo& info) {
  auto dim = optInts(info, 1);
  return ret(info, at::fft_fftshift(T0, view(dim)));
}
Napi::Value fftIfftshift(const Napi::CallbackInfo& info) {
  auto dim = optInts(info, 1);
  return ret(info, at::fft_ifftshift(T0, view(dim)));
}

// stft(x, nFft, hop | null, win | null, window | -1, center, padMode, normalized, onesided | null, returnComplex | null)
Napi::Value stft(const Napi::CallbackInfo& info) {
  std::string padMode = argString(info, 6);
  return ret(info, at::stft(T0, argInt64(info, 1), optInt(info, 2), optInt(info, 3), optT(info, 4), argBool(info, 5),
                            padMode, argBool(info, 7), optBool(info, 8), optBool(info, 9)));
}
// istft(x, nFft, hop | null, win | null, window | -1, center, normalized, onesided | null, length | null, returnComplex)
Napi::Value istft(const Napi::CallbackInfo& info) {
  return ret(info, at::istft(T0, argInt64(info, 1), optInt(info, 2), optInt(info, 3), optT(info, 4), argBool(info, 5),
                             argBool(info, 6), optBool(info, 7), optInt(info, 8), argBool(info, 9)));
}

// ---------- windows: (length, periodic, [parameters], dtype, device) ----------

Napi::Value hannWindow(const Napi::CallbackInfo& info) {
  FACTORY_GUARD;
  return ret(info, at::hann_window(argInt64(info, 0), argBool(info, 1), argOptions(info, 2, 3)));
}
Napi::Value bartlettWindow(const Napi::CallbackInfo& info) {
  FACTORY_GUARD;
  return ret(info, at::bartlett_window(argInt64(info, 0), argBool(info, 1), argOptions(info, 2, 3)));
}
Napi::Value blackmanWindow(const Napi::CallbackInfo& info) {
  FACTORY_GUARD;
  return ret(info, at::blackman_window(argInt64(info, 0), argBool(info, 1), argOptions(info, 2, 3)));
}
Napi::Value hammingWindow(const Napi::CallbackInfo& info) {
  FACTORY_GUARD;
  return ret(info, at::hamming_window(argInt64(info, 0), argBool(info, 1), argDouble(info, 2), argDouble(info, 3),
                                      argOptions(info, 4, 5)));
}
Napi::Value kaiserWindow(const Napi::CallbackInfo& info) {
  FACTORY_GUARD;
  return ret(info, at::kaiser_window(argInt64(info, 0), argBool(info, 1), argDouble(info, 2), argOptions(info, 3, 4)));
}

// ---------- eigen-decomposition of general matrices (complex results) ----------

Napi::Value linalgEig(const Napi::CallbackInfo& info) {
  auto r = at::linalg_eig(T0);
  return retPair(info, std::get<0>(r), std::get<1>(r));
}
OP1(linalgEigvals, at::linalg_eigvals(a))

}  // namespace

void registerSpectral(Registrar& r) {
#define R(name) r.add<name>(#name)
  R(viewAsReal); R(viewAsComplex); R(real); R(imag); R(conj); R(resolveConj); R(resolveNeg); R(isConj);
  R(conjPhysical); R(angle); R(complex); R(polar);
  R(fftFft); R(fftIfft); R(fftRfft); R(fftIrfft); R(fftHfft); R(fftIhfft);
  R(fftFftn); R(fftIfftn); R(fftRfftn); R(fftIrfftn); R(fftHfftn); R(fftIhfftn);
  R(fftFftfreq); R(fftRfftfreq); R(fftFftshift); R(fftIfftshift); R(stft); R(istft);
  R(hannWindow); R(bartlettWindow); R(blackmanWindow); R(hammingWindow); R(kaiserWindow);
  R(linalgEig); R(linalgEigvals);
#undef R
}

}  // namespace tstorch
