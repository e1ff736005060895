// See loops.h. Plain loops written so that GCC vectorises them (no conditional loads, no
// aliasing the compiler must guard against beyond its own runtime checks).
#include "loops.h"

#include <algorithm>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LOOP __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LOOP
#endif

namespace loops {

LOOP void ReluGrad(const float *dy, const float *y, float *dx, int64_t lo, int64_t hi) {
  for (int64_t i = lo; i < hi; ++i) {
    const float d = dy[i];  // loaded unconditionally, so the select is a blend, not a branch
    dx[i] = y[i] > 0.0F ? d : 0.0F;
  }
}

LOOP void AddRelu(const float *a, const float *b, float *y, int64_t lo, int64_t hi) {
  for (int64_t i = lo; i < hi; ++i) {
    const float s = a[i] + b[i];
    y[i] = s != s ? s : std::max(s, 0.0F);
  }
}

LOOP void SumRows(const float *x, int64_t c, int64_t r0, int64_t r1, double *acc) {
  for (int64_t r = r0; r < r1; ++r) {
    const float *xr = x + r * c;
    for (int64_t j = 0; j < c; ++j) acc[j] += xr[j];
  }
}

LOOP void SquaredDeviationRows(const float *x, const double *mean, int64_t c, int64_t r0, int64_t r1, double *acc) {
  for (int64_t r = r0; r < r1; ++r) {
    const float *xr = x + r * c;
    for (int64_t j = 0; j < c; ++j) {
      const double d = xr[j] - mean[j];
      acc[j] += d * d;
    }
  }
}

LOOP void GradSumRows(const float *dy, const float *x, const float *mean, int64_t c, int64_t r0, int64_t r1, double *acc) {
  for (int64_t r = r0; r < r1; ++r) {
    const float *xr = x + r * c, *dr = dy + r * c;
    for (int64_t j = 0; j < c; ++j) {
      acc[j] += dr[j];
      acc[c + j] += static_cast<double>(dr[j]) * (xr[j] - mean[j]);
    }
  }
}

LOOP void ScaleShiftRows(const float *x, const float *k, const float *b, int64_t c, int64_t r0, int64_t r1, float *y) {
  for (int64_t r = r0; r < r1; ++r) {
    const float *xr = x + r * c;
    float *yr = y + r * c;
    for (int64_t j = 0; j < c; ++j) yr[j] = xr[j] * k[j] + b[j];
  }
}

LOOP void BatchNormGradRows(const float *dy, const float *x, const float *k, const float *u, const float *w, const float *m, int64_t c, int64_t r0, int64_t r1, float *dx) {
  for (int64_t r = r0; r < r1; ++r) {
    const float *xr = x + r * c, *dr = dy + r * c;
    float *out = dx + r * c;
    for (int64_t j = 0; j < c; ++j) out[j] = k[j] * dr[j] - u[j] - w[j] * (xr[j] - m[j]);
  }
}

LOOP void Sgd(const float *p, const float *g, const float *v, float *p_out, float *v_out, int64_t lo, int64_t hi, float lr, float mom, float wd, bool nesterov) {
  if (nesterov) {
    for (int64_t i = lo; i < hi; ++i) {
      const float pi = p[i];
      const float d = g[i] + wd * pi;
      const float vel = mom * v[i] + d;
      v_out[i] = vel;
      p_out[i] = pi - lr * (d + mom * vel);
    }
  } else {
    for (int64_t i = lo; i < hi; ++i) {
      const float pi = p[i];
      const float d = g[i] + wd * pi;
      const float vel = mom * v[i] + d;
      v_out[i] = vel;
      p_out[i] = pi - lr * vel;
    }
  }
}

}  // namespace loops
