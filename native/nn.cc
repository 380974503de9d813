// torch.nn.functional ops, and multi-tensor helpers that save crossings in optimizer steps.
#include <ATen/ScalarOps.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "common.h"

namespace tstorch {
namespace {

#define T0 argTensor(info, 0)


// Each op reads its tensor arguments first, so that libtorch's autograd layer can be skipped
// when none of them needs a gradient (OP1/OP2, SkipAutogradIfUnneeded in common.h).
Napi::Value linear(const Napi::CallbackInfo& info) {
  const at::Tensor &x = T0, &w = argTensor(info, 1);
  auto bias = optT(info, 2);
  SkipAutogradIfUnneeded skip(x, w, bias);
  return ret(info, at::linear(x, w, bias));
}
OP1(softmax, at::softmax(a, argInt64(info, 1)))
OP1(logSoftmax, at::log_softmax(a, argInt64(info, 1)))
// layerNorm(x, normalizedShape, weight|-1, bias|-1, eps)
Napi::Value layerNorm(const Napi::CallbackInfo& info) {
  const at::Tensor& x = T0;
  auto weight = optT(info, 2), bias = optT(info, 3);
  SkipAutogradIfUnneeded skip(x, weight, bias);
  return ret(info, at::layer_norm(x, argInts(info, 1), weight, bias, argDouble(info, 4)));
}
// embedding(weight, indices[, paddingIdx[, scaleGradByFreq, sparse]]): the padding row gets no gradient;
// sparse: the weight's gradient is a sparse tensor of the rows looked up
OP2(embedding, at::embedding(a, b, info.Length() > 2 ? argInt64(info, 2) : -1, info.Length() > 3 && argBool(info, 3), info.Length() > 4 && argBool(info, 4)))
OP1(dropout, at::dropout(a, argDouble(info, 1), argBool(info, 2)))
// gelu(x, approximate: 'none' | 'tanh')
OP1(gelu, at::gelu(a, info[1].As<Napi::String>().Utf8Value()))

// nllLoss(logProbs, target, weight|-1, reduction, ignoreIndex), any number of trailing dims as F.nll_loss
Napi::Value nllLoss(const Napi::CallbackInfo& info) {
  const at::Tensor &a = T0, &b = argTensor(info, 1);
  auto w = optT(info, 2);
  SkipAutogradIfUnneeded skip(a, b, w);
  return ret(info, at::nll_loss_nd(a, b, w, argInt64(info, 3), argInt64(info, 4)));
}
// crossEntropy(logits (N, C[, ...]), target (N[, ...]) or class probabilities, weight|-1, reduction
// 0 none | 1 mean | 2 sum, ignoreIndex, labelSmoothing); a float target may need a gradient too.
Napi::Value crossEntropy(const Napi::CallbackInfo& info) {
  const at::Tensor &a = T0, &b = argTensor(info, 1);
  auto w = optT(info, 2);
  SkipAutogradIfUnneeded skip(a, b, w);
  return ret(info, at::cross_entropy_loss(a, b, w, argInt64(info, 3), argInt64(info, 4), argDouble(info, 5)));
}
// Losses of an input against a target with the reduction code (0 none, 1 mean, 2 sum) last-but-one
OP2(mseLoss, at::mse_loss(a, b, argInt64(info, 2)))
OP2(l1Loss, at::l1_loss(a, b, argInt64(info, 2)))
OP2(smoothL1Loss, at::smooth_l1_loss(a, b, argInt64(info, 2), argDouble(info, 3)))
OP2(huberLoss, at::huber_loss(a, b, argInt64(info, 2), argDouble(info, 3)))
// More of torch.nn.functional's losses, each libtorch's (reduction code last, as above)
OP3(marginRankingLoss, at::margin_ranking_loss(a, b, c, argDouble(info, 3), argInt64(info, 4)))
OP3(cosineEmbeddingLoss, at::cosine_embedding_loss(a, b, c, argDouble(info, 3), argInt64(info, 4)))
OP2(hingeEmbeddingLoss, at::hinge_embedding_loss(a, b, argDouble(info, 2), argInt64(info, 3)))
OP2(softMarginLoss, at::soft_margin_loss(a, b, argInt64(info, 2)))
// tripletMarginLoss(anchor, positive, negative, margin, p, eps, swap, reduction)
OP3(tripletMarginLoss, at::triplet_margin_loss(a, b, c, argDouble(info, 3), argDouble(info, 4), argDouble(info, 5), argBool(info, 6), argInt64(info, 7)))
// poissonNllLoss(input, target, logInput, full, eps, reduction)
OP2(poissonNllLoss, at::poisson_nll_loss(a, b, argBool(info, 2), argBool(info, 3), argDouble(info, 4), argInt64(info, 5)))
// multiMarginLoss(input, target, p, margin, weight|-1, reduction)
Napi::Value multiMarginLoss(const Napi::CallbackInfo& info) {
  const at::Tensor &a = T0, &b = argTensor(info, 1);
  auto w = optT(info, 4);
  SkipAutogradIfUnneeded skip(a, b, w);
  return ret(info, at::multi_margin_loss(a, b, argScalar(info, 2), argScalar(info, 3), w, argInt64(info, 5)));
}
// ctcLoss(logProbs (T, N, C), targets, inputLengths, targetLengths (int64 tensors), blank, reduction, zeroInfinity)
Napi::Value ctcLoss(const Napi::CallbackInfo& info) {
  const at::Tensor &lp = T0, &targets = argTensor(info, 1), &il = argTensor(info, 2), &tl = argTensor(info, 3);
  return ret(info, at::ctc_loss(lp, targets, il, tl, argInt64(info, 4), argInt64(info, 5), argBool(info, 6)));
}
// klDiv(input (log-probabilities), target, reduction, logTarget)
OP2(klDiv, at::kl_div(a, b, argInt64(info, 2), argBool(info, 3)))
// binaryCrossEntropy(probs, target, weight|-1, reduction)
Napi::Value binaryCrossEntropy(const Napi::CallbackInfo& info) {
  const at::Tensor &a = T0, &b = argTensor(info, 1);
  auto w = optT(info, 2);
  SkipAutogradIfUnneeded skip(a, b, w);
  return ret(info, at::binary_cross_entropy(a, b, w, argInt64(info, 3)));
}
// binaryCrossEntropyWithLogits(logits, target, weight|-1, posWeight|-1, reduction)
Napi::Value binaryCrossEntropyWithLogits(const Napi::CallbackInfo& info) {
  const at::Tensor &a = T0, &b = argTensor(info, 1);
  auto w = optT(info, 2), pw = optT(info, 3);
  SkipAutogradIfUnneeded skip(a, b, w, pw);
  return ret(info, at::binary_cross_entropy_with_logits(a, b, w, pw, argInt64(info, 4)));
}
// cosineSimilarity(x1, x2, dim, eps)
OP2(cosineSimilarity, at::cosine_similarity(a, b, argInt64(info, 2), argDouble(info, 3)))
// pairwiseDistance(x1, x2, p, eps, keepdim)
OP2(pairwiseDistance, at::pairwise_distance(a, b, argDouble(info, 2), argDouble(info, 3), argBool(info, 4)))

// --- activations ---
OP1(silu, at::silu(a))
OP1(mish, at::mish(a))
OP1(logSigmoid, at::log_sigmoid(a))
OP1(selu, at::selu(a))
OP1(hardswish, at::hardswish(a))
OP1(hardsigmoid, at::hardsigmoid(a))
OP1(softplus, at::softplus(a, argScalar(info, 1), argScalar(info, 2)))
OP1(elu, at::elu(a, argScalar(info, 1)))
OP1(celu, at::celu(a, argScalar(info, 1)))
OP1(leakyRelu, at::leaky_relu(a, argScalar(info, 1)))
OP1(hardtanh, at::hardtanh(a, argScalar(info, 1), argScalar(info, 2)))
OP1(glu, at::glu(a, argInt64(info, 1)))
OP2(prelu, at::prelu(a, b))

// pad(x, pad, mode 'constant' | 'reflect' | 'replicate' | 'circular', value)
OP1(pad, at::pad(a, argInts(info, 1), argString(info, 2), isNullish(info, 3) ? c10::optional<double>() : argDouble(info, 3)))

// --- convolution and pooling; nd (1, 2 or 3) picks the op, padding is sizes or 'same' / 'valid' ---
// conv(x, weight, bias|-1, stride, padding, dilation, groups, nd)
Napi::Value conv(const Napi::CallbackInfo& info) {
  const at::Tensor &x = T0, &w = argTensor(info, 1);
  auto bias = optT(info, 2);
  SkipAutogradIfUnneeded skip(x, w, bias);
  std::vector<int64_t> stride = argInts(info, 3), dilation = argInts(info, 5);
  int64_t groups = argInt64(info, 6), nd = argInt64(info, 7);
  if (info[4].IsString()) {
    std::string padding = argString(info, 4);
    if (nd == 1) return ret(info, at::conv1d(x, w, bias, stride, padding, dilation, groups));
    if (nd == 2) return ret(info, at::conv2d(x, w, bias, stride, padding, dilation, groups));
    return ret(info, at::conv3d(x, w, bias, stride, padding, dilation, groups));
  }
  std::vector<int64_t> padding = argInts(info, 4);
  if (nd == 1) return ret(info, at::conv1d(x, w, bias, stride, padding, dilation, groups));
  if (nd == 2) return ret(info, at::conv2d(x, w, bias, stride, padding, dilation, groups));
  return ret(info, at::conv3d(x, w, bias, stride, padding, dilation, groups));
}
// convTranspose(x, weight, bias|-1, stride, padding, outputPadding, groups, dilation, nd)
Napi::Value convTranspose(const Napi::CallbackInfo& info) {
  const at::Tensor &x = T0, &w = argTensor(info, 1);
  auto bias = optT(info, 2);
  SkipAutogradIfUnneeded skip(x, w, bias);
  std::vector<int64_t> stride = argInts(info, 3), padding = argInts(info, 4), outPad = argInts(info, 5), dilation = argInts(info, 7);
  int64_t groups = argInt64(info, 6), nd = argInt64(info, 8);
  if (nd == 1) return ret(info, at::conv_transpose1d(x, w, bias, stride, padding, outPad, groups, dilation));
  if (nd == 2) return ret(info, at::conv_transpose2d(x, w, bias, stride, padding, outPad, groups, dilation));
  return ret(info, at::conv_transpose3d(x, w, bias, stride, padding, outPad, groups, dilation));
}
// maxPool(x, kernel, stride, padding, dilation, ceilMode, nd)
Napi::Value maxPool(const Napi::CallbackInfo& info) {
  const at::Tensor& x = T0;
  SkipAutogradIfUnneeded skip(x);
  std::vector<int64_t> k = argInts(info, 1), s = argInts(info, 2), p = argInts(info, 3), d = argInts(info, 4);
  bool ceil = argBool(info, 5);
  int64_t nd = argInt64(info, 6);
  if (nd == 1) return ret(info, at::max_pool1d(x, k, s, p, d, ceil));
  if (nd == 2) return ret(info, at::max_pool2d(x, k, s, p, d, ceil));
  return ret(info, at::max_pool3d(x, k, s, p, d, ceil));
}
// avgPool(x, kernel, stride, padding, ceilMode, countIncludePad, nd)
Napi::Value avgPool(const Napi::CallbackInfo& info) {
  const at::Tensor& x = T0;
  SkipAutogradIfUnneeded skip(x);
  std::vector<int64_t> k = argInts(info, 1), s = argInts(info, 2), p = argInts(info, 3);
  bool ceil = argBool(info, 4), countPad = argBool(info, 5);
  int64_t nd = argInt64(info, 6);
  if (nd == 1) return ret(info, at::avg_pool1d(x, k, s, p, ceil, countPad));
  if (nd == 2) return ret(info, at::avg_pool2d(x, k, s, p, ceil, countPad));
  return ret(info, at::avg_pool3d(x, k, s, p, ceil, countPad));
}
// maxPoolWithIndices(x, kernel, stride, padding, dilation, ceilMode, nd): [values, indices] (return_indices=True)
Napi::Value maxPoolWithIndices(const Napi::CallbackInfo& info) {
  const at::Tensor& x = T0;
  SkipAutogradIfUnneeded skip(x);
  std::vector<int64_t> k = argInts(info, 1), s = argInts(info, 2), p = argInts(info, 3), d = argInts(info, 4);
  bool ceil = argBool(info, 5);
  int64_t nd = argInt64(info, 6);
  auto r = nd == 1 ? at::max_pool1d_with_indices(x, k, s, p, d, ceil)
         : nd == 2 ? at::max_pool2d_with_indices(x, k, s, p, d, ceil)
                   : at::max_pool3d_with_indices(x, k, s, p, d, ceil);
  return retPair(info, std::get<0>(r), std::get<1>(r));
}
// adaptiveMaxPool(x, outputSize, nd): [values, indices]
Napi::Value adaptiveMaxPool(const Napi::CallbackInfo& info) {
  const at::Tensor& x = T0;
  SkipAutogradIfUnneeded skip(x);
  std::vector<int64_t> size = argInts(info, 1);
  int64_t nd = argInt64(info, 2);
  auto r = nd == 1 ? at::adaptive_max_pool1d(x, size) : nd == 2 ? at::adaptive_max_pool2d(x, size) : at::adaptive_max_pool3d(x, size);
  return retPair(info, std::get<0>(r), std::get<1>(r));
}
// fractionalMaxPool(x, kernel, outputSize, samples, nd): fractional_max_pool2d / 3d at the
// pooling regions the samples (uniform draws in [0, 1), one per plane and dim) place
Napi::Value fractionalMaxPool(const Napi::CallbackInfo& info) {
  const at::Tensor &x = T0, &samples = argTensor(info, 3);
  SkipAutogradIfUnneeded skip(x);
  std::vector<int64_t> kernel = argInts(info, 1), size = argInts(info, 2);
  auto r = argInt64(info, 4) == 2 ? at::fractional_max_pool2d(x, kernel, size, samples) : at::fractional_max_pool3d(x, kernel, size, samples);
  return retPair(info, std::get<0>(r), std::get<1>(r));
}
// convTbc(x, weight, bias, pad): conv_tbc (time, batch, channels)
Napi::Value convTbc(const Napi::CallbackInfo& info) {
  const at::Tensor &x = T0, &w = argTensor(info, 1), &b = argTensor(info, 2);
  SkipAutogradIfUnneeded skip(x, w, b);
  return ret(info, at::conv_tbc(x, w, b, argInt64(info, 3)));
}
// maxUnpool(x, indices, outputSize, stride, padding, nd): max_unpool2d, or max_unpool3d (which takes stride and padding)
Napi::Value maxUnpool(const Napi::CallbackInfo& info) {
  const at::Tensor &x = T0, &indices = argTensor(info, 1);
  SkipAutogradIfUnneeded skip(x);
  std::vector<int64_t> size = argInts(info, 2);
  if (argInt64(info, 5) == 2) return ret(info, at::max_unpool2d(x, indices, size));
  return ret(info, at::max_unpool3d(x, indices, size, argInts(info, 3), argInts(info, 4)));
}
// rrelu(x, lower, upper, training, generator): random slopes in training, their mean otherwise
OP1(rrelu, at::rrelu(a, argScalar(info, 1), argScalar(info, 2), argBool(info, 3), optGenerator(info, 4)))
OP1(featureAlphaDropout, at::feature_alpha_dropout(a, argDouble(info, 1), argBool(info, 2)))
OP2(multilabelMarginLoss, at::multilabel_margin_loss(a, b, argInt64(info, 2)))
// adaptiveAvgPool(x, outputSize, nd)
Napi::Value adaptiveAvgPool(const Napi::CallbackInfo& info) {
  const at::Tensor& x = T0;
  SkipAutogradIfUnneeded skip(x);
  std::vector<int64_t> size = argInts(info, 1);
  int64_t nd = argInt64(info, 2);
  if (nd == 1) return ret(info, at::adaptive_avg_pool1d(x, size));
  if (nd == 2) return ret(info, at::adaptive_avg_pool2d(x, size));
  return ret(info, at::adaptive_avg_pool3d(x, size));
}

// upsample(x, mode, outputSize|null, scaleFactors|null, alignCorners): F.interpolate's kernels,
// picked by mode (0 nearest, 1 nearest-exact, 2 linear: linear1d / bilinear2d / trilinear3d,
// 3 bicubic) and the number of spatial dims, as F.interpolate picks them; lib/nn/functional.ts
// checks the combination first.
Napi::Value upsample(const Napi::CallbackInfo& info) {
  const at::Tensor& x = T0;
  SkipAutogradIfUnneeded skip(x);
  int32_t mode = argInt(info, 1);
  std::vector<int64_t> size;
  std::vector<double> scales;
  at::OptionalIntArrayRef outputSize;
  c10::optional<at::ArrayRef<double>> scaleFactors;
  if (!isNullish(info, 2)) {
    size = argInts(info, 2);
    outputSize = size;
  }
  if (!isNullish(info, 3)) {
    Napi::Array a = info[3].As<Napi::Array>();
    for (uint32_t k = 0; k < a.Length(); ++k) scales.push_back(a.Get(k).As<Napi::Number>().DoubleValue());
    scaleFactors = at::ArrayRef<double>(scales);
  }
  bool align = argBool(info, 4);
  switch (mode * 10 + (x.dim() - 2)) {
    case 1: return ret(info, at::upsample_nearest1d(x, outputSize, scaleFactors));
    case 2: return ret(info, at::upsample_nearest2d(x, outputSize, scaleFactors));
    case 3: return ret(info, at::upsample_nearest3d(x, outputSize, scaleFactors));
    case 11: return ret(info, at::_upsample_nearest_exact1d(x, outputSize, scaleFactors));
    case 12: return ret(info, at::_upsample_nearest_exact2d(x, outputSize, scaleFactors));
    case 13: return ret(info, at::_upsample_nearest_exact3d(x, outputSize, scaleFactors));
    case 21: return ret(info, at::upsample_linear1d(x, outputSize, align, scaleFactors));
    case 22: return ret(info, at::upsample_bilinear2d(x, outputSize, align, scaleFactors));
    case 23: return ret(info, at::upsample_trilinear3d(x, outputSize, align, scaleFactors));
    case 32: return ret(info, at::upsample_bicubic2d(x, outputSize, align, scaleFactors));
  }
  throw std::runtime_error("tstorch: upsample: no kernel for this mode and input rank");
}

// --- normalization ---
// batchNorm(x, runningMean|-1, runningVar|-1, weight|-1, bias|-1, training, momentum, eps):
// in training mode the running statistics are updated in place, as F.batch_norm does
Napi::Value batchNorm(const Napi::CallbackInfo& info) {
  const at::Tensor& x = T0;
  auto mean = optT(info, 1), var = optT(info, 2), w = optT(info, 3), b = optT(info, 4);
  return ret(info, at::batch_norm(x, w, b, mean, var, argBool(info, 5), argDouble(info, 6), argDouble(info, 7), /*cudnn_enabled=*/true));
}
// groupNorm(x, numGroups, weight|-1, bias|-1, eps)
Napi::Value groupNorm(const Napi::CallbackInfo& info) {
  const at::Tensor& x = T0;
  auto w = optT(info, 2), b = optT(info, 3);
  SkipAutogradIfUnneeded skip(x, w, b);
  return ret(info, at::group_norm(x, argInt64(info, 1), w, b, argDouble(info, 4), /*cudnn_enabled=*/true));
}

// --- recurrent layers ---
// rnn(mode 'lstm' | 'gru' | 'rnn_tanh' | 'rnn_relu', input, hx handles ([h] or [h, c]), params
// (w_ih, w_hh[, b_ih, b_hh] per layer and direction), hasBiases, numLayers, dropout, train,
// bidirectional, batchFirst) -> [output, h_n(, c_n)]
Napi::Value rnn(const Napi::CallbackInfo& info) {
  std::string mode = argString(info, 0);
  const at::Tensor& x = argTensor(info, 1);
  std::vector<at::Tensor> hx = argTensors(info, 2), params = argTensors(info, 3);
  bool bias = argBool(info, 4), train = argBool(info, 7), bidi = argBool(info, 8), batchFirst = argBool(info, 9);
  int64_t layers = argInt64(info, 5);
  double dropout = argDouble(info, 6);
  if (mode == "lstm") {
    auto r = at::lstm(x, hx, params, bias, layers, dropout, train, bidi, batchFirst);
    return retList(info, {std::get<0>(r), std::get<1>(r), std::get<2>(r)});
  }
  if (hx.size() != 1) throw std::runtime_error("tstorch: " + mode + " takes one hidden state");
  std::tuple<at::Tensor, at::Tensor> r;
  if (mode == "gru") r = at::gru(x, hx[0], params, bias, layers, dropout, train, bidi, batchFirst);
  else if (mode == "rnn_tanh") r = at::rnn_tanh(x, hx[0], params, bias, layers, dropout, train, bidi, batchFirst);
  else if (mode == "rnn_relu") r = at::rnn_relu(x, hx[0], params, bias, layers, dropout, train, bidi, batchFirst);
  else throw std::runtime_error("tstorch: unknown recurrent mode " + mode);
  return retList(info, {std::get<0>(r), std::get<1>(r)});
}

// Shape and regularization ops of the layers in lib/nn (one libtorch call each)
OP1(pixelShuffle, at::pixel_shuffle(a, argInt64(info, 1)))
OP1(pixelUnshuffle, at::pixel_unshuffle(a, argInt64(info, 1)))
OP1(hardshrink, at::hardshrink(a, argScalar(info, 1)))
OP1(softshrink, at::softshrink(a, argScalar(info, 1)))
OP1(threshold, at::threshold(a, argScalar(info, 1), argScalar(info, 2)))
// featureDropout(x, p, train): whole channels zeroed (F.dropout2d / dropout3d); alphaDropout(x, p, train)
OP1(featureDropout, at::feature_dropout(a, argDouble(info, 1), argBool(info, 2)))
OP1(alphaDropout, at::alpha_dropout(a, argDouble(info, 1), argBool(info, 2)))
// instanceNorm(x, weight|-1, bias|-1, runningMean|-1, runningVar|-1, useInputStats, momentum, eps)
Napi::Value instanceNorm(const Napi::CallbackInfo& info) {
  const at::Tensor& x = T0;
  auto w = optT(info, 1), b = optT(info, 2), rm = optT(info, 3), rv = optT(info, 4);
  return ret(info, at::instance_norm(x, w, b, rm, rv, argBool(info, 5), argDouble(info, 6), argDouble(info, 7), false));
}
// bilinear(x1, x2, weight (out, in1, in2), bias|-1): x1ᵀ W x2 + b
Napi::Value bilinear(const Napi::CallbackInfo& info) {
  const at::Tensor &a = T0, &b = argTensor(info, 1), &w = argTensor(info, 2);
  auto bias = optT(info, 3);
  SkipAutogradIfUnneeded skip(a, b, w, bias);
  return ret(info, at::bilinear(a, b, w, bias));
}

// rnnPacked(mode, data, batchSizes, hx handles, params handles, bias, numLayers, dropout,
// train, bidirectional): the same over a PackedSequence's data and batch sizes.
Napi::Value rnnPacked(const Napi::CallbackInfo& info) {
  std::string mode = argString(info, 0);
  const at::Tensor &data = argTensor(info, 1), &batchSizes = argTensor(info, 2);
  std::vector<at::Tensor> hx = argTensors(info, 3), params = argTensors(info, 4);
  bool bias = argBool(info, 5), train = argBool(info, 8), bidi = argBool(info, 9);
  int64_t layers = argInt64(info, 6);
  double dropout = argDouble(info, 7);
  if (mode == "lstm") {
    auto r = at::lstm(data, batchSizes, hx, params, bias, layers, dropout, train, bidi);
    return retList(info, {std::get<0>(r), std::get<1>(r), std::get<2>(r)});
  }
  if (hx.size() != 1) throw std::runtime_error("tstorch: " + mode + " takes one hidden state");
  std::tuple<at::Tensor, at::Tensor> r;
  if (mode == "gru") r = at::gru(data, batchSizes, hx[0], params, bias, layers, dropout, train, bidi);
  else if (mode == "rnn_tanh") r = at::rnn_tanh(data, batchSizes, hx[0], params, bias, layers, dropout, train, bidi);
  else if (mode == "rnn_relu") r = at::rnn_relu(data, batchSizes, hx[0], params, bias, layers, dropout, train, bidi);
  else throw std::runtime_error("tstorch: unknown recurrent mode " + mode);
  return retList(info, {std::get<0>(r), std::get<1>(r)});
}
// embeddingBag(weight, indices, offsets, mode (0 sum, 1 mean, 2 max), perSampleWeights|-1,
// includeLastOffset, paddingIdx (-1: none)): F.embedding_bag's output (the bags' reductions)
Napi::Value embeddingBag(const Napi::CallbackInfo& info) {
  const at::Tensor &w = T0, &idx = argTensor(info, 1), &offsets = argTensor(info, 2);
  auto psw = optT(info, 4);
  int64_t pad = argInt64(info, 6);
  c10::optional<int64_t> padding;
  if (pad >= 0) padding = pad;
  auto r = at::embedding_bag(w, idx, offsets, false, argInt64(info, 3), false, psw, argBool(info, 5), padding);
  return ret(info, std::get<0>(r));
}
// embeddingRenorm_(weight, indices, maxNorm, normType): the looked-up rows rescaled in place to norm <= maxNorm
Napi::Value embeddingRenorm_(const Napi::CallbackInfo& info) {
  at::Tensor w = T0;
  at::NoGradGuard noGrad;
  at::embedding_renorm_(w, argTensor(info, 1), argDouble(info, 2), argDouble(info, 3));
  return info.Env().Undefined();
}
// weightNorm(v, g, dim) = v * g / ||v|| over all dims but dim (dim -1: the whole tensor); normExceptDim(v, pow, dim)
OP2(weightNorm, at::_weight_norm(a, b, argInt64(info, 2)))
OP1(normExceptDim, at::norm_except_dim(a, argInt64(info, 1), argInt64(info, 2)))
// gridSample(input, grid, mode (0 bilinear, 1 nearest, 2 bicubic), padding (0 zeros, 1 border, 2 reflection), alignCorners)
OP2(gridSample, at::grid_sampler(a, b, argInt64(info, 2), argInt64(info, 3), argBool(info, 4)))
// affineGrid(theta (N, 2, 3) or (N, 3, 4), size [N, C, H, W(, D)], alignCorners)
OP1(affineGrid, at::affine_grid_generator(a, argInts(info, 1), argBool(info, 2)))
// unfold / fold (F.unfold / F.fold: im2col / col2im): kernel, dilation, padding, stride (and fold's output size first)
OP1(im2col, at::im2col(a, argInts(info, 1), argInts(info, 2), argInts(info, 3), argInts(info, 4)))
OP1(col2im, at::col2im(a, argInts(info, 1), argInts(info, 2), argInts(info, 3), argInts(info, 4), argInts(info, 5)))
// rnnCell(mode, x (N, in), hx handles ([h] or [h, c]), wIh, wHh, bIh|-1, bHh|-1): one step of
// nn.RNNCell / LSTMCell / GRUCell -> [h'] or [h', c']
Napi::Value rnnCell(const Napi::CallbackInfo& info) {
  std::string mode = argString(info, 0);
  const at::Tensor& x = argTensor(info, 1);
  std::vector<at::Tensor> hx = argTensors(info, 2);
  const at::Tensor &wIh = argTensor(info, 3), &wHh = argTensor(info, 4);
  auto bIh = optT(info, 5), bHh = optT(info, 6);
  if (mode == "lstm") {
    auto r = at::lstm_cell(x, hx, wIh, wHh, bIh, bHh);
    return retPair(info, std::get<0>(r), std::get<1>(r));
  }
  if (hx.size() != 1) throw std::runtime_error("tstorch: " + mode + " cell takes one hidden state");
  at::Tensor h;
  if (mode == "gru") h = at::gru_cell(x, hx[0], wIh, wHh, bIh, bHh);
  else if (mode == "rnn_tanh") h = at::rnn_tanh_cell(x, hx[0], wIh, wHh, bIh, bHh);
  else if (mode == "rnn_relu") h = at::rnn_relu_cell(x, hx[0], wIh, wHh, bIh, bHh);
  else throw std::runtime_error("tstorch: unknown recurrent cell " + mode);
  return retList(info, {h});
}
// packPaddedSequence(input, lengths (int64, CPU), batchFirst) -> [data, batchSizes]
Napi::Value packPaddedSequence(const Napi::CallbackInfo& info) {
  auto r = at::_pack_padded_sequence(T0, argTensor(info, 1), argBool(info, 2));
  return retPair(info, std::get<0>(r), std::get<1>(r));
}
// padPackedSequence(data, batchSizes, batchFirst, paddingValue, totalLength) -> [padded, lengths]
Napi::Value padPackedSequence(const Napi::CallbackInfo& info) {
  auto r = at::_pad_packed_sequence(T0, argTensor(info, 1), argBool(info, 2), argScalar(info, 3), argInt64(info, 4));
  return retPair(info, std::get<0>(r), std::get<1>(r));
}

// scaledDotProductAttention(q, k, v, mask|-1, dropoutP, isCausal): libtorch 2.x only; on 1.13
// the TS layer composes it (hasSdpa false).
Napi::Value scaledDotProductAttention(const Napi::CallbackInfo& info) {
#if TORCH_VERSION_MAJOR >= 2
  const at::Tensor &q = T0, &k = argTensor(info, 1), &v = argTensor(info, 2);
  auto mask = optT(info, 3);
  SkipAutogradIfUnneeded skip(q, k, v, mask);
  return ret(info, at::scaled_dot_product_attention(q, k, v, mask, argDouble(info, 4), argBool(info, 5)));
#else
  throw std::runtime_error("tstorch: scaled_dot_product_attention needs libtorch 2.x");
#endif
}
Napi::Value hasSdpa(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), TORCH_VERSION_MAJOR >= 2);
}

