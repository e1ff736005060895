// N-API bindings from tfjs kernels to oneDNN primitives.
//
// Every entry point is synchronous and writes into a caller-allocated Float32Array, so
// tensors stay in tfjs-backend-cpu's storage and cross the boundary without copies.
// Shapes arrive as an Int32Array of already-resolved geometry (pads, strides, output
// sizes computed by tfjs-core's conv_util), which also serves as the primitive cache key.
#include <napi.h>

#include "loops.h"

#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::engine &Engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream &Stream() {
  static dnnl::stream s(Engine());
  return s;
}

// ---------------------------------------------------------------------------
// Scratch arena: grow-only slots reused by every call (calls never overlap: tfjs
// kernels run on the JS thread), so blocked copies and scratchpads cost no malloc.
constexpr int kSlots = 8;  // 0-1 inputs, 2 output, 3 scratchpad, 4-5 pooling workspace, 6-7 im2col
struct Slot {
  void *ptr = nullptr;
  size_t bytes = 0;
};
Slot g_slots[kSlots];

void *Arena(int slot, size_t bytes) {
  Slot &s = g_slots[slot];
  if (bytes > s.bytes) {
    std::free(s.ptr);
    const size_t rounded = (bytes + 4095) / 4096 * 4096;
    s.ptr = std::aligned_alloc(64, rounded);
    if (s.ptr == nullptr) throw std::bad_alloc();
    s.bytes = rounded;
  }
  return s.ptr;
}

size_t ArenaBytes() {
  size_t total = 0;
  for (const Slot &s : g_slots) total += s.bytes;
  return total;
}

void FreeArena() {
  for (Slot &s : g_slots) {
    std::free(s.ptr);
    s = Slot{};
  }
}

// ---------------------------------------------------------------------------
// Layout policy: which tensors of a convolution let oneDNN pick a (blocked) layout,
// paid for with a reorder from/to the plain NHWC / HWIO tfjs layout on every call.
enum LayoutBits : int { kSrcAny = 1, kWeightsAny = 2, kDstAny = 4 };
enum ConvKind : int { kConvFwd = 0, kConvBwdData = 1, kConvBwdWeights = 2 };
// -1 is "auto" (AutoLayout below); 0..7 force LayoutBits, for measuring alternatives.
constexpr int kAuto = -1;
int g_conv_layout[3] = {kAuto, kAuto, kAuto};

// One operand of a primitive: the layout tfjs uses and the one the primitive wants.
struct Operand {
  int arg = 0;
  memory::desc user;
  memory::desc impl;
  std::optional<dnnl::reorder> reorder;  // user→impl for inputs, impl→user for outputs

  void Init(int a, const memory::desc &u, const memory::desc &i, bool is_output) {
    arg = a;
    user = u;
    impl = i;
    if (!(u == i)) {
      reorder = is_output ? dnnl::reorder(dnnl::reorder::primitive_desc(Engine(), i, Engine(), u))
                          : dnnl::reorder(dnnl::reorder::primitive_desc(Engine(), u, Engine(), i));
    }
  }
};

struct Entry {
  dnnl::primitive prim;
  std::vector<Operand> inputs;
  Operand output;
  memory::desc bias;
  memory::desc scratchpad;
  memory::desc workspace;
  // Max-pool backward needs the forward workspace: a forward_training primitive is run first.
  std::optional<dnnl::primitive> forward;
  memory::desc forward_dst;
  std::string impl;
  uint64_t calls = 0;
};

using Key = std::string;
std::unordered_map<Key, std::unique_ptr<Entry>> g_cache;
constexpr size_t kMaxEntries = 4096;

Key MakeKey(int op, const int32_t *p, size_t n, int extra) {
  Key k;
  k.resize((n + 2) * sizeof(int32_t));
  int32_t head[2] = {op, extra};
  std::memcpy(k.data(), head, sizeof(head));
  std::memcpy(k.data() + sizeof(head), p, n * sizeof(int32_t));
  return k;
}

dnnl::primitive_attr UserScratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// Runs one cached primitive on caller memory; inputs/outputs are reordered through the
// arena only when the primitive chose a different layout.
void Run(Entry &e, const std::vector<float *> &in, float *bias, float *out) {
  auto &eng = Engine();
  auto &s = Stream();
  std::unordered_map<int, memory> args;
  for (size_t i = 0; i < e.inputs.size(); ++i) {
    Operand &op = e.inputs[i];
    memory user(op.user, eng, in[i]);
    if (op.reorder) {
      memory m(op.impl, eng, Arena(static_cast<int>(i), op.impl.get_size()));
      op.reorder->execute(s, user, m);
      args.emplace(op.arg, m);
    } else {
      args.emplace(op.arg, user);
    }
  }
  if (bias != nullptr) args.emplace(DNNL_ARG_BIAS, memory(e.bias, eng, bias));
  if (e.scratchpad.get_size() > 0) {
    args.emplace(DNNL_ARG_SCRATCHPAD, memory(e.scratchpad, eng, Arena(3, e.scratchpad.get_size())));
  }
  if (e.forward) {
    // Recompute the max-pool forward into the arena to obtain its workspace.
    memory ws(e.workspace, eng, Arena(4, e.workspace.get_size()));
    memory fdst(e.forward_dst, eng, Arena(5, e.forward_dst.get_size()));
    e.forward->execute(s, {{DNNL_ARG_SRC, args.at(DNNL_ARG_SRC)}, {DNNL_ARG_DST, fdst}, {DNNL_ARG_WORKSPACE, ws}});
    args.erase(DNNL_ARG_SRC);
    args.emplace(DNNL_ARG_WORKSPACE, ws);
  }
  memory out_user(e.output.user, eng, out);
  if (e.output.reorder) {
    memory m(e.output.impl, eng, Arena(2, e.output.impl.get_size()));
    args.emplace(e.output.arg, m);
    e.prim.execute(s, args);
    e.output.reorder->execute(s, m, out_user);
  } else {
    args.emplace(e.output.arg, out_user);
    e.prim.execute(s, args);
  }
  s.wait();
  ++e.calls;
}

