// Convolution on oneDNN's convolution primitives: the conv() entry point, the layout policy,
// and the primitives for the three kinds (forward, backward data, backward weights). Tiny
// and pointwise convolutions go to gemm_conv.cc instead.
#include "conv.h"
#include "kernels.h"

#include <memory>
#include <utility>

namespace onednn {

// Layout policy: which tensors of a convolution let oneDNN pick a (blocked) layout,
// paid for with a reorder from/to the plain NHWC / HWIO tfjs layout on every call.
// kAuto (-1) is "auto" (AutoLayout below); 0..7 force ConvLayout bits, for measuring alternatives.
int g_conv_layout[kConvKinds] = {kAuto, kAuto, kAuto};

namespace {

// Measured on AVX2 (tools/bench_kernels.ts --layouts, ResNet-18 shapes at batch 128): plain
// HWIO filters select gemm/reference kernels (2-10x slower); 3x3 convolutions with 16+
// channels run 10-50% faster fully blocked even after reordering the activations, except
// strided backward-data; 1x1 and shallow (stem) convolutions prefer NHWC activations.
int AutoLayout(ConvKind kind, const ConvGeom &g) {
  const bool pointwise = g.kh == 1 && g.kw == 1;
  const bool shallow = g.ic < 16 || g.oc < 16;
  const bool strided = g.sh > 1 || g.sw > 1;
  if (pointwise || shallow || (kind == kConvBwdData && strided)) return kWeightsAny;
  return kSrcAny | kWeightsAny | kDstAny;
}

// Where bf16 pays, measured per shape and direction in whole training steps
// (tools/bench_precision.ts; the table is in libs/onednn/README.md, Precision). Slower in bf16
// were: convolutions reading one channel (the stem: nothing to pair in bf16's dot products;
// its filter gradient 0.6-0.7x), filter gradients of strided or 1x1-map 3x3 convolutions
// (0.65-0.95x: small reductions over N*OH*OW, where converting both inputs costs more than the
// faster dot products return) and of pointwise ones reading 64 channels or fewer (1x1 64->256
// at 7x7: 0.76x; with more channels 1.1-1.5x). Everything else ran 1.1-2.2x faster.
bool Bf16Pays(ConvKind kind, const ConvGeom &g) {
  if (g.ic < 16) return false;
  if (kind != kConvBwdWeights) return true;
  const bool pointwise = g.kh == 1 && g.kw == 1, strided = g.sh > 1 || g.sw > 1;
  if (pointwise) return g.ic > 64;
  return !strided && g.oh * g.ow > 1;
}

std::unique_ptr<Entry> MakeConv(ConvKind kind, const ConvGeom &g, bool has_bias, float alpha, bool bf16) {
  using dnnl::algorithm;
  using dnnl::prop_kind;
  const memory::dims src_d{g.n, g.ic, g.ih, g.iw}, wei_d{g.oc, g.ic, g.kh, g.kw}, dst_d{g.n, g.oc, g.oh, g.ow};
  const memory::dims strides{g.sh, g.sw}, dil{g.dh - 1, g.dw - 1}, pad_l{g.pt, g.pl}, pad_r{g.pb, g.pr};
  const memory::desc src_u(src_d, dt::f32, tag::nhwc), wei_u(wei_d, dt::f32, tag::hwio), dst_u(dst_d, dt::f32, tag::nhwc);
  int policy = g_conv_layout[kind] == kAuto ? AutoLayout(kind, g) : g_conv_layout[kind];
  // oneDNN 2.6's jit_1x1:avx2 backward-weights kernel gives wrong filter gradients for
  // strided 1x1 convolutions on NHWC activations (found by _conv_test.ts); all-plain
  // layouts route it to gemm, which is correct and measured faster on this shape anyway.
  if (kind == kConvBwdWeights && g.kh == 1 && g.kw == 1 && (g.sh > 1 || g.sw > 1) && !(policy & kSrcAny)) policy = kPlain;
  // In bf16 a primitive's inputs are bf16 and its output fp32 (fp32 accumulation inside).
  const dt lo = InputType(bf16);
  const dt src_t = kind == kConvBwdData ? dt::f32 : lo, wei_t = kind == kConvBwdWeights ? dt::f32 : lo;
  const dt dst_t = kind == kConvFwd ? dt::f32 : lo;
  const memory::desc src_q(src_d, src_t, (policy & kSrcAny) ? tag::any : tag::nhwc);
  const memory::desc wei_q(wei_d, wei_t, (policy & kWeightsAny) ? tag::any : tag::hwio);
  const memory::desc dst_q(dst_d, dst_t, (policy & kDstAny) ? tag::any : tag::nhwc);
  const memory::desc bias_md({g.oc}, dt::f32, tag::a);
  auto e = std::make_unique<Entry>();
  dnnl::primitive_attr attr = UserScratchpad();

  if (kind == kConvFwd) {
    dnnl::post_ops ops;
    AppendActivation(ops, g.act, alpha);
    attr.set_post_ops(ops);
    auto d = has_bias ? dnnl::convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct, src_q,
                                                        wei_q, bias_md, dst_q, strides, dil, pad_l, pad_r)
                      : dnnl::convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct, src_q,
                                                        wei_q, dst_q, strides, dil, pad_l, pad_r);
    dnnl::convolution_forward::primitive_desc pd(d, attr, Engine());
    e->prim = dnnl::convolution_forward(pd);
    e->inputs.resize(2);
    e->inputs[0].Init(DNNL_ARG_SRC, src_u, pd.src_desc(), false);
    e->inputs[1].Init(DNNL_ARG_WEIGHTS, wei_u, pd.weights_desc(), false);
    e->output.Init(DNNL_ARG_DST, dst_u, pd.dst_desc(), true);
    e->bias = bias_md;
    e->scratchpad = pd.scratchpad_desc();
    e->impl = pd.impl_info_str();
    return e;
  }
  // The forward hint in the inputs' type throughout (a bf16 forward's destination is bf16).
  const memory::desc src_h(src_d, lo, (policy & kSrcAny) ? tag::any : tag::nhwc);
  const memory::desc wei_h(wei_d, lo, (policy & kWeightsAny) ? tag::any : tag::hwio);
  const memory::desc dst_h(dst_d, lo, (policy & kDstAny) ? tag::any : tag::nhwc);
  auto hint_d = dnnl::convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, src_h, wei_h,
                                                dst_h, strides, dil, pad_l, pad_r);
  dnnl::convolution_forward::primitive_desc hint(hint_d, Engine());
  if (kind == kConvBwdData) {
    auto d = dnnl::convolution_backward_data::desc(algorithm::convolution_direct, src_q, wei_q, dst_q, strides, dil, pad_l,
                                                   pad_r);
    dnnl::convolution_backward_data::primitive_desc pd(d, attr, Engine(), hint);
    e->prim = dnnl::convolution_backward_data(pd);
    e->inputs.resize(2);
    e->inputs[0].Init(DNNL_ARG_DIFF_DST, dst_u, pd.diff_dst_desc(), false);
    e->inputs[1].Init(DNNL_ARG_WEIGHTS, wei_u, pd.weights_desc(), false);
    e->output.Init(DNNL_ARG_DIFF_SRC, src_u, pd.diff_src_desc(), true);
    e->scratchpad = pd.scratchpad_desc();
    e->impl = pd.impl_info_str();
    return e;
  }
  auto d = dnnl::convolution_backward_weights::desc(algorithm::convolution_direct, src_q, wei_q, dst_q, strides, dil,
                                                    pad_l, pad_r);
  dnnl::convolution_backward_weights::primitive_desc pd(d, attr, Engine(), hint);
  e->prim = dnnl::convolution_backward_weights(pd);
  e->inputs.resize(2);
  e->inputs[0].Init(DNNL_ARG_SRC, src_u, pd.src_desc(), false);
  e->inputs[1].Init(DNNL_ARG_DIFF_DST, dst_u, pd.diff_dst_desc(), false);
  e->output.Init(DNNL_ARG_DIFF_WEIGHTS, wei_u, pd.diff_weights_desc(), true);
  e->scratchpad = pd.scratchpad_desc();
  e->impl = pd.impl_info_str();
  return e;
}

}  // namespace