// ---- multi-tensor helpers: one crossing for a whole parameter list ----

// gradNorm(ids, p): the p-norm of the norms of the .grad of every listed tensor that has one, as a
// 0-d tensor (float32 when none has one): clip_grad_norm_'s total. The norms are taken with
// autograd off rather than of detached copies (the same values, one dispatch less per tensor).
Napi::Value gradNorm(const Napi::CallbackInfo& info) {
  std::vector<at::Tensor> params = argTensors(info, 0);
  double p = argDouble(info, 1);
  at::NoGradGuard noGrad;
  std::vector<at::Tensor> norms;
  for (const at::Tensor& t : params) {
    const at::Tensor& g = t.grad();
    if (g.defined()) norms.push_back(g.norm(p));
  }
  if (norms.empty()) return ret(info, at::zeros({}, at::kFloat));
  return ret(info, at::stack(norms).norm(p));
}
// scaleGrads(ids, coef tensor): g.mul_(coef) for every grad (clip_grad_norm_'s second half), with
// autograd off; coef moved to a grad's device only when it is elsewhere.
Napi::Value scaleGrads(const Napi::CallbackInfo& info) {
  std::vector<at::Tensor> params = argTensors(info, 0);
  at::Tensor coef = argTensor(info, 1);
  at::NoGradGuard noGrad;
  for (const at::Tensor& t : params) {
    at::Tensor g = t.grad();
    if (!g.defined()) continue;
    if (g.device() != coef.device()) coef = coef.to(g.device());
    g.mul_(coef);
  }
  return info.Env().Undefined();
}
// zeroGrads(ids, setToNone)
Napi::Value zeroGrads(const Napi::CallbackInfo& info) {
  std::vector<at::Tensor> params = argTensors(info, 0);
  bool toNone = argBool(info, 1);
  for (at::Tensor& t : params) {
    if (toNone) {
      t.mutable_grad() = at::Tensor();
    } else if (t.grad().defined()) {
      at::Tensor g = t.grad();
      g.detach_();
      g.zero_();
    }
  }
  return info.Env().Undefined();
}