// ---------------------------------------------------------------------------
// Argument checking: a wrong length would let native code read or write out of bounds.
struct Args {
  const Napi::CallbackInfo &info;
  Napi::Env env;

  float *Floats(size_t i, size_t need, const char *name) const {
    if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw Napi::TypeError::New(env, std::string(name) + " must be a Float32Array");
    }
    auto a = info[i].As<Napi::Float32Array>();
    if (a.ElementLength() < need) {
      std::ostringstream msg;
      msg << name << " has " << a.ElementLength() << " elements, expected at least " << need;
      throw Napi::RangeError::New(env, msg.str());
    }
    return a.Data();
  }

  float *OptionalFloats(size_t i, size_t need, const char *name) const {
    if (info[i].IsNull() || info[i].IsUndefined()) return nullptr;
    return Floats(i, need, name);
  }

  const int32_t *Ints(size_t i, size_t n) const {
    if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      throw Napi::TypeError::New(env, "params must be an Int32Array");
    }
    auto a = info[i].As<Napi::Int32Array>();
    if (a.ElementLength() != n) {
      std::ostringstream msg;
      msg << "params has " << a.ElementLength() << " entries, expected " << n;
      throw Napi::RangeError::New(env, msg.str());
    }
    for (size_t j = 0; j < n; ++j) {
      if (a[j] < 0) throw Napi::RangeError::New(env, "params must be non-negative");
    }
    return a.Data();
  }

  float Number(size_t i) const { return info[i].IsNumber() ? info[i].As<Napi::Number>().FloatValue() : 0.0F; }
};

// The cache and arena are process-wide, but Node may load this addon in several worker
// threads: one call at a time (oneDNN still parallelises inside each call with OpenMP).
std::mutex g_mutex;

template <typename F>
Napi::Value Guard(const Napi::CallbackInfo &info, F f) {
  std::lock_guard<std::mutex> lock(g_mutex);
  try {
    return f();
  } catch (const Napi::Error &) {
    throw;
  } catch (const dnnl::error &e) {
    throw Napi::Error::New(info.Env(), std::string("oneDNN: ") + e.what() + " (status " + std::to_string(e.status) + ")");
  } catch (const std::exception &e) {
    throw Napi::Error::New(info.Env(), std::string("onednn addon: ") + e.what());
  }
}

constexpr size_t kMatMulParams = 8;
std::unique_ptr<Entry> MakeMatMul(const int32_t *p, bool has_bias, float alpha);
Entry &Lookup(Key key, const std::function<std::unique_ptr<Entry>()> &make);

// ---------------------------------------------------------------------------
// Convolution. params: N IH IW IC OH OW OC KH KW SH SW DH DW PT PL PB PR ACT
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

void AppendActivation(dnnl::post_ops &ops, int act, float alpha) {
  using dnnl::algorithm;
  switch (act) {
    case 0: return;  // linear
    case 1: ops.append_eltwise(1.0F, algorithm::eltwise_relu, 0.0F, 0.0F); return;
    case 2: ops.append_eltwise(1.0F, algorithm::eltwise_clip, 0.0F, 6.0F); return;
    case 3: ops.append_eltwise(1.0F, algorithm::eltwise_relu, alpha, 0.0F); return;  // leaky relu
    case 4: ops.append_eltwise(1.0F, algorithm::eltwise_elu, 1.0F, 0.0F); return;
    case 5: ops.append_eltwise(1.0F, algorithm::eltwise_logistic, 0.0F, 0.0F); return;
    default: throw std::invalid_argument("unknown activation code " + std::to_string(act));
  }
}

// Measured on AVX2 (tools/bench_kernels.ts --layouts, ResNet-18 shapes at batch 128): plain
// HWIO filters select gemm/reference kernels (2-10x slower); 3x3 convolutions with 16+
// channels run 10-50% faster fully blocked even after reordering the activations, except
// strided backward-data; 1x1 and shallow (stem) convolutions prefer NHWC activations.
int AutoLayout(int kind, const ConvGeom &g) {
  const bool pointwise = g.kh == 1 && g.kw == 1;
  const bool shallow = g.ic < 16 || g.oc < 16;
  const bool strided = g.sh > 1 || g.sw > 1;
  if (pointwise || shallow || (kind == kConvBwdData && strided)) return kWeightsAny;
  return kSrcAny | kWeightsAny | kDstAny;
}

