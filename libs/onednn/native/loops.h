// The addon's own elementwise and per-channel loops (fused training kernels): each over a
// range, so callers split the work across OpenMP threads and each thread makes one call.
//
// Compiled for AVX-512, AVX2 and baseline x86-64 (loops.cc; the widest the CPU has runs,
// unless ONEDNN_MAX_CPU_ISA caps it), so one build runs on every x86 machine and uses the wide
// vectors where they exist. loops.cc is compiled with -ffp-contract=off: no fused
// multiply-add, so every variant rounds exactly as the JS fallbacks of src/_fused.ts do.
#pragma once

#include <cstdint>

namespace loops {

// The instruction set the loops below run on: "avx512f", "avx2" or "baseline".
const char *Isa();

// dx[i] = y[i] > 0 ? dy[i] : 0 for i in [lo, hi).
void ReluGrad(const float *dy, const float *y, float *dx, int64_t lo, int64_t hi);

// y[i] = max(a[i] + b[i], 0), NaN passing through, for i in [lo, hi).
void AddRelu(const float *a, const float *b, float *y, int64_t lo, int64_t hi);

// Rows [r0, r1) of x[R][c], in double with d = x[r][j] - shift[j]: acc[j] += d; acc[c + j] += d^2
// (a batch norm's mean and variance in one pass; the shift, a value of the channel, keeps the
// variance from cancelling when the mean is large).
void ShiftedSumRows(const float *x, const float *shift, int64_t c, int64_t r0, int64_t r1, double *acc);

// Rows [r0, r1): acc[j] += dy[r][j]; acc[c + j] += dy[r][j] * (x[r][j] - mean[j]), in double.
// With relu_y (not null), dy[r][j] is first taken through a ReLU's gradient: 0 where relu_y <= 0.
void GradSumRows(const float *dy, const float *relu_y, const float *x, const float *mean, int64_t c, int64_t r0, int64_t r1, double *acc);

// Rows [r0, r1): y[r][j] = x[r][j] * k[j] + b[j]; with relu, max(that, 0) (NaN passing through).
void ScaleShiftRows(const float *x, const float *k, const float *b, int64_t c, int64_t r0, int64_t r1, bool relu, float *y);

// Rows [r0, r1): dx[r][j] = k[j] * dy[r][j] - u[j] - w[j] * (x[r][j] - m[j]).
void BatchNormGradRows(const float *dy, const float *relu_y, const float *x, const float *k, const float *u, const float *w, const float *m, int64_t c, int64_t r0, int64_t r1, float *dx);

// SGD with momentum over [lo, hi): d = gs * g + wd * p (gs: the gradient's scale, 1 unless
// clipped; 1 * g is exact, so gs = 1 gives the unscaled update's bits); v' = mom * v + d;
// p' = p - lr * (nesterov ? d + mom * v' : v').
// p_out may be p and v_out may be v (in place): each element is read before it is written.
void Sgd(const float *p, const float *g, const float *v, float *p_out, float *v_out, int64_t lo, int64_t hi, float lr, float mom, float wd, float gs, bool nesterov);

// The sum of x[i]^2 over [lo, hi) in double: lane k (of 8) adds the elements i with
// (i - lo) % 8 == k in order, then the lanes are added pairwise, ((0+1)+(2+3))+((4+5)+(6+7)).
// The same bits on every ISA; src/_fused.ts's JS version computes exactly this.
double SumSquares(const float *x, int64_t lo, int64_t hi);

}  // namespace loops