bool ConvInBf16(ConvKind kind, const ConvGeom &g) {
  return g_precision == kBf16Everywhere || (g_precision == kBf16 && Bf16Pays(kind, g));
}

// conv(kind, a, b, bias|null, out, params, alpha, keyA?, keyB?)
//   fwd:         a = x  [N,IH,IW,IC], b = filter [KH,KW,IC,OC], out = y  [N,OH,OW,OC]
//   bwd data:    a = dy [N,OH,OW,OC], b = filter,               out = dx [N,IH,IW,IC]
//   bwd weights: a = x,               b = dy,                   out = dw [KH,KW,IC,OC]
Napi::Value Conv(const Napi::CallbackInfo &info) {
  return Guard(info, [&]() -> Napi::Value {
    Args a{info, info.Env()};
    const ConvKind kind = a.Code<ConvKind>(0, "conv kind");
    const int32_t *p = a.Ints(5, kConvParams);
    const ConvGeom g(p);
    if (g.dh < 1 || g.dw < 1 || g.sh < 1 || g.sw < 1) throw Napi::RangeError::New(info.Env(), "strides and dilations must be >= 1");
    if (g.act != kActLinear && kind != kConvFwd) throw Napi::RangeError::New(info.Env(), "activations are forward-only");
    float *in0 = nullptr, *in1 = nullptr, *bias = nullptr, *out = nullptr;
    if (kind == kConvFwd) {
      in0 = a.Floats(1, g.Src(), "x");
      in1 = a.Floats(2, g.Weights(), "filter");
      bias = a.OptionalFloats(3, static_cast<size_t>(g.oc), "bias");
      out = a.Floats(4, g.Dst(), "y");
    } else if (kind == kConvBwdData) {
      in0 = a.Floats(1, g.Dst(), "dy");
      in1 = a.Floats(2, g.Weights(), "filter");
      out = a.Floats(4, g.Src(), "dx");
    } else {
      in0 = a.Floats(1, g.Src(), "x");
      in1 = a.Floats(2, g.Dst(), "dy");
      out = a.Floats(4, g.Weights(), "dw");
    }
    const float alpha = a.Number(6);
    // Keys of a and b (0 or absent: none): see Run's converted inputs.
    const double key0 = info.Length() > 7 && info[7].IsNumber() ? info[7].As<Napi::Number>().DoubleValue() : 0.0;
    const double key1 = info.Length() > 8 && info[8].IsNumber() ? info[8].As<Napi::Number>().DoubleValue() : 0.0;
    if (UseIm2Col(g) && bias == nullptr && g.act == kActLinear && g_conv_layout[kind] == kAuto) {
      ConvIm2Col(kind, g, in0, in1, out, key0, key1);
      return info.Env().Undefined();
    }
    const bool bf16 = ConvInBf16(kind, g);
    const int extra = (kind << 2) | (bf16 ? 2 : 0) | (bias != nullptr ? 1 : 0);
    Key key = MakeKey(kKeyConv, p, kConvParams, extra);
    if (g.act == kActLeakyRelu) key.append(reinterpret_cast<const char *>(&alpha), sizeof(alpha));
    Entry &e = Lookup(std::move(key), [&] { return MakeConv(kind, g, bias != nullptr, alpha, bf16); });
    Run(e, {in0, in1}, bias, out, {key0, key1});
    return info.Env().Undefined();
  });
}

}  // namespace onednn