std::unique_ptr<Entry> MakeConv(int kind, const ConvGeom &g, bool has_bias, float alpha) {
  using dnnl::algorithm;
  using dnnl::prop_kind;
  const memory::dims src_d{g.n, g.ic, g.ih, g.iw}, wei_d{g.oc, g.ic, g.kh, g.kw}, dst_d{g.n, g.oc, g.oh, g.ow};
  const memory::dims strides{g.sh, g.sw}, dil{g.dh - 1, g.dw - 1}, pad_l{g.pt, g.pl}, pad_r{g.pb, g.pr};
  const memory::desc src_u(src_d, dt::f32, tag::nhwc), wei_u(wei_d, dt::f32, tag::hwio), dst_u(dst_d, dt::f32, tag::nhwc);
  int policy = g_conv_layout[kind] == kAuto ? AutoLayout(kind, g) : g_conv_layout[kind];
  // oneDNN 2.6's jit_1x1:avx2 backward-weights kernel gives wrong filter gradients for
  // strided 1x1 convolutions on NHWC activations (found by _conv_test.ts); all-plain
  // layouts route it to gemm, which is correct and measured faster on this shape anyway.
  if (kind == kConvBwdWeights && g.kh == 1 && g.kw == 1 && (g.sh > 1 || g.sw > 1) && !(policy & kSrcAny)) policy = 0;
  const memory::desc src_q = (policy & kSrcAny) ? memory::desc(src_d, dt::f32, tag::any) : src_u;
  const memory::desc wei_q = (policy & kWeightsAny) ? memory::desc(wei_d, dt::f32, tag::any) : wei_u;
  const memory::desc dst_q = (policy & kDstAny) ? memory::desc(dst_d, dt::f32, tag::any) : dst_u;
  const memory::desc bias_md({g.oc}, dt::f32, tag::a);
  auto e = std::make_unique<Entry>();
  dnnl::primitive_attr attr = UserScratchpad();

  if (kind == kConvFwd) {
    dnnl::post_ops ops;
    AppendActivation(ops, g.act, alpha);
    attr.set_post_ops(ops);
    auto d = has_bias ? dnnl::convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct, src_q,
                                                        wei_q, bias_md, dst_q, strides, dil, pad_l, pad_r)
                      : dnnl::convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct, src_q,
                                                        wei_q, dst_q, strides, dil, pad_l, pad_r);
    dnnl::convolution_forward::primitive_desc pd(d, attr, Engine());
    e->prim = dnnl::convolution_forward(pd);
    e->inputs.resize(2);
    e->inputs[0].Init(DNNL_ARG_SRC, src_u, pd.src_desc(), false);
    e->inputs[1].Init(DNNL_ARG_WEIGHTS, wei_u, pd.weights_desc(), false);
    e->output.Init(DNNL_ARG_DST, dst_u, pd.dst_desc(), true);
    e->bias = bias_md;
    e->scratchpad = pd.scratchpad_desc();
    e->impl = pd.impl_info_str();
    return e;
  }
  auto hint_d = dnnl::convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, src_q, wei_q,
                                                dst_q, strides, dil, pad_l, pad_r);
  dnnl::convolution_forward::primitive_desc hint(hint_d, Engine());
  if (kind == kConvBwdData) {
    auto d = dnnl::convolution_backward_data::desc(algorithm::convolution_direct, src_q, wei_q, dst_q, strides, dil, pad_l,
                                                   pad_r);
    dnnl::convolution_backward_data::primitive_desc pd(d, attr, Engine(), hint);
    e->prim = dnnl::convolution_backward_data(pd);
    e->inputs.resize(2);
    e->inputs[0].Init(DNNL_ARG_DIFF_DST, dst_u, pd.diff_dst_desc(), false);
    e->inputs[1].Init(DNNL_ARG_WEIGHTS, wei_u, pd.weights_desc(), false);
    e->output.Init(DNNL_ARG_DIFF_SRC, src_u, pd.diff_src_desc(), true);
    e->scratchpad = pd.scratchpad_desc();
    e->impl = pd.impl_info_str();
    return e;
  }
  auto d = dnnl::convolution_backward_weights::desc(algorithm::convolution_direct, src_q, wei_q, dst_q, strides, dil,
                                                    pad_l, pad_r);
  dnnl::convolution_backward_weights::primitive_desc pd(d, attr, Engine(), hint);
  e->prim = dnnl::convolution_backward_weights(pd);
  e->inputs.resize(2);
  e->inputs[0].Init(DNNL_ARG_SRC, src_u, pd.src_desc(), false);
  e->inputs[1].Init(DNNL_ARG_DIFF_DST, dst_u, pd.diff_dst_desc(), false);
  e->output.Init(DNNL_ARG_DIFF_WEIGHTS, wei_u, pd.diff_weights_desc(), true);
  e->scratchpad = pd.scratchpad_desc();
  e->impl = pd.impl_info_str();
  return e;
}

Entry &Lookup(Key key, const std::function<std::unique_ptr<Entry>()> &make) {
  auto it = g_cache.find(key);
  if (it != g_cache.end()) return *it->second;
  if (g_cache.size() >= kMaxEntries) g_cache.clear();
  auto [pos, _] = g_cache.emplace(std::move(key), make());
  return *pos->second;
}