// adamwStep(params, expAvgs, expAvgSqs, steps: Float64Array, lr, beta1, beta2, eps, wd):
// PyTorch's multi-tensor AdamW (_multi_tensor_adamw) with libtorch's _foreach kernels, one
// crossing for a whole parameter group. steps are the per-parameter step counts after this
// step; parameters without a gradient must not be passed.
Napi::Value adamwStep(const Napi::CallbackInfo& info) {
  std::vector<at::Tensor> params = argTensors(info, 0), m = argTensors(info, 1), v = argTensors(info, 2);
  Napi::Float64Array stepsArr = info[3].As<Napi::Float64Array>();
  double lr = argDouble(info, 4), beta1 = argDouble(info, 5), beta2 = argDouble(info, 6);
  double eps = argDouble(info, 7), wd = argDouble(info, 8);
  size_t n = params.size();
  if (m.size() != n || v.size() != n || stepsArr.ElementLength() != n) {
    throw std::runtime_error("adamwStep: params, state and steps differ in length");
  }
  if (n == 0) return info.Env().Undefined();
  at::NoGradGuard noGrad;
  std::vector<at::Tensor> grads;
  grads.reserve(n);
  for (const at::Tensor& p : params) {
    if (!p.grad().defined()) throw std::runtime_error("adamwStep: a parameter has no gradient");
    grads.push_back(p.grad());
  }
  std::vector<at::Scalar> stepSize, bc2Sqrt;
  for (size_t k = 0; k < n; ++k) {
    double step = stepsArr[k];
    stepSize.emplace_back(-lr / (1 - std::pow(beta1, step)));
    bc2Sqrt.emplace_back(std::sqrt(1 - std::pow(beta2, step)));
  }
  bool allCpu = true;
  for (const at::Tensor& p : params) allCpu = allCpu && p.device().is_cpu();
  if (allCpu) {
    // On the CPU the _foreach ops are a loop over the tensors anyway, and there an in-place
    // multiply, divide or add by a number first copies the number into a tensor of the
    // parameter's dtype (five dispatches, not one: ~1.3 us each time, 5 per parameter per step).
    // On float32 and float64 the number is made such a 0-d tensor once a step: the same bits
    // (numberOperand in math.cc says why, and why other dtypes keep libtorch's own path).
    std::vector<std::tuple<at::ScalarType, double, at::Tensor>> numbers;
    auto number = [&](const at::Tensor& like, double value) -> at::Tensor {
      at::ScalarType st = like.scalar_type();
      if (st != at::kFloat && st != at::kDouble) return at::native::wrapped_scalar_tensor(value);
      for (const auto& e : numbers) if (std::get<0>(e) == st && std::get<1>(e) == value) return std::get<2>(e);
      numbers.emplace_back(st, value, at::scalar_tensor(value, like.options()));
      return std::get<2>(numbers.back());
    };
    for (size_t k = 0; k < n; ++k) {
      at::Tensor& p = params[k];
      if (wd != 0) p.mul_(number(p, 1 - lr * wd));
      m[k].mul_(number(m[k], beta1)).add_(grads[k], 1 - beta1);
      v[k].mul_(number(v[k], beta2)).addcmul_(grads[k], grads[k], 1 - beta2);
      at::Tensor denom = v[k].sqrt();
      denom.div_(number(denom, bc2Sqrt[k].toDouble())).add_(number(denom, eps));
      p.addcdiv_(m[k], denom, stepSize[k]);
    }
    return info.Env().Undefined();
  }
  if (wd != 0) at::_foreach_mul_(params, at::Scalar(1 - lr * wd));
  at::_foreach_mul_(m, at::Scalar(beta1));
  at::_foreach_add_(m, grads, at::Scalar(1 - beta1));
  at::_foreach_mul_(v, at::Scalar(beta2));
  at::_foreach_addcmul_(v, grads, grads, at::Scalar(1 - beta2));
  std::vector<at::Tensor> denom = at::_foreach_sqrt(v);
  at::_foreach_div_(denom, bc2Sqrt);
  at::_foreach_add_(denom, at::Scalar(eps));
  at::_foreach_addcdiv_(params, m, denom, stepSize);
  return info.Env().Undefined();
}

