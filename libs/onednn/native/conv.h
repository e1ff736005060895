// Convolution geometry and state shared by conv.cc (the entry point and oneDNN's direct
// convolutions), gemm_conv.cc (the same convolutions as one GEMM) and addon.cc (info and
// setConvLayout).
#pragma once

#include "runtime.h"

#include <cstddef>
#include <cstdint>

namespace onednn {

// params: N IH IW IC OH OW OC KH KW SH SW DH DW PT PL PB PR ACT
constexpr size_t kConvParams = 18;
struct ConvGeom {
  memory::dim n, ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
  int act;
  explicit ConvGeom(const int32_t *p)
      : n(p[0]), ih(p[1]), iw(p[2]), ic(p[3]), oh(p[4]), ow(p[5]), oc(p[6]), kh(p[7]), kw(p[8]), sh(p[9]),
        sw(p[10]), dh(p[11]), dw(p[12]), pt(p[13]), pl(p[14]), pb(p[15]), pr(p[16]), act(p[17]) {}
  size_t Src() const { return static_cast<size_t>(n * ih * iw * ic); }
  size_t Dst() const { return static_cast<size_t>(n * oh * ow * oc); }
  size_t Weights() const { return static_cast<size_t>(kh * kw * ic * oc); }
};

// Layout policy per ConvKind (the kinds are 0..2): kAuto, or ConvLayout bits forced by
// setConvLayout for measuring alternatives. Defined in conv.cc.
constexpr int kConvKinds = 3;
static_assert(kConvFwd == 0 && kConvBwdData == 1 && kConvBwdWeights == kConvKinds - 1, "ConvKind codes index g_conv_layout");
extern int g_conv_layout[kConvKinds];

// Whether this convolution computes in bf16 under the current precision (g_precision and
// the per-primitive rule of conv.cc, measured per kind and shape).
bool ConvInBf16(ConvKind kind, const ConvGeom &g);

// The GEMM path of gemm_conv.cc: whether it takes this convolution (when no bias, activation
// or forced layout asks for oneDNN's convolution), and the convolution run that way, with
// kind, a, b and out as conv() documents them.
bool UseIm2Col(const ConvGeom &g);
// key_a, key_b: the tfjs tensors' keys (0 = none), for Run's converted inputs.
void ConvIm2Col(ConvKind kind, const ConvGeom &g, const float *a, const float *b, float *out, double key_a, double key_b);
extern uint64_t g_gemm_conv_calls;  // reported by info() as gemmConvCalls, so tests see this path ran
extern uint64_t g_unrolled_conv_calls;  // of those, run unrolled (one GEMM on the convolution as a matrix): info().unrolledConvCalls

}  // namespace onednn