// Convolutions whose output is tiny (ResNet's last stages: 1x1, 2x2, 3x3 maps under a 3x3
// kernel, where many taps read padding) and pointwise (1x1, unpadded, any stride)
// convolutions run as one GEMM over a patch matrix col[N*OH*OW, T*IC], where T are the
// kernel taps that read the input for some output position (1 of 9 on a 1x1 map). oneDNN
// 2.6's direct kernels were 1.5-10x slower there (a 3x3 512->512 filter gradient on 1x1 maps:
// 93 ms; a strided 1x1 1024->2048 one: 181 ms on its gemm convolution). At 4x4 and 6x6 maps
// both were within noise, so larger outputs keep the direct kernels. Measured with per-kernel
// profiles of ResNet-18/50 training steps (bench:serve --profile --profile-shapes; a forced
// layout from configureOnednn bypasses this path for comparison); correctness: _conv_test.ts.
constexpr int kIm2ColMaxOutput = 9;  // OH*OW up to 3x3

bool Pointwise(const ConvGeom &g) { return g.kh == 1 && g.kw == 1 && g.pt == 0 && g.pl == 0 && g.pb == 0 && g.pr == 0; }

bool UseIm2Col(const ConvGeom &g) { return (g.oh * g.ow <= kIm2ColMaxOutput && g.kh * g.kw > 1) || Pointwise(g); }

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

Entry &GemmEntry(memory::dim m, memory::dim k, memory::dim n, bool ta, bool tb) {
  // matmul params: BA BB M K N TA TB ACT
  const int32_t p[kMatMulParams] = {1, 1, static_cast<int32_t>(m), static_cast<int32_t>(k), static_cast<int32_t>(n), ta ? 1 : 0, tb ? 1 : 0, 0};
  return Lookup(MakeKey(2, p, kMatMulParams, 0), [&] { return MakeMatMul(p, false, 0.0F); });
}

uint64_t g_gemm_conv_calls = 0;  // reported by info() as gemmConvCalls, so tests see this path ran

// kind as in Conv; a, b, out as documented there.
void ConvIm2Col(int kind, const ConvGeom &g, const float *a, const float *b, float *out) {
  ++g_gemm_conv_calls;
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
  auto gather = [&](const float *w) -> float * {
    if (all_taps) return const_cast<float *>(w);
    for (size_t t = 0; t < taps.size(); ++t) std::memcpy(wt + t * ocic, tap_weights(w, t), ocic * sizeof(float));
    return wt;
  };
  if (kind == kConvBwdData) {
    if (direct) {
      Run(GemmEntry(rows, g.oc, tic, false, true), {const_cast<float *>(a), const_cast<float *>(b)}, nullptr, out);  // dx = dy * W^T
      return;
    }
    std::memset(out, 0, g.Src() * sizeof(float));
    if (taps.empty()) return;
    Run(GemmEntry(rows, g.oc, tic, false, true), {const_cast<float *>(a), gather(b)}, nullptr, col);  // dcol = dy * Wt^T
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
    Run(GemmEntry(rows, tic, g.oc, false, false), {col, gather(b)}, nullptr, out);  // y = col * Wt
    return;
  }
  if (all_taps) {
    Run(GemmEntry(tic, rows, g.oc, true, false), {col, const_cast<float *>(b)}, nullptr, out);  // dW = col^T * dy
    return;
  }
  std::memset(out, 0, g.Weights() * sizeof(float));
  if (taps.empty()) return;
  Run(GemmEntry(tic, rows, g.oc, true, false), {col, const_cast<float *>(b)}, nullptr, wt);  // dWt = col^T * dy
  for (size_t t = 0; t < taps.size(); ++t) std::memcpy(const_cast<float *>(tap_weights(out, t)), wt + t * ocic, ocic * sizeof(float));
}

// conv(kind, a, b, bias|null, out, params, alpha)
//   fwd:         a = x  [N,IH,IW,IC], b = filter [KH,KW,IC,OC], out = y  [N,OH,OW,OC]
//   bwd data:    a = dy [N,OH,OW,OC], b = filter,               out = dx [N,IH,IW,IC]
//   bwd weights: a = x,               b = dy,                   out = dw [KH,KW,IC,OC]
Napi::Value Conv(const Napi::CallbackInfo &info) {
  return Guard(info, [&]() -> Napi::Value {
    Args a{info, info.Env()};
    const int kind = info[0].As<Napi::Number>().Int32Value();
    if (kind < 0 || kind > 2) throw Napi::RangeError::New(info.Env(), "conv kind must be 0, 1 or 2");
    const int32_t *p = a.Ints(5, kConvParams);
    const ConvGeom g(p);
    if (g.dh < 1 || g.dw < 1 || g.sh < 1 || g.sw < 1) throw Napi::RangeError::New(info.Env(), "strides and dilations must be >= 1");
    if (g.act != 0 && kind != kConvFwd) throw Napi::RangeError::New(info.Env(), "activations are forward-only");
    float *in0 = nullptr, *in1 = nullptr, *bias = nullptr, *out = nullptr;
    if (kind == kConvFwd) {
      in0 = a.Floats(1, g.Src(), "x");
      in1 = a.Floats(2, g.Weights(), "filter");
      bias = a.OptionalFloats(3, static_cast<size_t>(g.oc), "bias");
      out = a.Floats(4, g.Dst(), "y");
    } else if (kind == kConvBwdData) {
      in0 = a.Floats(1, g.Dst(), "dy");
      in1 = a.Floats(2, g.Weights(), "filter");
      out = a.Floats(4, g.Src(), "dx");
    } else {
      in0 = a.Floats(1, g.Src(), "x");
      in1 = a.Floats(2, g.Dst(), "dy");
      out = a.Floats(4, g.Weights(), "dw");
    }
    const float alpha = a.Number(6);
    if (UseIm2Col(g) && bias == nullptr && g.act == 0 && g_conv_layout[kind] == kAuto) {
      ConvIm2Col(kind, g, in0, in1, out);
      return info.Env().Undefined();
    }
    const int extra = (kind << 1) | (bias != nullptr ? 1 : 0);
    Key key = MakeKey(1, p, kConvParams, extra);
    if (g.act == 3) key.append(reinterpret_cast<const char *>(&alpha), sizeof(alpha));
    Entry &e = Lookup(std::move(key), [&] { return MakeConv(kind, g, bias != nullptr, alpha); });
    Run(e, {in0, in1}, bias, out);
    return info.Env().Undefined();
  });
}