// autocastEnter(cuda: bool, dtype, enabled = true): turns autocast on (or off: a full-precision
// region inside an autocast one) for the device type and returns the previous [enabled, dtype]
// to hand to autocastExit. PyTorch's torch.autocast, op-level.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define TS_AUTOCAST_NEW_API 1
#endif
static bool autocastEnabled(bool cuda) {
#ifdef TS_AUTOCAST_NEW_API
  return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU);
#else
  return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}
static at::ScalarType autocastDtype(bool cuda) {
#ifdef TS_AUTOCAST_NEW_API
  return at::autocast::get_autocast_dtype(cuda ? at::kCUDA : at::kCPU);
#else
  return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}
static void setAutocast(bool cuda, bool enabled, at::ScalarType dtype) {
#ifdef TS_AUTOCAST_NEW_API
  at::autocast::set_autocast_enabled(cuda ? at::kCUDA : at::kCPU, enabled);
  at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, dtype);
#else
  if (cuda) {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
}
Napi::Value autocastEnter(const Napi::CallbackInfo& info) {
  bool cuda = argBool(info, 0);
  Napi::Array prev = Napi::Array::New(info.Env(), 2);
  prev.Set(0u, Napi::Boolean::New(info.Env(), autocastEnabled(cuda)));
  prev.Set(1u, Napi::Number::New(info.Env(), static_cast<int>(autocastDtype(cuda))));
  setAutocast(cuda, isNullish(info, 2) || argBool(info, 2), argDtype(info, 1));
  at::autocast::increment_nesting();
  return prev;
}
// autocastState(cuda): [enabled, dtype] now, as torch.is_autocast_enabled / get_autocast_dtype.
Napi::Value autocastState(const Napi::CallbackInfo& info) {
  bool cuda = argBool(info, 0);
  Napi::Array now = Napi::Array::New(info.Env(), 2);
  now.Set(0u, Napi::Boolean::New(info.Env(), autocastEnabled(cuda)));
  now.Set(1u, Napi::Number::New(info.Env(), static_cast<int>(autocastDtype(cuda))));
  return now;
}
// autocastExit(cuda, prevEnabled, prevDtype)
Napi::Value autocastExit(const Napi::CallbackInfo& info) {
  bool cuda = argBool(info, 0);
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  setAutocast(cuda, argBool(info, 1), argDtype(info, 2));
  return info.Env().Undefined();
}

}  // namespace

