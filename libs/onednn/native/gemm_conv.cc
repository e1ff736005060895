// Convolutions whose output is tiny (ResNet's last stages: 1x1, 2x2, 3x3 maps under a 3x3
// kernel, where many taps read padding) and pointwise (1x1, unpadded, any stride)
// convolutions run as one GEMM over a patch matrix col[N*OH*OW, T*IC], where T are the
// kernel taps that read the input for some output position (1 of 9 on a 1x1 map). oneDNN
// 2.6's direct kernels were 1.5-10x slower there (a 3x3 512->512 filter gradient on 1x1 maps:
// 93 ms; a strided 1x1 1024->2048 one: 181 ms on its gemm convolution). At 4x4 and 6x6 maps
// both were within noise, so larger outputs keep the direct kernels. Measured with per-kernel
// profiles of ResNet-18/50 training steps (bench:serve --profile --profile-shapes; a forced
// layout from configureOnednn bypasses this path for comparison); correctness: _conv_test.ts.
#include "conv.h"
#include "matmul.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace onednn {

namespace {

constexpr int kIm2ColMaxOutput = 9;  // OH*OW up to 3x3

bool Pointwise(const ConvGeom &g) { return g.kh == 1 && g.kw == 1 && g.pt == 0 && g.pl == 0 && g.pb == 0 && g.pr == 0; }

struct Tap {
  memory::dim kh, kw;
};

std::vector<Tap> UsedTaps(const ConvGeom &g) {
  std::vector<Tap> taps;
  for (memory::dim kh = 0; kh < g.kh; ++kh) {
    for (memory::dim kw = 0; kw < g.kw; ++kw) {
      bool used = false;
      for (memory::dim oh = 0; oh < g.oh && !used; ++oh) {
        const memory::dim ih = oh * g.sh - g.pt + kh * g.dh;
        if (ih < 0 || ih >= g.ih) continue;
        for (memory::dim ow = 0; ow < g.ow && !used; ++ow) {
          const memory::dim iw = ow * g.sw - g.pl + kw * g.dw;
          used = iw >= 0 && iw < g.iw;
        }
      }
      if (used) taps.push_back({kh, kw});
    }
  }
  return taps;
}

// Calls f(row, tap index, pointer to x's pixel or nullptr for padding) over all patches.
template <typename F>
void ForEachPatch(const ConvGeom &g, const std::vector<Tap> &taps, memory::dim n, F f) {
  for (memory::dim oh = 0; oh < g.oh; ++oh) {
    for (memory::dim ow = 0; ow < g.ow; ++ow) {
      const memory::dim row = (n * g.oh + oh) * g.ow + ow;
      for (size_t t = 0; t < taps.size(); ++t) {
        const memory::dim ih = oh * g.sh - g.pt + taps[t].kh * g.dh, iw = ow * g.sw - g.pl + taps[t].kw * g.dw;
        const bool inside = ih >= 0 && ih < g.ih && iw >= 0 && iw < g.iw;
        f(row, t, inside ? ((n * g.ih + ih) * g.iw + iw) * g.ic : -1);
      }
    }
  }
}

Entry &GemmEntry(memory::dim m, memory::dim k, memory::dim n, bool ta, bool tb, bool bf16) {
  // matmul params: BA BB M K N TA TB ACT
  const int32_t p[kMatMulParams] = {1, 1, static_cast<int32_t>(m), static_cast<int32_t>(k), static_cast<int32_t>(n), ta ? 1 : 0, tb ? 1 : 0, kActLinear};
  return Lookup(MakeKey(kKeyMatMul, p, kMatMulParams, bf16 ? 2 : 0), [&] { return MakeMatMul(p, false, 0.0F, bf16); });
}

}  // namespace

bool UseIm2Col(const ConvGeom &g) { return (g.oh * g.ow <= kIm2ColMaxOutput && g.kh * g.kw > 1) || Pointwise(g); }

uint64_t g_gemm_conv_calls = 0;