// ---------------------------------------------------------------------------
// Batched matmul. params: BA BB M K N TA TB ACT; a is [BA,M,K] (or [BA,K,M] if TA),
// b is [BB,K,N] (or [BB,N,K] if TB), out is [max(BA,BB),M,N]; a batch of 1 broadcasts.

std::unique_ptr<Entry> MakeMatMul(const int32_t *p, bool has_bias, float alpha) {
  const memory::dim ba = p[0], bb = p[1], m = p[2], k = p[3], n = p[4], ta = p[5], tb = p[6];
  const memory::dim bo = std::max(ba, bb);
  const memory::desc a_md({ba, m, k}, dt::f32, ta ? memory::dims{m * k, 1, m} : memory::dims{m * k, k, 1});
  const memory::desc b_md({bb, k, n}, dt::f32, tb ? memory::dims{k * n, 1, k} : memory::dims{k * n, n, 1});
  const memory::desc c_md({bo, m, n}, dt::f32, memory::dims{m * n, n, 1});
  const memory::desc bias_md({1, 1, n}, dt::f32, memory::dims{n, n, 1});
  dnnl::primitive_attr attr = UserScratchpad();
  dnnl::post_ops ops;
  AppendActivation(ops, p[7], alpha);
  attr.set_post_ops(ops);
  auto d = has_bias ? dnnl::matmul::desc(a_md, b_md, bias_md, c_md) : dnnl::matmul::desc(a_md, b_md, c_md);
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
    Key key = MakeKey(2, p, kMatMulParams, bias != nullptr ? 1 : 0);
    if (p[7] == 3) key.append(reinterpret_cast<const char *>(&alpha), sizeof(alpha));
    Entry &e = Lookup(std::move(key), [&] { return MakeMatMul(p, bias != nullptr, alpha); });
    Run(e, {x, y}, bias, out);
    return info.Env().Undefined();
  });
}

// ---------------------------------------------------------------------------
// Pooling. params: N IH IW C OH OW KH KW SH SW PT PL PB PR ALG
// ALG: 0 max, 1 average excluding padding, 2 average including padding (tfjs-backend-cpu's
// AvgPoolGrad divides by the full window even where its forward excluded the padding).
constexpr size_t kPoolParams = 15;

std::unique_ptr<Entry> MakePool(bool backward, const int32_t *p) {
  using dnnl::algorithm;
  using dnnl::prop_kind;
  const memory::dim n = p[0], ih = p[1], iw = p[2], c = p[3], oh = p[4], ow = p[5];
  const memory::dims kernel{p[6], p[7]}, strides{p[8], p[9]}, pad_l{p[10], p[11]}, pad_r{p[12], p[13]};
  const algorithm alg = p[14] == 0   ? algorithm::pooling_max
                        : p[14] == 1 ? algorithm::pooling_avg_exclude_padding
                                     : algorithm::pooling_avg_include_padding;
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
  e->inputs.resize(p[14] == 0 ? 2 : 1);
  e->inputs[0].Init(DNNL_ARG_DIFF_DST, dst, pd.diff_dst_desc(), false);
  if (p[14] == 0) e->inputs[1].Init(DNNL_ARG_SRC, src, src, false);  // only feeds the forward recompute
  e->output.Init(DNNL_ARG_DIFF_SRC, src, pd.diff_src_desc(), true);
  e->scratchpad = pd.scratchpad_desc();
  if (p[14] == 0) {
    e->forward = dnnl::pooling_forward(fpd);
    e->workspace = fpd.workspace_desc();
    e->forward_dst = fpd.dst_desc();
  }
  e->impl = pd.impl_info_str();
  return e;
}

