// The fused training kernels tfjs does not have (src/_fused.ts). Training-mode batch norm
// over channels-last data x[R][C] (R = N*H*W rows), forward and backward in two passes each,
// and the SGD update: what tfjs otherwise composes from ~15 broadcasting kernels per
// batch-norm layer and ~7 per parameter. Per-thread partial sums in double, combined in
// thread order, so results do not depend on scheduling. Also ReLU's gradient and the
// residual join relu(a + b) in one pass each, and the sum of squares of many arrays (a
// clipped step's gradient norm). The per-element loops are in loops.cc.
#include "kernels.h"
#include "loops.h"
#include "runtime.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace onednn {

namespace {

// Calls f(lo, hi) once per OpenMP thread with its share of [0, n); one thread when n is
// below min_parallel (a hand-off costs more than the loop).
template <typename F>
void ParallelRanges(int64_t n, int64_t min_parallel, F f) {
  const int threads = n >= min_parallel ? omp_get_max_threads() : 1;
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    f(n * t / nt, n * (t + 1) / nt);
  }
}

// Sums per channel over all rows: f(r0, r1, acc) adds rows [r0, r1) into acc[k * c]; rows
// are split across threads in fixed shares.
template <typename F>
void ChannelSums(int64_t rows, int64_t c, double *out, int k, F f) {
  const int threads = rows * c >= 32768 ? omp_get_max_threads() : 1;
  std::vector<double> partial(static_cast<size_t>(threads * k * c), 0.0);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int64_t lo = rows * t / threads, hi = rows * (t + 1) / threads;
    f(lo, hi, partial.data() + static_cast<int64_t>(t) * k * c);
  }
  std::fill(out, out + k * c, 0.0);
  for (int t = 0; t < threads; ++t) {
    for (int64_t i = 0; i < k * c; ++i) out[i] += partial[static_cast<size_t>(t * k * c + i)];
  }
}

// Argument i, the gradient's scale of sgd and sgdMulti: a number, required (Args::Number reads a
// missing one as 0, which would zero every gradient).
float GradScale(const Napi::CallbackInfo &info, size_t i) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "gradScale must be a number (1: the gradient as it is)");
  return info[i].As<Napi::Number>().FloatValue();
}
}  // namespace


// batchNormTrain(x, scale, offset, y, mean, variance, epsilon, relu?): mean and biased variance of
// each channel (last axis) over the batch, y = (x - mean) / sqrt(variance + eps) * scale + offset,
// and with relu max(y, 0) in the same pass.
Napi::Value BatchNormTrain(const Napi::CallbackInfo &info) {
  return Guard(info, [&]() -> Napi::Value {
    Args a{info, info.Env()};
    const float *scale = a.Floats(1, 1, "scale");
    const int64_t c = static_cast<int64_t>(info[1].As<Napi::Float32Array>().ElementLength());
    const float *offset = a.Floats(2, static_cast<size_t>(c), "offset");
    const float *x = a.Floats(0, static_cast<size_t>(c), "x");
    const int64_t n = static_cast<int64_t>(info[0].As<Napi::Float32Array>().ElementLength());
    if (n % c != 0) throw Napi::RangeError::New(info.Env(), "x's length must be a multiple of the channel count");
    float *y = a.Floats(3, static_cast<size_t>(n), "y");
    float *mean_out = a.Floats(4, static_cast<size_t>(c), "mean");
    float *var_out = a.Floats(5, static_cast<size_t>(c), "variance");
    const double eps = info[6].As<Napi::Number>().DoubleValue();
    const bool relu = info.Length() > 7 && info[7].ToBoolean().Value();
    const int64_t rows = n / c;
    // One pass: sums of d = x - s and d^2 in double, s the channel's first value (x's first row).
    std::vector<double> sums(static_cast<size_t>(2 * c)), mean(static_cast<size_t>(c)), var(static_cast<size_t>(c));
    ChannelSums(rows, c, sums.data(), 2, [&](int64_t r0, int64_t r1, double *acc) { loops::ShiftedSumRows(x, x, c, r0, r1, acc); });
    std::vector<float> k(static_cast<size_t>(c)), b(static_cast<size_t>(c));
    for (int64_t j = 0; j < c; ++j) {
      const double d = sums[j] / static_cast<double>(rows);
      mean[j] = static_cast<double>(x[j]) + d;
      var[j] = std::max(0.0, sums[c + j] / static_cast<double>(rows) - d * d);
      mean_out[j] = static_cast<float>(mean[j]);
      var_out[j] = static_cast<float>(var[j]);
      const double kj = scale[j] / std::sqrt(var[j] + eps);
      k[j] = static_cast<float>(kj);
      b[j] = static_cast<float>(offset[j] - mean[j] * kj);
    }
    ParallelRanges(rows, 65536 / c, [&](int64_t r0, int64_t r1) { loops::ScaleShiftRows(x, k.data(), b.data(), c, r0, r1, relu, y); });
    return info.Env().Undefined();
  });
}

