// Batched matmul (BatchMatMul, _FusedMatMul) on oneDNN's matmul primitive; transposes are
// strides. Params as in matmul.h.
#include "kernels.h"
#include "matmul.h"

#include <algorithm>
#include <utility>

namespace onednn {

std::unique_ptr<Entry> MakeMatMul(const int32_t *p, bool has_bias, float alpha, bool bf16) {
  const memory::dim ba = p[0], bb = p[1], m = p[2], k = p[3], n = p[4], ta = p[5], tb = p[6];
  const memory::dim bo = std::max(ba, bb);
  const memory::dims a_strides = ta ? memory::dims{m * k, 1, m} : memory::dims{m * k, k, 1};
  const memory::dims b_strides = tb ? memory::dims{k * n, 1, k} : memory::dims{k * n, n, 1};
  const memory::desc a_md({ba, m, k}, dt::f32, a_strides), a_q({ba, m, k}, InputType(bf16), a_strides);
  const memory::desc b_md({bb, k, n}, dt::f32, b_strides), b_q({bb, k, n}, InputType(bf16), b_strides);
  const memory::desc c_md({bo, m, n}, dt::f32, memory::dims{m * n, n, 1});
  const memory::desc bias_md({1, 1, n}, dt::f32, memory::dims{n, n, 1});
  dnnl::primitive_attr attr = UserScratchpad();
  dnnl::post_ops ops;
  AppendActivation(ops, p[7], alpha);
  attr.set_post_ops(ops);
  auto d = has_bias ? dnnl::matmul::desc(a_q, b_q, bias_md, c_md) : dnnl::matmul::desc(a_q, b_q, c_md);
  dnnl::matmul::primitive_desc pd(d, attr, Engine());
  auto e = std::make_unique<Entry>();
  e->prim = dnnl::matmul(pd);
  e->inputs.resize(2);
  e->inputs[0].Init(DNNL_ARG_SRC, a_md, pd.src_desc(), false);
  e->inputs[1].Init(DNNL_ARG_WEIGHTS, b_md, pd.weights_desc(), false);
  e->output.Init(DNNL_ARG_DST, c_md, pd.dst_desc(), true);
  e->bias = bias_md;
  e->scratchpad = pd.scratchpad_desc();
  e->impl = pd.impl_info_str();
  return e;
}

// matmul(a, b, bias|null, out, params, alpha)
Napi::Value MatMul(const Napi::CallbackInfo &info) {
  return Guard(info, [&]() -> Napi::Value {
    Args a{info, info.Env()};
    const int32_t *p = a.Ints(4, kMatMulParams);
    const size_t ba = p[0], bb = p[1], m = p[2], k = p[3], n = p[4];
    if (!(ba == bb || ba == 1 || bb == 1)) throw Napi::RangeError::New(info.Env(), "batch sizes must match or be 1");
    float *x = a.Floats(0, ba * m * k, "a");
    float *y = a.Floats(1, bb * k * n, "b");
    float *bias = a.OptionalFloats(2, n, "bias");
    float *out = a.Floats(3, std::max(ba, bb) * m * n, "out");
    const float alpha = a.Number(5);
    // The dense layer (ResNet's only matmul) stays fp32 under kBf16: 512x10 on 128 rows was
    // 0.5-0.9x in bf16 in three of four networks (README, Precision).
    const bool bf16 = g_precision == kBf16Everywhere;
    Key key = MakeKey(kKeyMatMul, p, kMatMulParams, (bf16 ? 2 : 0) | (bias != nullptr ? 1 : 0));
    if (p[7] == kActLeakyRelu) key.append(reinterpret_cast<const char *>(&alpha), sizeof(alpha));
    Entry &e = Lookup(std::move(key), [&] { return MakeMatMul(p, bias != nullptr, alpha, bf16); });
    Run(e, {x, y}, bias, out);
    return info.Env().Undefined();
  });
}

}  // namespace onednn
