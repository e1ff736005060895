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
#include <string>
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

// The tap through which input pixel q (of IH*IW) reaches output pixel p (of OH*OW), or -1.
memory::dim TapOf(const ConvGeom &g, memory::dim q, memory::dim p) {
  const memory::dim ih = q / g.iw, iw = q % g.iw, oh = p / g.ow, ow = p % g.ow;
  const memory::dim dh = ih - oh * g.sh + g.pt, dw = iw - ow * g.sw + g.pl;
  if (dh < 0 || dw < 0 || dh % g.dh != 0 || dw % g.dw != 0) return -1;
  const memory::dim kh = dh / g.dh, kw = dw / g.dw;
  return kh < g.kh && kw < g.kw ? kh * g.kw + kw : -1;
}

// Calls f(q, p, tap) for every input pixel q that output pixel p reads, through tap.
template <typename F>
void ForEachPair(const ConvGeom &g, F f) {
  for (memory::dim q = 0; q < g.ih * g.iw; ++q) {
    for (memory::dim p = 0; p < g.oh * g.ow; ++p) {
      const memory::dim t = TapOf(g, q, p);
      if (t >= 0) f(q, p, t);
    }
  }
}

struct Pair {
  memory::dim q, p, t;
};

// ForEachPair's (q, p, tap) in its order.
std::vector<Pair> Pairs(const ConvGeom &g) {
  std::vector<Pair> pairs;
  ForEachPair(g, [&](memory::dim q, memory::dim p, memory::dim t) { pairs.push_back({q, p, t}); });
  return pairs;
}

Entry &GemmEntry(memory::dim m, memory::dim k, memory::dim n, bool ta, bool tb, bool bf16) {
  // matmul params: BA BB M K N TA TB ACT
  const int32_t p[kMatMulParams] = {1, 1, static_cast<int32_t>(m), static_cast<int32_t>(k), static_cast<int32_t>(n), ta ? 1 : 0, tb ? 1 : 0, kActLinear};
  return Lookup(MakeKey(kKeyMatMul, p, kMatMulParams, bf16 ? 2 : 0), [&] { return MakeMatMul(p, false, 0.0F, bf16); });
}

// A key for a matrix made from the filter under key_b for this geometry (`what` names which),
// under which its bf16 copy is kept with the filter's (0 without bf16 or a key).
double FilterMatrixKey(const ConvGeom &g, double key_b, bool bf16, char what) {
  if (!bf16 || key_b == 0.0) return 0.0;
  const memory::dim shape[] = {g.ih, g.iw, g.ic, g.oh, g.ow, g.oc, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pt, g.pl, g.pb, g.pr};
  return DerivedKey(key_b, what + std::string(reinterpret_cast<const char *>(shape), sizeof(shape)));
}

}  // namespace

bool UseIm2Col(const ConvGeom &g) { return (g.oh * g.ow <= kIm2ColMaxOutput && g.kh * g.kw > 1) || Pointwise(g); }

uint64_t g_gemm_conv_calls = 0;
uint64_t g_unrolled_conv_calls = 0;

