// torch.nn: functional ops, modules, initialisers and utilities.
import * as functional from './functional';
import * as init from './init';
import * as utils from './utils';
import * as parallel from './parallel';
export { functional, init, utils, parallel };
export { Module, ModuleList, Parameter } from './module';
export { Linear, Conv1D, LayerNorm, Embedding, EmbeddingBag, Dropout, Dropout1d, Dropout2d, Dropout3d, AlphaDropout, FeatureAlphaDropout, Bilinear } from './layers';
export { Sequential, Identity, Flatten, Unflatten, ModuleDict, ParameterList, ParameterDict } from './containers';
export type { TensorModule } from './containers';
export { ReLU, GELU, SiLU, Mish, Tanh, Sigmoid, LeakyReLU, ELU, Softplus, Softmax, LogSoftmax, Hardtanh, ReLU6, SELU, CELU, Hardswish, Hardsigmoid, Softsign, LogSigmoid, GLU, Hardshrink, Softshrink, Tanhshrink, Threshold, Softmin, PReLU, Softmax2d, RReLU } from './activation';
export { Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, MaxPool1d, MaxPool2d, MaxPool3d, AvgPool1d, AvgPool2d, AvgPool3d, AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d, Upsample, PixelShuffle, PixelUnshuffle, Unfold, Fold,
  ConvTranspose3d, AdaptiveMaxPool1d, AdaptiveMaxPool2d, AdaptiveMaxPool3d, FractionalMaxPool2d, FractionalMaxPool3d, MaxUnpool1d, MaxUnpool2d, MaxUnpool3d, LPPool1d, LPPool2d, UpsamplingNearest2d, UpsamplingBilinear2d,
  ConstantPad1d, ConstantPad2d, ConstantPad3d, ZeroPad1d, ZeroPad2d, ZeroPad3d, CircularPad1d, CircularPad2d, CircularPad3d, ReflectionPad1d, ReflectionPad2d, ReflectionPad3d, ReplicationPad1d, ReplicationPad2d, ReplicationPad3d, ChannelShuffle, LocalResponseNorm } from './conv';
export type { ConvTransposeLayerOptions } from './conv';
export type { ConvLayerOptions } from './conv';
export { BatchNorm1d, BatchNorm2d, BatchNorm3d, SyncBatchNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, GroupNorm, RMSNorm } from './norm';
export type { BatchNormOptions } from './norm';
export { MultiheadAttention, TransformerEncoderLayer, TransformerEncoder, TransformerDecoderLayer, TransformerDecoder, Transformer } from './transformer';
export { AdaptiveLogSoftmaxWithLoss } from './adaptive';
export type { MultiheadAttentionOptions, TransformerEncoderLayerOptions, AttentionMasks, DecoderMasks, TransformerOptions } from './transformer';
export { RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell } from './rnn';
export type { RNNOptions } from './rnn';
export { CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, SmoothL1Loss, HuberLoss, BCELoss, BCEWithLogitsLoss, KLDivLoss, MarginRankingLoss, CosineEmbeddingLoss, HingeEmbeddingLoss, SoftMarginLoss, TripletMarginLoss, PoissonNLLLoss, GaussianNLLLoss, MultiMarginLoss, MultiLabelSoftMarginLoss, CTCLoss, CosineSimilarity, PairwiseDistance, MultiLabelMarginLoss, TripletMarginWithDistanceLoss } from './loss';
export type { FactoryOptions } from './layers';
export * as jit from './jit';
export { LazyLinear, LazyConv1d, LazyConv2d, LazyConv3d, LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d, LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d, LazyInstanceNorm1d, LazyInstanceNorm2d, LazyInstanceNorm3d } from './lazy';
/** torch.ao.quantization's dynamic quantization: quantizeDynamic, DynamicQuantizedLinear, quantizedEngine. */
export * as quantization from './quantized';