void registerNN(Registrar& r) {
#define R(name) r.add<name>(#name)
  R(linear); R(softmax); R(logSoftmax); R(layerNorm); R(embedding); R(dropout); R(gelu);
  R(crossEntropy); R(scaledDotProductAttention); R(hasSdpa); R(gradNorm); R(scaleGrads);
  R(zeroGrads); R(adamwStep); R(autocastEnter); R(autocastExit); R(autocastState);
  R(nllLoss); R(mseLoss); R(l1Loss); R(smoothL1Loss); R(huberLoss); R(klDiv);
  R(marginRankingLoss); R(cosineEmbeddingLoss); R(hingeEmbeddingLoss); R(softMarginLoss); R(tripletMarginLoss);
  R(poissonNllLoss); R(multiMarginLoss); R(ctcLoss); R(pixelShuffle); R(pixelUnshuffle); R(hardshrink); R(softshrink);
  R(threshold); R(featureDropout); R(alphaDropout); R(instanceNorm); R(bilinear);
  R(binaryCrossEntropy); R(binaryCrossEntropyWithLogits); R(cosineSimilarity); R(pairwiseDistance);
  R(silu); R(mish); R(logSigmoid); R(selu); R(hardswish); R(hardsigmoid); R(softplus); R(elu); R(celu);
  R(leakyRelu); R(hardtanh); R(glu); R(prelu); R(pad); R(conv); R(convTranspose); R(maxPool); R(avgPool);
  R(adaptiveAvgPool); R(maxPoolWithIndices); R(adaptiveMaxPool); R(fractionalMaxPool); R(convTbc); R(maxUnpool); R(rrelu); R(featureAlphaDropout); R(multilabelMarginLoss); R(upsample); R(batchNorm); R(groupNorm); R(rnn); R(rnnPacked); R(rnnCell); R(gridSample); R(affineGrid); R(weightNorm); R(normExceptDim); R(embeddingBag); R(embeddingRenorm_); R(im2col); R(col2im); R(packPaddedSequence); R(padPackedSequence);
#undef R
}

}  // namespace tstorch