// pool(backward, x, dy|null, out, params): forward writes y; backward writes dx.
Napi::Value Pool(const Napi::CallbackInfo &info) {
  return Guard(info, [&]() -> Napi::Value {
    Args a{info, info.Env()};
    const bool backward = info[0].ToBoolean().Value();
    const int32_t *p = a.Ints(4, kPoolParams);
    if (p[14] > 2) throw Napi::RangeError::New(info.Env(), "pool algorithm must be 0 (max), 1 or 2 (avg)");
    if (p[8] < 1 || p[9] < 1 || p[6] < 1 || p[7] < 1) throw Napi::RangeError::New(info.Env(), "kernel and strides must be >= 1");
    const size_t src = static_cast<size_t>(p[0]) * p[1] * p[2] * p[3];
    const size_t dst = static_cast<size_t>(p[0]) * p[4] * p[5] * p[3];
    Entry &e = Lookup(MakeKey(3, p, kPoolParams, backward ? 1 : 0), [&] { return MakePool(backward, p); });
    if (!backward) {
      Run(e, {a.Floats(1, src, "x")}, nullptr, a.Floats(3, dst, "y"));
    } else {
      // Max pooling also needs x to recompute the forward workspace; average pooling does not.
      std::vector<float *> in{a.Floats(2, dst, "dy")};
      if (p[14] == 0) in.push_back(a.Floats(1, src, "x"));
      Run(e, in, nullptr, a.Floats(3, src, "dx"));
    }
    return info.Env().Undefined();
  });
}

// ---------------------------------------------------------------------------
// Elementwise binary ops with broadcasting, and reductions. Both take plain row-major
// tensors of any rank up to 8; params: [RANK, dims of the first operand/output..., dims
// of the second (binary) or of the reduced output (reduction)...].
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

Key ShapesKey(int op, int alg, const memory::dims &a, const memory::dims &b) {
  std::vector<int32_t> flat;
  for (auto d : a) flat.push_back(static_cast<int32_t>(d));
  for (auto d : b) flat.push_back(static_cast<int32_t>(d));
  return MakeKey(op, flat.data(), flat.size(), alg);
}