// batchNormGrad(dy, x, scale, mean, variance, dx, dScale, dOffset, epsilon, y?): the gradient of
// batchNormTrain through the batch statistics (with y, the output of batchNormTrain with relu, dy
// first goes through the ReLU's gradient: 0 where y <= 0): with xhat = (x - mean) * invstd,
// dOffset = sum(dy), dScale = sum(dy * xhat), dx = scale * invstd * (dy - (dOffset + xhat * dScale) / R).
Napi::Value BatchNormGrad(const Napi::CallbackInfo &info) {
  return Guard(info, [&]() -> Napi::Value {
    Args a{info, info.Env()};
    const float *scale = a.Floats(2, 1, "scale");
    const int64_t c = static_cast<int64_t>(info[2].As<Napi::Float32Array>().ElementLength());
    const int64_t n = static_cast<int64_t>(info[1].As<Napi::Float32Array>().ElementLength());
    if (n % c != 0) throw Napi::RangeError::New(info.Env(), "x's length must be a multiple of the channel count");
    const float *dy = a.Floats(0, static_cast<size_t>(n), "dy");
    const float *x = a.Floats(1, static_cast<size_t>(n), "x");
    const float *mean = a.Floats(3, static_cast<size_t>(c), "mean");
    const float *var = a.Floats(4, static_cast<size_t>(c), "variance");
    float *dx = a.Floats(5, static_cast<size_t>(n), "dx");
    float *dscale = a.Floats(6, static_cast<size_t>(c), "dScale");
    float *doffset = a.Floats(7, static_cast<size_t>(c), "dOffset");
    const double eps = info[8].As<Napi::Number>().DoubleValue();
    const float *relu_y = info.Length() > 9 && !info[9].IsUndefined() && !info[9].IsNull() ? a.Floats(9, static_cast<size_t>(n), "y") : nullptr;
    const int64_t rows = n / c;
    std::vector<double> sums(static_cast<size_t>(2 * c));  // [sum dy | sum dy * (x - mean)]
    ChannelSums(rows, c, sums.data(), 2, [&](int64_t r0, int64_t r1, double *acc) { loops::GradSumRows(dy, relu_y, x, mean, c, r0, r1, acc); });
    std::vector<float> k(static_cast<size_t>(c)), u(static_cast<size_t>(c)), w(static_cast<size_t>(c)), m(mean, mean + c);
    for (int64_t j = 0; j < c; ++j) {
      const double invstd = 1.0 / std::sqrt(static_cast<double>(var[j]) + eps);
      const double sum_dy = sums[j], dgamma = sums[c + j] * invstd;
      doffset[j] = static_cast<float>(sum_dy);
      dscale[j] = static_cast<float>(dgamma);
      // dx = k * dy - u - w * (x - mean)
      const double kj = scale[j] * invstd;
      k[j] = static_cast<float>(kj);
      u[j] = static_cast<float>(kj * sum_dy / static_cast<double>(rows));
      w[j] = static_cast<float>(kj * dgamma * invstd / static_cast<double>(rows));
    }
    ParallelRanges(rows, 65536 / c, [&](int64_t r0, int64_t r1) { loops::BatchNormGradRows(dy, relu_y, x, k.data(), u.data(), w.data(), m.data(), c, r0, r1, dx); });
    return info.Env().Undefined();
  });
}

