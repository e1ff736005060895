// Pooling (MaxPool, AvgPool and their gradients) on oneDNN's pooling primitives, NHWC.
#include "kernels.h"
#include "runtime.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace onednn {

namespace {

// Pooling. params: N IH IW C OH OW KH KW SH SW PT PL PB PR ALG
// ALG (a PoolAlg of ops.h): max, average excluding padding, average including padding
// (tfjs-backend-cpu's AvgPoolGrad divides by the full window even where its forward excluded
// the padding).
constexpr size_t kPoolParams = 15;

dnnl::algorithm PoolingAlgorithm(PoolAlg alg) {
  using dnnl::algorithm;
  switch (alg) {
    case kPoolMax: return algorithm::pooling_max;
    case kPoolAvgExcludePadding: return algorithm::pooling_avg_exclude_padding;
    case kPoolAvgIncludePadding: return algorithm::pooling_avg_include_padding;
  }
  throw std::invalid_argument(NotACode<PoolAlg>("pool algorithm", alg));
}

std::unique_ptr<Entry> MakePool(bool backward, const int32_t *p) {
  using dnnl::algorithm;
  using dnnl::prop_kind;
  const memory::dim n = p[0], ih = p[1], iw = p[2], c = p[3], oh = p[4], ow = p[5];
  const memory::dims kernel{p[6], p[7]}, strides{p[8], p[9]}, pad_l{p[10], p[11]}, pad_r{p[12], p[13]};
  const bool is_max = p[14] == kPoolMax;
  const algorithm alg = PoolingAlgorithm(static_cast<PoolAlg>(p[14]));
  const memory::desc src({n, c, ih, iw}, dt::f32, tag::nhwc), dst({n, c, oh, ow}, dt::f32, tag::nhwc);
  auto e = std::make_unique<Entry>();
  dnnl::primitive_attr attr = UserScratchpad();
  if (!backward) {
    dnnl::pooling_forward::desc d(prop_kind::forward_inference, alg, src, dst, strides, kernel, pad_l, pad_r);
    dnnl::pooling_forward::primitive_desc pd(d, attr, Engine());
    e->prim = dnnl::pooling_forward(pd);
    e->inputs.resize(1);
    e->inputs[0].Init(DNNL_ARG_SRC, src, pd.src_desc(), false);
    e->output.Init(DNNL_ARG_DST, dst, pd.dst_desc(), true);
    e->scratchpad = pd.scratchpad_desc();
    e->impl = pd.impl_info_str();
    return e;
  }
  dnnl::pooling_forward::desc fd(prop_kind::forward_training, alg, src, dst, strides, kernel, pad_l, pad_r);
  dnnl::pooling_forward::primitive_desc fpd(fd, Engine());
  dnnl::pooling_backward::desc bd(alg, src, dst, strides, kernel, pad_l, pad_r);
  dnnl::pooling_backward::primitive_desc pd(bd, attr, Engine(), fpd);
  e->prim = dnnl::pooling_backward(pd);
  e->inputs.resize(is_max ? 2 : 1);
  e->inputs[0].Init(DNNL_ARG_DIFF_DST, dst, pd.diff_dst_desc(), false);
  if (is_max) e->inputs[1].Init(DNNL_ARG_SRC, src, src, false);  // only feeds the forward recompute
  e->output.Init(DNNL_ARG_DIFF_SRC, src, pd.diff_src_desc(), true);
  e->scratchpad = pd.scratchpad_desc();
  if (is_max) {
    e->forward = dnnl::pooling_forward(fpd);
    e->workspace = fpd.workspace_desc();
    e->forward_dst = fpd.dst_desc();
  }
  e->impl = pd.impl_info_str();
  return e;
}

}  // namespace

// pool(backward, x, dy|null, out, params): forward writes y; backward writes dx.
Napi::Value Pool(const Napi::CallbackInfo &info) {
  return Guard(info, [&]() -> Napi::Value {
    Args a{info, info.Env()};
    const bool backward = info[0].ToBoolean().Value();
    const int32_t *p = a.Ints(4, kPoolParams);
    if (!IsCode<PoolAlg>(p[14])) throw Napi::RangeError::New(info.Env(), NotACode<PoolAlg>("pool algorithm", p[14]));
    if (p[8] < 1 || p[9] < 1 || p[6] < 1 || p[7] < 1) throw Napi::RangeError::New(info.Env(), "kernel and strides must be >= 1");
    const size_t src = static_cast<size_t>(p[0]) * p[1] * p[2] * p[3];
    const size_t dst = static_cast<size_t>(p[0]) * p[4] * p[5] * p[3];
    Entry &e = Lookup(MakeKey(kKeyPool, p, kPoolParams, backward ? 1 : 0), [&] { return MakePool(backward, p); });
    if (!backward) {
      Run(e, {a.Floats(1, src, "x")}, nullptr, a.Floats(3, dst, "y"));
    } else {
      // Max pooling also needs x to recompute the forward workspace; average pooling does not.
      std::vector<float *> in{a.Floats(2, dst, "dy")};
      if (p[14] == kPoolMax) in.push_back(a.Floats(1, src, "x"));
      Run(e, in, nullptr, a.Floats(3, src, "dx"));
    }
    return info.Env().Undefined();
  });
}

}  // namespace onednn