// binary(alg, a, b, out, shapes): out = a ∘ b; b broadcasts (dims of 1) against a = out.
// alg: 0 add, 1 sub, 2 mul, 3 div, 4 max, 5 min.
Napi::Value Binary(const Napi::CallbackInfo &info) {
  return Guard(info, [&]() -> Napi::Value {
    using dnnl::algorithm;
    Args a{info, info.Env()};
    const int alg = info[0].As<Napi::Number>().Int32Value();
    static const algorithm kAlgs[] = {algorithm::binary_add, algorithm::binary_sub, algorithm::binary_mul,
                                      algorithm::binary_div, algorithm::binary_max, algorithm::binary_min};
    if (alg < 0 || alg > 5) throw Napi::RangeError::New(info.Env(), "binary algorithm must be 0..5");
    auto [dims, bdims] = TwoShapes(info, 4);
    for (size_t i = 0; i < dims.size(); ++i) {
      if (bdims[i] != dims[i] && bdims[i] != 1) throw Napi::RangeError::New(info.Env(), "b must broadcast to a");
    }
    float *x = a.Floats(1, Volume(dims), "a");
    float *y = a.Floats(2, Volume(bdims), "b");
    float *out = a.Floats(3, Volume(dims), "out");
    Entry &e = Lookup(ShapesKey(4, alg, dims, bdims), [&] {
      const memory::desc a_md = RowMajor(dims), b_md = RowMajor(bdims);
      dnnl::binary::desc d(kAlgs[alg], a_md, b_md, a_md);
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

// Reduction over one contiguous group of axes, viewed as x[A][R][B] -> out[A][B], with
// double accumulators like tfjs-backend-cpu's JS numbers. oneDNN 2.6 only has a reference
// kernel for reducing leading axes (batch-norm statistics), which is slower than this loop.
template <int Alg>
void ReduceLoop(const float *x, float *out, int64_t A, int64_t R, int64_t B) {
  const double init = Alg == 2 ? -INFINITY : Alg == 3 ? INFINITY : 0.0;
  auto combine = [](double acc, double v) {
    if constexpr (Alg == 2) return (v > acc || std::isnan(v)) && !std::isnan(acc) ? v : acc;
    else if constexpr (Alg == 3) return (v < acc || std::isnan(v)) && !std::isnan(acc) ? v : acc;
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
      for (int64_t b = 0; b < B; ++b) out[a * B + b] = static_cast<float>(Alg == 1 ? acc[b] / static_cast<double>(R) : acc[b]);
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
    out[i] = static_cast<float>(Alg == 1 ? acc / static_cast<double>(R) : acc);
  }
}

// reduce(alg, x, out, shapes): out has x's dims with reduced axes set to 1.
// alg: 0 sum, 1 mean, 2 max, 3 min.
Napi::Value Reduce(const Napi::CallbackInfo &info) {
  return Guard(info, [&]() -> Napi::Value {
    using dnnl::algorithm;
    Args a{info, info.Env()};
    const int alg = info[0].As<Napi::Number>().Int32Value();
    static const algorithm kAlgs[] = {algorithm::reduction_sum, algorithm::reduction_mean, algorithm::reduction_max,
                                      algorithm::reduction_min};
    if (alg < 0 || alg > 3) throw Napi::RangeError::New(info.Env(), "reduction algorithm must be 0..3");
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
        case 0: ReduceLoop<0>(x, out, A, R, B); break;
        case 1: ReduceLoop<1>(x, out, A, R, B); break;
        case 2: ReduceLoop<2>(x, out, A, R, B); break;
        default: ReduceLoop<3>(x, out, A, R, B); break;
      }
      return info.Env().Undefined();
    }
    Entry &e = Lookup(ShapesKey(5, alg, dims, odims), [&] {
      const memory::desc x_md = RowMajor(dims), o_md = RowMajor(odims);
      dnnl::reduction::desc d(kAlgs[alg], x_md, o_md, 0.0F, 0.0F);
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

// tile(x, out, shapes): out dims are x dims times integer repetitions; copies whole rows.
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

template <int Op>
void UnaryLoop(const float *__restrict x, float *__restrict out, int64_t n, float alpha) {
#pragma omp parallel for schedule(static) if (n >= 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    // Branch-free forms (max, blends): activations have random signs, and a branch per
    // element mispredicts half the time (measured 6 ns/element vs < 1).
    if constexpr (Op == 0) out[i] = v != v ? v : std::max(v, 0.0F);
    else if constexpr (Op == 1) out[i] = v != v ? v : v > 0.0F ? 1.0F : alpha;
    else out[i] = v * v;
  }
}

// unary(op, x, out, alpha): op 0 relu, 1 step (x > 0 ? 1 : alpha), 2 square.
Napi::Value Unary(const Napi::CallbackInfo &info) {
  return Guard(info, [&]() -> Napi::Value {
    Args a{info, info.Env()};
    const int op = info[0].As<Napi::Number>().Int32Value();
    if (op < 0 || op > 2) throw Napi::RangeError::New(info.Env(), "unary op must be 0..2");
    const float *x = a.Floats(1, 0, "x");
    const int64_t n = static_cast<int64_t>(info[1].As<Napi::Float32Array>().ElementLength());
    float *out = a.Floats(2, static_cast<size_t>(n), "out");
    const float alpha = a.Number(3);
    if (op == 0) UnaryLoop<0>(x, out, n, alpha);
    else if (op == 1) UnaryLoop<1>(x, out, n, alpha);
    else UnaryLoop<2>(x, out, n, alpha);
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

// ---------------------------------------------------------------------------
// Training-mode batch norm over channels-last data x[R][C] (R = N*H*W rows), forward and
// backward in two passes each, and the SGD update: what tfjs otherwise composes from ~15
// broadcasting kernels per batch-norm layer and ~7 per parameter. Per-thread partial sums
// in double, combined in thread order, so results do not depend on scheduling.

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

// batchNormTrain(x, scale, offset, y, mean, variance, epsilon): mean and biased variance of
// each channel (last axis) over the batch, y = (x - mean) / sqrt(variance + eps) * scale + offset.
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
    const int64_t rows = n / c;
    std::vector<double> mean(static_cast<size_t>(c)), var(static_cast<size_t>(c));
    ChannelSums(rows, c, mean.data(), 1, [&](int64_t r0, int64_t r1, double *acc) { loops::SumRows(x, c, r0, r1, acc); });
    for (auto &m : mean) m /= static_cast<double>(rows);
    ChannelSums(rows, c, var.data(), 1, [&](int64_t r0, int64_t r1, double *acc) { loops::SquaredDeviationRows(x, mean.data(), c, r0, r1, acc); });
    std::vector<float> k(static_cast<size_t>(c)), b(static_cast<size_t>(c));
    for (int64_t j = 0; j < c; ++j) {
      var[j] /= static_cast<double>(rows);
      mean_out[j] = static_cast<float>(mean[j]);
      var_out[j] = static_cast<float>(var[j]);
      const double kj = scale[j] / std::sqrt(var[j] + eps);
      k[j] = static_cast<float>(kj);
      b[j] = static_cast<float>(offset[j] - mean[j] * kj);
    }
    ParallelRanges(rows, 65536 / c, [&](int64_t r0, int64_t r1) { loops::ScaleShiftRows(x, k.data(), b.data(), c, r0, r1, y); });
    return info.Env().Undefined();
  });
}

// batchNormGrad(dy, x, scale, mean, variance, dx, dScale, dOffset, epsilon): the gradient of
// batchNormTrain through the batch statistics: with xhat = (x - mean) * invstd,
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
    const int64_t rows = n / c;
    std::vector<double> sums(static_cast<size_t>(2 * c));  // [sum dy | sum dy * (x - mean)]
    ChannelSums(rows, c, sums.data(), 2, [&](int64_t r0, int64_t r1, double *acc) { loops::GradSumRows(dy, x, mean, c, r0, r1, acc); });
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
    ParallelRanges(rows, 65536 / c, [&](int64_t r0, int64_t r1) { loops::BatchNormGradRows(dy, x, k.data(), u.data(), w.data(), m.data(), c, r0, r1, dx); });
    return info.Env().Undefined();
  });
}

// sgd(param, grad, velocity, newParam, newVelocity, lr, momentum, weightDecay, nesterov):
// d = g + wd * p; v' = momentum * v + d; p' = p - lr * (nesterov ? d + momentum * v' : v').
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
    ParallelRanges(n, 65536, [&](int64_t lo, int64_t hi) { loops::Sgd(p, g, v, p_out, v_out, lo, hi, lr, mom, wd, nesterov); });
    return info.Env().Undefined();
  });
}

// sgdMulti(params[], grads[], velocities[], newParams[], newVelocities[], decays, lr, momentum,
// nesterov): sgd over every parameter tensor in one call and one OpenMP region (fixed-size
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
      loops::Sgd(x.p, x.g, x.v, x.po, x.vo, ch.begin, ch.end, lr, mom, x.wd, nesterov);
    }
    return env.Undefined();
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

