// The per-element kernels of a ResNet step that tfjs-backend-cpu runs in single-threaded JS:
// broadcasting binary ops, reductions, Tile, unary maps and batch-norm inference.
#include "kernels.h"
#include "runtime.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

namespace onednn {

// ---------------------------------------------------------------------------
// Elementwise binary ops with broadcasting, and reductions. Both take plain row-major
// tensors of any rank up to 8; params: [RANK, dims of the first operand/output..., dims
// of the second (binary) or of the reduced output (reduction)...].
namespace {

constexpr int kMaxRank = 8;

memory::desc RowMajor(const memory::dims &dims) {
  memory::dims strides(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * dims[i + 1];
  return memory::desc(dims, dt::f32, strides);
}

size_t Volume(const memory::dims &dims) {
  size_t v = 1;
  for (auto d : dims) v *= static_cast<size_t>(d);
  return v;
}

// Reads [RANK, first dims..., second dims...] after checking its length.
std::pair<memory::dims, memory::dims> TwoShapes(const Napi::CallbackInfo &info, size_t index) {
  if (!info[index].IsTypedArray() || info[index].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(info.Env(), "shapes must be an Int32Array");
  }
  auto p = info[index].As<Napi::Int32Array>();
  const int rank = p.ElementLength() > 0 ? p[0] : -1;
  if (rank < 1 || rank > kMaxRank || p.ElementLength() != static_cast<size_t>(1 + 2 * rank)) {
    throw Napi::RangeError::New(info.Env(), "shapes must be [rank (1..8), first dims, second dims]");
  }
  memory::dims first(rank), second(rank);
  for (int i = 0; i < rank; ++i) {
    first[i] = p[1 + i];
    second[i] = p[1 + rank + i];
    if (first[i] < 1 || second[i] < 1) throw Napi::RangeError::New(info.Env(), "dims must be >= 1");
  }
  return {first, second};
}

Key ShapesKey(KeyOp op, int alg, const memory::dims &a, const memory::dims &b) {
  std::vector<int32_t> flat;
  for (auto d : a) flat.push_back(static_cast<int32_t>(d));
  for (auto d : b) flat.push_back(static_cast<int32_t>(d));
  return MakeKey(op, flat.data(), flat.size(), alg);
}

dnnl::algorithm BinaryAlgorithm(BinaryAlg alg) {
  using dnnl::algorithm;
  switch (alg) {
    case kBinaryAdd: return algorithm::binary_add;
    case kBinarySub: return algorithm::binary_sub;
    case kBinaryMul: return algorithm::binary_mul;
    case kBinaryDiv: return algorithm::binary_div;
    case kBinaryMax: return algorithm::binary_max;
    case kBinaryMin: return algorithm::binary_min;
  }
  throw std::invalid_argument(NotACode<BinaryAlg>("binary algorithm", alg));
}

}  // namespace

// binary(alg, a, b, out, shapes): out = a ∘ b; b broadcasts (dims of 1) against a = out.
// alg: a BinaryAlg (add, sub, mul, div, max, min).
Napi::Value Binary(const Napi::CallbackInfo &info) {
  return Guard(info, [&]() -> Napi::Value {
    Args a{info, info.Env()};
    const BinaryAlg alg = a.Code<BinaryAlg>(0, "binary algorithm");
    auto [dims, bdims] = TwoShapes(info, 4);
    for (size_t i = 0; i < dims.size(); ++i) {
      if (bdims[i] != dims[i] && bdims[i] != 1) throw Napi::RangeError::New(info.Env(), "b must broadcast to a");
    }
    float *x = a.Floats(1, Volume(dims), "a");
    float *y = a.Floats(2, Volume(bdims), "b");
    float *out = a.Floats(3, Volume(dims), "out");
    Entry &e = Lookup(ShapesKey(kKeyBinary, alg, dims, bdims), [&] {
      const memory::desc a_md = RowMajor(dims), b_md = RowMajor(bdims);
      dnnl::binary::desc d(BinaryAlgorithm(alg), a_md, b_md, a_md);
      dnnl::binary::primitive_desc pd(d, UserScratchpad(), Engine());
      auto entry = std::make_unique<Entry>();
      entry->prim = dnnl::binary(pd);
      entry->inputs.resize(2);
      entry->inputs[0].Init(DNNL_ARG_SRC_0, a_md, pd.src_desc(0), false);
      entry->inputs[1].Init(DNNL_ARG_SRC_1, b_md, pd.src_desc(1), false);
      entry->output.Init(DNNL_ARG_DST, a_md, pd.dst_desc(), true);
      entry->scratchpad = pd.scratchpad_desc();
      entry->impl = pd.impl_info_str();
      return entry;
    });
    Run(e, {x, y}, nullptr, out);
    return info.Env().Undefined();
  });
}

namespace {

// Reduction over one contiguous group of axes, viewed as x[A][R][B] -> out[A][B], with
// double accumulators like tfjs-backend-cpu's JS numbers. oneDNN 2.6 only has a reference
// kernel for reducing leading axes (batch-norm statistics), which is slower than this loop.
template <ReductionAlg Alg>
void ReduceLoop(const float *x, float *out, int64_t A, int64_t R, int64_t B) {
  const double init = Alg == kReduceMax ? -INFINITY : Alg == kReduceMin ? INFINITY : 0.0;
  auto combine = [](double acc, double v) {
    if constexpr (Alg == kReduceMax) return (v > acc || std::isnan(v)) && !std::isnan(acc) ? v : acc;
    else if constexpr (Alg == kReduceMin) return (v < acc || std::isnan(v)) && !std::isnan(acc) ? v : acc;
    else return acc + v;
  };
  const int threads = omp_get_max_threads();
  if (A >= threads || R * B < 4096) {
#pragma omp parallel for schedule(static) if (A * R * B >= 32768)
    for (int64_t a = 0; a < A; ++a) {
      std::vector<double> acc(static_cast<size_t>(B), init);
      for (int64_t r = 0; r < R; ++r) {
        const float *row = x + (a * R + r) * B;
        for (int64_t b = 0; b < B; ++b) acc[b] = combine(acc[b], row[b]);
      }
      for (int64_t b = 0; b < B; ++b) out[a * B + b] = static_cast<float>(Alg == kReduceMean ? acc[b] / static_cast<double>(R) : acc[b]);
    }
    return;
  }
  // Few outer rows: split R across threads, then combine the partial results.
  std::vector<double> partial(static_cast<size_t>(threads * A * B), init);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int64_t lo = R * t / threads, hi = R * (t + 1) / threads;
    double *acc = partial.data() + static_cast<int64_t>(t) * A * B;
    for (int64_t a = 0; a < A; ++a) {
      for (int64_t r = lo; r < hi; ++r) {
        const float *row = x + (a * R + r) * B;
        double *dst = acc + a * B;
        for (int64_t b = 0; b < B; ++b) dst[b] = combine(dst[b], row[b]);
      }
    }
  }
  for (int64_t i = 0; i < A * B; ++i) {
    double acc = init;
    for (int t = 0; t < threads; ++t) acc = combine(acc, partial[static_cast<size_t>(t * A * B + i)]);
    out[i] = static_cast<float>(Alg == kReduceMean ? acc / static_cast<double>(R) : acc);
  }
}

dnnl::algorithm ReductionAlgorithm(ReductionAlg alg) {
  using dnnl::algorithm;
  switch (alg) {
    case kReduceSum: return algorithm::reduction_sum;
    case kReduceMean: return algorithm::reduction_mean;
    case kReduceMax: return algorithm::reduction_max;
    case kReduceMin: return algorithm::reduction_min;
  }
  throw std::invalid_argument(NotACode<ReductionAlg>("reduction algorithm", alg));
}

}  // namespace

// reduce(alg, x, out, shapes): out has x's dims with reduced axes set to 1.
// alg: a ReductionAlg (sum, mean, max, min).
Napi::Value Reduce(const Napi::CallbackInfo &info) {
  return Guard(info, [&]() -> Napi::Value {
    Args a{info, info.Env()};
    const ReductionAlg alg = a.Code<ReductionAlg>(0, "reduction algorithm");
    auto [dims, odims] = TwoShapes(info, 3);
    for (size_t i = 0; i < dims.size(); ++i) {
      if (odims[i] != dims[i] && odims[i] != 1) throw Napi::RangeError::New(info.Env(), "output dims must be input dims or 1");
    }
    float *x = a.Floats(1, Volume(dims), "x");
    float *out = a.Floats(2, Volume(odims), "out");
    // View as [A][R][B] when the reduced axes (ignoring size-1 ones) are contiguous.
    int first = -1, last = -1;
    bool contiguous = true;
    for (int i = 0; i < static_cast<int>(dims.size()); ++i) {
      if (dims[i] == 1 || odims[i] != 1) continue;
      if (first < 0) first = i;
      else if (last != i - 1) {
        for (int j = last + 1; j < i; ++j) contiguous = contiguous && dims[j] == 1;
      }
      last = i;
    }
    if (first < 0) {
      // Every reduced axis has size 1 (a global average pool over a 1x1 map): out is x. Without
      // this, oneDNN's reference reduction took ~20 ms for ResNet-18's [128, 1, 1, 512].
      std::memcpy(out, x, Volume(dims) * sizeof(float));
      return info.Env().Undefined();
    }
    if (contiguous) {
      int64_t A = 1, R = 1, B = 1;
      for (int i = 0; i < static_cast<int>(dims.size()); ++i) (i < first ? A : i <= last ? R : B) *= dims[i];
      switch (alg) {
        case kReduceSum: ReduceLoop<kReduceSum>(x, out, A, R, B); break;
        case kReduceMean: ReduceLoop<kReduceMean>(x, out, A, R, B); break;
        case kReduceMax: ReduceLoop<kReduceMax>(x, out, A, R, B); break;
        case kReduceMin: ReduceLoop<kReduceMin>(x, out, A, R, B); break;
      }
      return info.Env().Undefined();
    }
    Entry &e = Lookup(ShapesKey(kKeyReduce, alg, dims, odims), [&] {
      const memory::desc x_md = RowMajor(dims), o_md = RowMajor(odims);
      dnnl::reduction::desc d(ReductionAlgorithm(alg), x_md, o_md, 0.0F, 0.0F);
      dnnl::reduction::primitive_desc pd(d, UserScratchpad(), Engine());
      auto entry = std::make_unique<Entry>();
      entry->prim = dnnl::reduction(pd);
      entry->inputs.resize(1);
      entry->inputs[0].Init(DNNL_ARG_SRC, x_md, pd.src_desc(), false);
      entry->output.Init(DNNL_ARG_DST, o_md, pd.dst_desc(), true);
      entry->scratchpad = pd.scratchpad_desc();
      entry->impl = pd.impl_info_str();
      return entry;
    });
    Run(e, {x}, nullptr, out);
    return info.Env().Undefined();
  });
}

namespace {

void TileRec(const float *x, float *out, const memory::dims &in, const memory::dims &reps, size_t d, const std::vector<size_t> &in_stride,
             const std::vector<size_t> &out_stride) {
  const size_t n = static_cast<size_t>(in[d]);
  if (d + 1 == in.size()) {
    for (int64_t r = 0; r < reps[d]; ++r) std::memcpy(out + r * n, x, n * sizeof(float));
    return;
  }
  for (size_t i = 0; i < n; ++i) TileRec(x + i * in_stride[d], out + i * out_stride[d], in, reps, d + 1, in_stride, out_stride);
  // Later repetitions of this axis copy the block just written.
  const size_t block = n * out_stride[d];
  for (int64_t r = 1; r < reps[d]; ++r) std::memcpy(out + r * block, out, block * sizeof(float));
}

}  // namespace

// tile(x, out, shapes): out dims are x dims times integer repetitions; copies whole rows.
Napi::Value Tile(const Napi::CallbackInfo &info) {
  return Guard(info, [&]() -> Napi::Value {
    Args a{info, info.Env()};
    auto [in, reps] = TwoShapes(info, 2);
    memory::dims outd(in.size());
    for (size_t i = 0; i < in.size(); ++i) outd[i] = in[i] * reps[i];
    const float *x = a.Floats(0, Volume(in), "x");
    float *out = a.Floats(1, Volume(outd), "out");
    std::vector<size_t> in_stride(in.size(), 1), out_stride(in.size(), 1);
    for (int i = static_cast<int>(in.size()) - 2; i >= 0; --i) {
      in_stride[i] = in_stride[i + 1] * static_cast<size_t>(in[i + 1]);
      out_stride[i] = out_stride[i + 1] * static_cast<size_t>(outd[i + 1]);
    }
    TileRec(x, out, in, reps, 0, in_stride, out_stride);
    return info.Env().Undefined();
  });
}

// ---------------------------------------------------------------------------
// Unary maps and batch-norm inference, the remaining per-element JS loops of a ResNet step.
// Same formulas as tfjs-backend-cpu (NaN passes through relu; step keeps NaN).

namespace {

template <UnaryOp Op>
void UnaryLoop(const float *__restrict x, float *__restrict out, int64_t n, float alpha) {
#pragma omp parallel for schedule(static) if (n >= 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    // Branch-free forms (max, blends): activations have random signs, and a branch per
    // element mispredicts half the time (measured 6 ns/element vs < 1).
    if constexpr (Op == kUnaryRelu) out[i] = v != v ? v : std::max(v, 0.0F);
    else if constexpr (Op == kUnaryStep) out[i] = v != v ? v : v > 0.0F ? 1.0F : alpha;
    else out[i] = v * v;
  }
}

}  // namespace

