// See loops.h. The loops are written once, in loops_body.inc, and compiled here three times:
// for AVX-512 (avx512f), AVX2 and baseline x86-64, each inclusion under its own
// `#pragma GCC target`. One is chosen per process, on first use: the widest that both the CPU
// and oneDNN's ISA cap allow, so ONEDNN_MAX_CPU_ISA (read by oneDNN) caps these loops too and
// `ONEDNN_MAX_CPU_ISA=AVX2` runs the whole addon as on an AVX2 CPU. That is how the tests run the
// AVX2 and baseline loops on an AVX-512 machine (src/loops_isa_test.ts); GCC's target_clones,
// used before, picked the widest the CPU had whatever oneDNN was told. The choice cannot exceed
// the CPU and does not change a bit of any result (the test), only the speed; info().loopsIsa
// reports it.
#include "loops.h"

#include <dnnl.hpp>

#include <algorithm>
#include <vector>

namespace loops {

namespace {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LOOPS_X86_CLONES 1
#pragma GCC push_options
#pragma GCC target("avx512f")
namespace avx512f {
#include "loops_body.inc"
}  // namespace avx512f
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx2")
namespace avx2 {
#include "loops_body.inc"
}  // namespace avx2
#pragma GCC pop_options
#endif

namespace baseline {
#include "loops_body.inc"
}  // namespace baseline

// One instruction set's loops.
struct Table {
  const char *isa;
  decltype(&baseline::ReluGrad) relu_grad;
  decltype(&baseline::AddRelu) add_relu;
  decltype(&baseline::ShiftedSumRows) shifted_sum_rows;
  decltype(&baseline::GradSumRows) grad_sum_rows;
  decltype(&baseline::ScaleShiftRows) scale_shift_rows;
  decltype(&baseline::BatchNormGradRows) batch_norm_grad_rows;
  decltype(&baseline::Sgd) sgd;
  decltype(&baseline::SumSquares) sum_squares;
};

#define LOOPS_TABLE(ns) \
  Table { #ns, &ns::ReluGrad, &ns::AddRelu, &ns::ShiftedSumRows, &ns::GradSumRows, &ns::ScaleShiftRows, &ns::BatchNormGradRows, &ns::Sgd, &ns::SumSquares }

const Table kBaseline = LOOPS_TABLE(baseline);
#ifdef LOOPS_X86_CLONES
const Table kAvx2 = LOOPS_TABLE(avx2);
const Table kAvx512f = LOOPS_TABLE(avx512f);
#endif

// The widest loops the CPU runs (GCC's own CPU check) within what oneDNN may use: oneDNN's
// effective ISA is the CPU's, lowered by ONEDNN_MAX_CPU_ISA (or DNNL_MAX_CPU_ISA).
const Table &Choose() {
#ifdef LOOPS_X86_CLONES
  __builtin_cpu_init();
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_mic:
    case dnnl::cpu_isa::avx512_mic_4ops:
    case dnnl::cpu_isa::avx512_core:
    case dnnl::cpu_isa::avx512_core_vnni:
    case dnnl::cpu_isa::avx512_core_bf16:
    case dnnl::cpu_isa::avx512_core_amx:
      if (__builtin_cpu_supports("avx512f")) return kAvx512f;
      [[fallthrough]];
    case dnnl::cpu_isa::avx2:
    case dnnl::cpu_isa::avx2_vnni:
      if (__builtin_cpu_supports("avx2")) return kAvx2;
      return kBaseline;
    default:
      return kBaseline;
  }
#else
  return kBaseline;
#endif
}

const Table &Active() {
  static const Table &table = Choose();
  return table;
}

}  // namespace

const char *Isa() { return Active().isa; }

void ReluGrad(const float *dy, const float *y, float *dx, int64_t lo, int64_t hi) { Active().relu_grad(dy, y, dx, lo, hi); }

void AddRelu(const float *a, const float *b, float *y, int64_t lo, int64_t hi) { Active().add_relu(a, b, y, lo, hi); }

void ShiftedSumRows(const float *x, const float *shift, int64_t c, int64_t r0, int64_t r1, double *acc) {
  Active().shifted_sum_rows(x, shift, c, r0, r1, acc);
}

void GradSumRows(const float *dy, const float *relu_y, const float *x, const float *mean, int64_t c, int64_t r0, int64_t r1, double *acc) {
  Active().grad_sum_rows(dy, relu_y, x, mean, c, r0, r1, acc);
}

void ScaleShiftRows(const float *x, const float *k, const float *b, int64_t c, int64_t r0, int64_t r1, bool relu, float *y) {
  Active().scale_shift_rows(x, k, b, c, r0, r1, relu, y);
}

void BatchNormGradRows(const float *dy, const float *relu_y, const float *x, const float *k, const float *u, const float *w, const float *m, int64_t c, int64_t r0, int64_t r1, float *dx) {
  Active().batch_norm_grad_rows(dy, relu_y, x, k, u, w, m, c, r0, r1, dx);
}

void Sgd(const float *p, const float *g, const float *v, float *p_out, float *v_out, int64_t lo, int64_t hi, float lr, float mom, float wd, float gs, bool nesterov) {
  Active().sgd(p, g, v, p_out, v_out, lo, hi, lr, mom, wd, gs, nesterov);
}

double SumSquares(const float *x, int64_t lo, int64_t hi) { return Active().sum_squares(x, lo, hi); }

}  // namespace loops