namespace {

// Whether the whole convolution as one matrix, U[IH*IW*IC, OH*OW*OC] (block (q, p) is the tap
// joining input pixel q to output pixel p, or zero), multiplies fewer numbers than the patch
// matrix: IH*IW < T (taps used) per output pixel and channel pair. A 3x3 kernel on 2x2 maps
// (ResNet's third stage at 28 px): 4 against 9, and U has no zero block, where the patches are
// 5/9 padding.
// In bf16, U's bf16 copy is kept with the filter's key (made by the forward, read again by
// backward data). Without a key, backward data stays on the patch matrix: its GEMM reads U
// transposed, and converting that to bf16 on every call cost more than the padding's products
// (ResNet-152 at 28 px, 3x3 256->256 on 2x2 maps: 50.9 against 44.6 ms a step; forward
// 57.6 -> 46.7, filter gradient 54.0 -> 39.2; fp32, all three: 250 -> 149 ms).
bool UseUnrolled(ConvKind kind, const ConvGeom &g, bool bf16, double key_b) {
  if (bf16 && kind == kConvBwdData && key_b == 0.0) return false;
  return !Pointwise(g) && g.kh * g.kw > 1 && g.ih * g.iw < static_cast<memory::dim>(UsedTaps(g).size());
}

// The unrolled convolution: x and y of one example are the rows of X[N, IH*IW*IC] and
// Y[N, OH*OW*OC] as they lie in NHWC, so y = X*U, dx = dY*U^T, and dU = X^T*dY folds into
// the filter gradient (each tap's blocks summed).
void ConvUnrolled(ConvKind kind, const ConvGeom &g, const float *a, const float *b, float *out, double key_a, double key_b, bool bf16) {
  ++g_unrolled_conv_calls;
  const memory::dim rows_u = g.ih * g.iw * g.ic, cols_u = g.oh * g.ow * g.oc;
  const size_t ocic = static_cast<size_t>(g.ic * g.oc), oc_bytes = static_cast<size_t>(g.oc) * sizeof(float);
  auto block = [&](float *u, memory::dim q, memory::dim p) { return u + q * g.ic * cols_u + p * g.oc; };
  if (kind == kConvBwdWeights) {
    float *du = static_cast<float *>(Arena(6, static_cast<size_t>(rows_u * cols_u) * sizeof(float)));
    Run(GemmEntry(rows_u, g.n, cols_u, true, false, bf16), {const_cast<float *>(a), const_cast<float *>(b)}, nullptr, du, {key_a, key_b});  // dU = X^T * dY
    const std::vector<Pair> pairs = Pairs(g);
    const memory::dim kk = g.kh * g.kw;
    // Input channel by input channel across the threads (each owns its rows of every tap), the
    // pairs added in the same order for every element: the same sums, bit for bit, in one pass.
#pragma omp parallel for schedule(static) if (kk * ocic >= 65536)
    for (memory::dim ic = 0; ic < g.ic; ++ic) {
      for (memory::dim k = 0; k < kk; ++k) std::memset(out + static_cast<size_t>(k) * ocic + ic * g.oc, 0, oc_bytes);
      for (const Pair &pr : pairs) {
        float *d = out + static_cast<size_t>(pr.t) * ocic + ic * g.oc;
        const float *sr = block(du, pr.q, pr.p) + ic * cols_u;
        for (memory::dim oc = 0; oc < g.oc; ++oc) d[oc] += sr[oc];
      }
    }
    return;
  }
  float *u = static_cast<float *>(Arena(7, static_cast<size_t>(rows_u * cols_u) * sizeof(float)));
  // U's bf16 copy lives under a key derived from the filter's and the geometry (the filter's
  // data never changes): built and converted once, by the forward, for the backward too.
  const double key_u = FilterMatrixKey(g, key_b, bf16, 'u');
  if (key_u == 0.0 || !HasConverted(key_u, static_cast<size_t>(rows_u * cols_u) * 2)) {  // else Run reads the copy, not u
    const std::vector<Pair> pairs = Pairs(g);
    // Zero blocks only where some pair has no tap (never on 2x2 maps under a 3x3 kernel).
    const bool zero = static_cast<memory::dim>(pairs.size()) < g.ih * g.iw * g.oh * g.ow;
    // Input channel by input channel across the threads: each writes its own rows of U.
#pragma omp parallel for schedule(static) if (rows_u * cols_u >= 65536)
    for (memory::dim ic = 0; ic < g.ic; ++ic) {
      if (zero) {
        for (memory::dim q = 0; q < g.ih * g.iw; ++q) std::memset(block(u, q, 0) + ic * cols_u, 0, static_cast<size_t>(cols_u) * sizeof(float));
      }
      for (const Pair &pr : pairs) std::memcpy(block(u, pr.q, pr.p) + ic * cols_u, b + static_cast<size_t>(pr.t) * ocic + ic * g.oc, oc_bytes);
    }
  }
  if (kind == kConvFwd) {
    Run(GemmEntry(g.n, rows_u, cols_u, false, false, bf16), {const_cast<float *>(a), u}, nullptr, out, {key_a, key_u});  // y = X * U
  } else {
    Run(GemmEntry(g.n, cols_u, rows_u, false, true, bf16), {const_cast<float *>(a), u}, nullptr, out, {key_a, key_u});  // dx = dY * U^T
  }
}

}  // namespace

// kind as in Conv (conv.cc); a, b, out as documented there.
void ConvIm2Col(ConvKind kind, const ConvGeom &g, const float *a, const float *b, float *out, double key_a, double key_b) {
  ++g_gemm_conv_calls;
  const bool bf16 = ConvInBf16(kind, g);
  if (UseUnrolled(kind, g, bf16, key_b)) {
    ConvUnrolled(kind, g, a, b, out, key_a, key_b, bf16);
    return;
  }
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
  // With every tap used the GEMM reads the filter as it is, under its own key; a gathered
  // filter is kept under a key derived from it (built once, by the forward, for the backward).
  const double key_w = all_taps ? key_b : FilterMatrixKey(g, key_b, bf16, 't');
  auto gather = [&](const float *w) -> float * {
    if (all_taps) return const_cast<float *>(w);
    if (key_w != 0.0 && HasConverted(key_w, static_cast<size_t>(tic * g.oc) * 2)) return wt;  // not read
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
  // The used taps' blocks of the filter gradient are the GEMM's (one tap: it writes its block in
  // place), every other tap's is zero: each element written once, row by row across the threads.
  const bool one_tap = taps.size() == 1;
  if (!taps.empty()) {
    float *dwt = one_tap ? const_cast<float *>(tap_weights(out, 0)) : wt;
    Run(GemmEntry(tic, rows, g.oc, true, false, bf16), {col, const_cast<float *>(b)}, nullptr, dwt, {direct ? key_a : 0.0, key_b});  // dWt = col^T * dy
  }
  std::vector<int> used(static_cast<size_t>(g.kh * g.kw), -1);
  for (size_t t = 0; t < taps.size(); ++t) used[static_cast<size_t>(taps[t].kh * g.kw + taps[t].kw)] = static_cast<int>(t);
  const memory::dim filter_rows = g.kh * g.kw * g.ic;
#pragma omp parallel for schedule(static) if (g.Weights() >= 65536)
  for (memory::dim r = 0; r < filter_rows; ++r) {
    const int t = used[static_cast<size_t>(r / g.ic)];
    float *dst = out + r * g.oc;
    if (t < 0) std::memset(dst, 0, static_cast<size_t>(g.oc) * sizeof(float));
    else if (!one_tap) std::memcpy(dst, wt + (static_cast<memory::dim>(t) * g.ic + r % g.ic) * g.oc, static_cast<size_t>(g.oc) * sizeof(float));
  }
}

}  // namespace onednn