// sgd(param, grad, velocity, newParam, newVelocity, lr, momentum, weightDecay, nesterov, gradScale):
// d = gradScale * g + wd * p; v' = momentum * v + d; p' = p - lr * (nesterov ? d + momentum * v' : v').
// gradScale is a clipped step's factor (1: none; exact, so the bits of the unscaled update).
Napi::Value Sgd(const Napi::CallbackInfo &info) {
  return Guard(info, [&]() -> Napi::Value {
    Args a{info, info.Env()};
    const float *p = a.Floats(0, 0, "param");
    const int64_t n = static_cast<int64_t>(info[0].As<Napi::Float32Array>().ElementLength());
    const float *g = a.Floats(1, static_cast<size_t>(n), "grad");
    const float *v = a.Floats(2, static_cast<size_t>(n), "velocity");
    float *p_out = a.Floats(3, static_cast<size_t>(n), "newParam");
    float *v_out = a.Floats(4, static_cast<size_t>(n), "newVelocity");
    const float lr = a.Number(5), mom = a.Number(6), wd = a.Number(7);
    const bool nesterov = info[8].ToBoolean().Value();
    const float grad_scale = GradScale(info, 9);
    ParallelRanges(n, 65536, [&](int64_t lo, int64_t hi) { loops::Sgd(p, g, v, p_out, v_out, lo, hi, lr, mom, wd, grad_scale, nesterov); });
    return info.Env().Undefined();
  });
}

// sgdMulti(params[], grads[], velocities[], newParams[], newVelocities[], decays, lr, momentum,
// nesterov, gradScale): sgd over every parameter tensor in one call and one OpenMP region (fixed-size
// chunks across all tensors), instead of one call, one hand-off and one barrier per tensor.
// decays[t] is tensor t's weight decay. Same per-element formula as sgd, so the results are
// bit-for-bit those of the per-tensor kernel. newParams[t] may be params[t] (in place).
Napi::Value SgdMulti(const Napi::CallbackInfo &info) {
  return Guard(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    for (size_t i = 0; i < 5; ++i) {
      if (!info[i].IsArray()) throw Napi::TypeError::New(env, "sgdMulti: arguments 0..4 must be arrays of Float32Array");
    }
    const Napi::Array ps = info[0].As<Napi::Array>(), gs = info[1].As<Napi::Array>(), vs = info[2].As<Napi::Array>();
    const Napi::Array pos = info[3].As<Napi::Array>(), vos = info[4].As<Napi::Array>();
    const uint32_t t = ps.Length();
    if (gs.Length() != t || vs.Length() != t || pos.Length() != t || vos.Length() != t) throw Napi::RangeError::New(env, "sgdMulti: arrays of different lengths");
    Args a{info, env};
    const float *decays = a.Floats(5, t, "decays");
    const float lr = a.Number(6), mom = a.Number(7);
    const bool nesterov = info[8].ToBoolean().Value();
    const float grad_scale = GradScale(info, 9);
    auto view = [&](const Napi::Array &arr, uint32_t i, size_t need, const char *name) -> float * {
      Napi::Value x = arr.Get(i);
      if (!x.IsTypedArray() || x.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) throw Napi::TypeError::New(env, std::string(name) + " must be a Float32Array");
      auto f = x.As<Napi::Float32Array>();
      if (need != 0 && f.ElementLength() != need) throw Napi::RangeError::New(env, std::string(name) + " has the wrong length");
      return f.Data();
    };
    struct Tensor { const float *p, *g, *v; float *po, *vo; int64_t n; float wd; };
    struct Chunk { uint32_t t; int64_t begin, end; };
    std::vector<Tensor> ts(t);
    std::vector<Chunk> chunks;
    constexpr int64_t kChunk = 32768;
    for (uint32_t i = 0; i < t; ++i) {
      const size_t n = ps.Get(i).As<Napi::Float32Array>().ElementLength();
      ts[i] = Tensor{view(ps, i, 0, "param"), view(gs, i, n, "grad"), view(vs, i, n, "velocity"), view(pos, i, n, "newParam"), view(vos, i, n, "newVelocity"), static_cast<int64_t>(n), decays[i]};
      for (int64_t b = 0; b < static_cast<int64_t>(n); b += kChunk) chunks.push_back(Chunk{i, b, std::min<int64_t>(b + kChunk, static_cast<int64_t>(n))});
    }
    const int64_t nc = static_cast<int64_t>(chunks.size());
#pragma omp parallel for schedule(static) if (nc > 1)
    for (int64_t c = 0; c < nc; ++c) {
      const Chunk ch = chunks[static_cast<size_t>(c)];
      const Tensor &x = ts[ch.t];
      loops::Sgd(x.p, x.g, x.v, x.po, x.vo, ch.begin, ch.end, lr, mom, x.wd, grad_scale, nesterov);
    }
    return env.Undefined();
  });
}