// unary(op, x, out, alpha): op a UnaryOp: relu, step (x > 0 ? 1 : alpha), square.
Napi::Value Unary(const Napi::CallbackInfo &info) {
  return Guard(info, [&]() -> Napi::Value {
    Args a{info, info.Env()};
    const UnaryOp op = a.Code<UnaryOp>(0, "unary op");
    const float *x = a.Floats(1, 0, "x");
    const int64_t n = static_cast<int64_t>(info[1].As<Napi::Float32Array>().ElementLength());
    float *out = a.Floats(2, static_cast<size_t>(n), "out");
    const float alpha = a.Number(3);
    switch (op) {
      case kUnaryRelu: UnaryLoop<kUnaryRelu>(x, out, n, alpha); break;
      case kUnaryStep: UnaryLoop<kUnaryStep>(x, out, n, alpha); break;
      case kUnarySquare: UnaryLoop<kUnarySquare>(x, out, n, alpha); break;
    }
    return info.Env().Undefined();
  });
}

// batchNorm(x, mean, variance, offset|null, scale|null, out, epsilon): parameters repeat
// every `length` elements, as in tfjs-backend-cpu (per channel for NHWC).
Napi::Value BatchNorm(const Napi::CallbackInfo &info) {
  return Guard(info, [&]() -> Napi::Value {
    Args a{info, info.Env()};
    auto view = [&](size_t i, const char *name) -> std::pair<const float *, int64_t> {
      if (info[i].IsNull() || info[i].IsUndefined()) return {nullptr, 0};
      float *p = a.Floats(i, 1, name);
      return {p, static_cast<int64_t>(info[i].As<Napi::Float32Array>().ElementLength())};
    };
    auto [x, n] = view(0, "x");
    auto [mean, nm] = view(1, "mean");
    auto [var, nv] = view(2, "variance");
    auto [offset, no] = view(3, "offset");
    auto [scale, ns] = view(4, "scale");
    if (x == nullptr || mean == nullptr || var == nullptr) throw Napi::TypeError::New(info.Env(), "x, mean and variance are required");
    float *out = a.Floats(5, static_cast<size_t>(n), "out");
    const double eps = info[6].As<Napi::Number>().DoubleValue();
    const int64_t c = nm;
    const bool per_channel = nv == c && (offset == nullptr || no == c) && (scale == nullptr || ns == c) && n % c == 0;
    if (per_channel) {
      // y = (x - mean) * k + offset with k = scale / sqrt(variance + eps), once per channel.
      std::vector<double> k(static_cast<size_t>(c)), m(static_cast<size_t>(c)), o(static_cast<size_t>(c));
      for (int64_t j = 0; j < c; ++j) {
        k[j] = (scale ? scale[j] : 1.0) / std::sqrt(static_cast<double>(var[j]) + eps);
        m[j] = mean[j];
        o[j] = offset ? offset[j] : 0.0;
      }
      const int64_t rows = n / c;
#pragma omp parallel for schedule(static) if (n >= 65536)
      for (int64_t r = 0; r < rows; ++r) {
        const float *xr = x + r * c;
        float *yr = out + r * c;
        for (int64_t j = 0; j < c; ++j) yr[j] = static_cast<float>((xr[j] - m[j]) * k[j] + o[j]);
      }
      return info.Env().Undefined();
    }
#pragma omp parallel for schedule(static) if (n >= 65536)
    for (int64_t i = 0; i < n; ++i) {
      const double s = scale ? scale[i % ns] : 1.0, off = offset ? offset[i % no] : 0.0;
      out[i] = static_cast<float>(off + (x[i] - mean[i % nm]) * s / std::sqrt(static_cast<double>(var[i % nv]) + eps));
    }
    return info.Env().Undefined();
  });
}

}  // namespace onednn