// kind as in Conv (conv.cc); a, b, out as documented there.
void ConvIm2Col(ConvKind kind, const ConvGeom &g, const float *a, const float *b, float *out, double key_a, double key_b) {
  ++g_gemm_conv_calls;
  const bool bf16 = ConvInBf16(kind, g);
  const std::vector<Tap> taps = UsedTaps(g);
  const memory::dim rows = g.n * g.oh * g.ow, tic = static_cast<memory::dim>(taps.size()) * g.ic;
  const size_t ic_bytes = static_cast<size_t>(g.ic) * sizeof(float), ocic = static_cast<size_t>(g.ic * g.oc);
  // A stride-1 pointwise convolution's patch matrix is x itself (and dx for backward data).
  const bool direct = Pointwise(g) && g.sh == 1 && g.sw == 1 && g.ih == g.oh && g.iw == g.ow;
  float *col = direct ? const_cast<float *>(kind == kConvBwdData ? out : a)
                      : static_cast<float *>(Arena(6, static_cast<size_t>(rows * std::max<memory::dim>(tic, 1)) * sizeof(float)));
  float *wt = static_cast<float *>(Arena(7, static_cast<size_t>(std::max<memory::dim>(tic, 1) * g.oc) * sizeof(float)));
  auto tap_weights = [&](const float *w, size_t t) { return w + static_cast<size_t>(taps[t].kh * g.kw + taps[t].kw) * ocic; };
  // With every tap used, HWIO weights already are the [T*IC, OC] matrix: no gather/scatter.
  const bool all_taps = static_cast<memory::dim>(taps.size()) == g.kh * g.kw;
  // The weights' key holds only when the GEMM reads them as they are (every tap used).
  const double key_w = all_taps ? key_b : 0.0;
  auto gather = [&](const float *w) -> float * {
    if (all_taps) return const_cast<float *>(w);
    for (size_t t = 0; t < taps.size(); ++t) std::memcpy(wt + t * ocic, tap_weights(w, t), ocic * sizeof(float));
    return wt;
  };
  if (kind == kConvBwdData) {
    if (direct) {
      Run(GemmEntry(rows, g.oc, tic, false, true, bf16), {const_cast<float *>(a), const_cast<float *>(b)}, nullptr, out, {key_a, key_w});  // dx = dy * W^T
      return;
    }
    std::memset(out, 0, g.Src() * sizeof(float));
    if (taps.empty()) return;
    Run(GemmEntry(rows, g.oc, tic, false, true, bf16), {const_cast<float *>(a), gather(b)}, nullptr, col, {key_a, key_w});  // dcol = dy * Wt^T
#pragma omp parallel for schedule(static) if (rows * tic >= 65536)
    for (memory::dim n = 0; n < g.n; ++n) {
      ForEachPatch(g, taps, n, [&](memory::dim row, size_t t, memory::dim at) {
        if (at < 0) return;
        const float *src = col + row * tic + static_cast<memory::dim>(t) * g.ic;
        float *dst = out + at;
        for (memory::dim c = 0; c < g.ic; ++c) dst[c] += src[c];
      });
    }
    return;
  }
  if (!direct) {
#pragma omp parallel for schedule(static) if (rows * tic >= 65536)
    for (memory::dim n = 0; n < g.n; ++n) {
      ForEachPatch(g, taps, n, [&](memory::dim row, size_t t, memory::dim at) {
        float *dst = col + row * tic + static_cast<memory::dim>(t) * g.ic;
        if (at < 0) std::memset(dst, 0, ic_bytes);
        else std::memcpy(dst, a + at, ic_bytes);
      });
    }
  }
  if (kind == kConvFwd) {
    if (taps.empty()) {
      std::memset(out, 0, g.Dst() * sizeof(float));
      return;
    }
    Run(GemmEntry(rows, tic, g.oc, false, false, bf16), {col, gather(b)}, nullptr, out, {direct ? key_a : 0.0, key_w});  // y = col * Wt
    return;
  }
  if (all_taps) {
    Run(GemmEntry(tic, rows, g.oc, true, false, bf16), {col, const_cast<float *>(b)}, nullptr, out, {direct ? key_a : 0.0, key_b});  // dW = col^T * dy
    return;
  }
  std::memset(out, 0, g.Weights() * sizeof(float));
  if (taps.empty()) return;
  Run(GemmEntry(tic, rows, g.oc, true, false, bf16), {col, const_cast<float *>(b)}, nullptr, wt, {direct ? key_a : 0.0, key_b});  // dWt = col^T * dy
  for (size_t t = 0; t < taps.size(); ++t) std::memcpy(const_cast<float *>(tap_weights(out, t)), wt + t * ocic, ocic * sizeof(float));
}

}  // namespace onednn