// ---------------------------------------------------------------------------
Napi::Value Info(const Napi::CallbackInfo &info) {
  std::lock_guard<std::mutex> lock(g_mutex);
  Napi::Env env = info.Env();
  const dnnl_version_t *v = dnnl_version();
  Napi::Object o = Napi::Object::New(env);
  std::ostringstream version;
  version << v->major << "." << v->minor << "." << v->patch;
  o.Set("version", version.str());
  o.Set("cpuRuntime", v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : v->cpu_runtime == DNNL_RUNTIME_TBB ? "TBB" : v->cpu_runtime == DNNL_RUNTIME_SEQ ? "sequential" : "other");
  o.Set("threads", omp_get_max_threads());
  const char *isa = "unknown";
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: isa = "sse41"; break;
    case dnnl::cpu_isa::avx: isa = "avx"; break;
    case dnnl::cpu_isa::avx2: isa = "avx2"; break;
    case dnnl::cpu_isa::avx2_vnni: isa = "avx2_vnni"; break;
    case dnnl::cpu_isa::avx512_core: isa = "avx512_core"; break;
    case dnnl::cpu_isa::avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl::cpu_isa::avx512_core_bf16: isa = "avx512_core_bf16"; break;
    case dnnl::cpu_isa::avx512_core_amx: isa = "avx512_core_amx"; break;
    default: break;
  }
  o.Set("isa", isa);
  Napi::Array layouts = Napi::Array::New(env, 3);
  for (uint32_t i = 0; i < 3; ++i) layouts.Set(i, g_conv_layout[i]);
  o.Set("convLayouts", layouts);
  o.Set("cacheEntries", static_cast<double>(g_cache.size()));
  o.Set("arenaBytes", static_cast<double>(ArenaBytes()));
  o.Set("gemmConvCalls", static_cast<double>(g_gemm_conv_calls));
  return o;
}

// Implementation names of cached primitives (e.g. "jit:avx2", "gemm:jit") with call counts.
Napi::Value Primitives(const Napi::CallbackInfo &info) {
  std::lock_guard<std::mutex> lock(g_mutex);
  Napi::Env env = info.Env();
  std::unordered_map<std::string, double> counts;
  for (const auto &[_, e] : g_cache) counts[e->impl] += static_cast<double>(e->calls);
  Napi::Object o = Napi::Object::New(env);
  for (const auto &[impl, n] : counts) o.Set(impl, n);
  return o;
}

// setConvLayout(kind, bits): which conv operands may use blocked layouts (-1: automatic).
Napi::Value SetConvLayout(const Napi::CallbackInfo &info) {
  std::lock_guard<std::mutex> lock(g_mutex);
  const int kind = info[0].As<Napi::Number>().Int32Value();
  const int bits = info[1].As<Napi::Number>().Int32Value();
  if (kind < 0 || kind > 2 || bits < kAuto || bits > 7) throw Napi::RangeError::New(info.Env(), "setConvLayout(kind 0..2, bits -1..7)");
  g_conv_layout[kind] = bits;
  g_cache.clear();
  return info.Env().Undefined();
}

Napi::Value SetNumThreads(const Napi::CallbackInfo &info) {
  const int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) throw Napi::RangeError::New(info.Env(), "threads must be >= 1");
  std::lock_guard<std::mutex> lock(g_mutex);
  omp_set_num_threads(n);
  g_cache.clear();  // primitives partition work for the thread count they were created with
  return info.Env().Undefined();
}

Napi::Value ClearCache(const Napi::CallbackInfo &info) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_cache.clear();
  FreeArena();
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("conv", Napi::Function::New(env, Conv, "conv"));
  exports.Set("matmul", Napi::Function::New(env, MatMul, "matmul"));
  exports.Set("pool", Napi::Function::New(env, Pool, "pool"));
  exports.Set("binary", Napi::Function::New(env, Binary, "binary"));
  exports.Set("reduce", Napi::Function::New(env, Reduce, "reduce"));
  exports.Set("tile", Napi::Function::New(env, Tile, "tile"));
  exports.Set("unary", Napi::Function::New(env, Unary, "unary"));
  exports.Set("batchNorm", Napi::Function::New(env, BatchNorm, "batchNorm"));
  exports.Set("batchNormTrain", Napi::Function::New(env, BatchNormTrain, "batchNormTrain"));
  exports.Set("batchNormGrad", Napi::Function::New(env, BatchNormGrad, "batchNormGrad"));
  exports.Set("sgd", Napi::Function::New(env, Sgd, "sgd"));
  exports.Set("sgdMulti", Napi::Function::New(env, SgdMulti, "sgdMulti"));
  exports.Set("reluGrad", Napi::Function::New(env, ReluGrad, "reluGrad"));
  exports.Set("addRelu", Napi::Function::New(env, AddRelu, "addRelu"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("primitives", Napi::Function::New(env, Primitives, "primitives"));
  exports.Set("setConvLayout", Napi::Function::New(env, SetConvLayout, "setConvLayout"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("clearCache", Napi::Function::New(env, ClearCache, "clearCache"));
  return exports;
}

}  // namespace

NODE_API_MODULE(onednn, Init)