// sumSquaresMulti(arrays[]): the sum of the squares of every element of every Float32Array, as
// a double (a step's squared gradient norm, for clipping). Each array is cut into blocks of
// kBlock elements; each block's sum is one loops::SumSquares (in double), and the blocks' sums
// are added in order (array by array), so the result does not depend on the thread count or
// the ISA, and src/_fused.ts's JS version gives the same bits.
Napi::Value SumSquaresMulti(const Napi::CallbackInfo &info) {
  return Guard(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[0].IsArray()) throw Napi::TypeError::New(env, "sumSquaresMulti: argument 0 must be an array of Float32Array");
    const Napi::Array xs = info[0].As<Napi::Array>();
    struct Block { const float *x; int64_t begin, end; };
    std::vector<Block> blocks;
    constexpr int64_t kBlock = 32768;
    for (uint32_t i = 0; i < xs.Length(); ++i) {
      Napi::Value x = xs.Get(i);
      if (!x.IsTypedArray() || x.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) throw Napi::TypeError::New(env, "sumSquaresMulti: every array must be a Float32Array");
      auto f = x.As<Napi::Float32Array>();
      const int64_t n = static_cast<int64_t>(f.ElementLength());
      for (int64_t b = 0; b < n; b += kBlock) blocks.push_back(Block{f.Data(), b, std::min(b + kBlock, n)});
    }
    const int64_t nb = static_cast<int64_t>(blocks.size());
    std::vector<double> sums(static_cast<size_t>(nb));
#pragma omp parallel for schedule(static) if (nb > 1)
    for (int64_t b = 0; b < nb; ++b) {
      const Block &k = blocks[static_cast<size_t>(b)];
      sums[static_cast<size_t>(b)] = loops::SumSquares(k.x, k.begin, k.end);
    }
    double total = 0.0;
    for (const double s : sums) total += s;
    return Napi::Number::New(env, total);
  });
}

// reluGrad(dy, y, dx): dx = y > 0 ? dy : 0, ReLU's gradient from its saved output in one pass
// (tfjs composes it as dy * step(x): two passes and a temporary).
Napi::Value ReluGrad(const Napi::CallbackInfo &info) {
  return Guard(info, [&]() -> Napi::Value {
    Args a{info, info.Env()};
    const float *dy = a.Floats(0, 0, "dy");
    const int64_t n = static_cast<int64_t>(info[0].As<Napi::Float32Array>().ElementLength());
    const float *y = a.Floats(1, static_cast<size_t>(n), "y");
    float *dx = a.Floats(2, static_cast<size_t>(n), "dx");
    ParallelRanges(n, 65536, [&](int64_t lo, int64_t hi) { loops::ReluGrad(dy, y, dx, lo, hi); });
    return info.Env().Undefined();
  });
}

// addRelu(a, b, y): y = max(a + b, 0) (NaN passes through, as tfjs's relu), the residual
// join of a basic/bottleneck block in one pass instead of Add then Relu.
Napi::Value AddRelu(const Napi::CallbackInfo &info) {
  return Guard(info, [&]() -> Napi::Value {
    Args a{info, info.Env()};
    const float *x = a.Floats(0, 0, "a");
    const int64_t n = static_cast<int64_t>(info[0].As<Napi::Float32Array>().ElementLength());
    const float *z = a.Floats(1, static_cast<size_t>(n), "b");
    float *y = a.Floats(2, static_cast<size_t>(n), "y");
    ParallelRanges(n, 65536, [&](int64_t lo, int64_t hi) { loops::AddRelu(x, z, y, lo, hi); });
    return info.Env().Undefined();
  });
}

}  // namespace onednn
