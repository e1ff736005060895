// What every entry point shares: oneDNN's engine and stream, the scratch arena, the
// primitive cache and the runner of a cached primitive, argument checking, and the lock.
//
// Every entry point is synchronous and writes into a caller-allocated Float32Array, so
// tensors stay in tfjs-backend-cpu's storage and cross the boundary without copies.
// Shapes arrive as an Int32Array of already-resolved geometry (pads, strides, output
// sizes computed by tfjs-core's conv_util), which also serves as the primitive cache key.
#pragma once

#include <napi.h>

#include "ops.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace onednn {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::engine &Engine();
dnnl::stream &Stream();

// ---------------------------------------------------------------------------
// Scratch arena: grow-only slots reused by every call (calls never overlap: tfjs
// kernels run on the JS thread), so blocked copies and scratchpads cost no malloc.
// Slots: 0-1 inputs, 2 output, 3 scratchpad, 4-5 pooling workspace, 6-7 im2col.
void *Arena(int slot, size_t bytes);
size_t ArenaBytes();
void FreeArena();

// ---------------------------------------------------------------------------
// One operand of a primitive: the layout tfjs uses and the one the primitive wants.
struct Operand {
  int arg = 0;
  memory::desc user;
  memory::desc impl;
  std::optional<dnnl::reorder> reorder;  // user→impl for inputs, impl→user for outputs

  void Init(int a, const memory::desc &u, const memory::desc &i, bool is_output);
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

// Cache keys start with the kind of primitive, so equal params of different ops never meet.
// Native only: TypeScript never sees these numbers.
enum KeyOp : int32_t { kKeyConv = 1, kKeyMatMul = 2, kKeyPool = 3, kKeyBinary = 4, kKeyReduce = 5 };

using Key = std::string;
Key MakeKey(KeyOp op, const int32_t *p, size_t n, int extra);

// The cached primitive for key, made by make() on a miss (a full cache, 4,096 entries, is
// emptied first).
Entry &Lookup(Key key, const std::function<std::unique_ptr<Entry>()> &make);
size_t CacheEntries();
void DropCache();
// Calls per implementation name ("jit:avx2", "gemm:jit", ...) over the cached primitives.
std::unordered_map<std::string, double> CallsPerImpl();

dnnl::primitive_attr UserScratchpad();

// ---------------------------------------------------------------------------
// Precision (setPrecision): kFp32, or kBf16 only where Bf16Supported(). Under kBf16 a
// primitive whose rule says bf16 pays takes bf16 inputs (reordered from the fp32 tfjs
// tensors, which Run does like any layout change) and writes fp32 outputs; its cache key
// carries the choice, so switching precision never reuses a primitive of the other.
extern Precision g_precision;
// Whether oneDNN has native bf16 instructions here (avx512_core_bf16 or AMX); it would
// otherwise emulate bf16 or refuse it, so setPrecision refuses bf16 without them.
bool Bf16Supported();
// The ISA oneDNN runs on ("avx2", "avx512_core_bf16", ...), for info() and error messages.
const char *IsaName();
// The data type of a primitive's low-precision operands: bf16 when `bf16` is set, else f32.
inline dt InputType(bool bf16) { return bf16 ? dt::bf16 : dt::f32; }

// Runs one cached primitive on caller memory; inputs/outputs are reordered through the
// arena only when the primitive chose a different layout or data type. `keys` (optional, one
// per input, 0 = none) name immutable tfjs tensor data: an input whose reorder only changes its
// data type (fp32 -> bf16 in the same memory order, as on the GEMM path) is converted once per
// key and kept (see Converted below), so a filter's bf16 copy made for the forward serves the
// backward-data GEMM too, and dy's made for one gradient serves the other.
void Run(Entry &e, const std::vector<float *> &in, float *bias, float *out, const std::vector<double> &keys = {});

// ---------------------------------------------------------------------------
// Converted inputs: bf16 copies of tfjs tensors by key (a number the TypeScript side gives
// each tensor's data once; tfjs data never changes, so a key's copy never goes stale). Freed
// by ForgetConverted when the tensor is disposed (addon.forget), or all by DropConverted.
void ForgetConverted(double key);
void DropConverted();
// A key for data derived from the tensor under `key` (e.g. a filter's unrolled matrix for one
// convolution geometry, `what`): its converted copy is forgotten with that tensor's.
double DerivedKey(double key, const std::string &what);
// Whether a converted copy of `bytes` is held under `key` (then the data it was made from
// need not be built again: Run does not read it).
bool HasConverted(double key, size_t bytes);
size_t ConvertedBytes();
size_t ConvertedEntries();

// Appends ACT (conv's and matmul's fused activation) as an eltwise post-op; alpha is
// leaky relu's slope.
void AppendActivation(dnnl::post_ops &ops, int act, float alpha);

// ---------------------------------------------------------------------------
// Argument checking: a wrong length would let native code read or write out of bounds.
struct Args {
  const Napi::CallbackInfo &info;
  Napi::Env env;

  float *Floats(size_t i, size_t need, const char *name) const;
  float *OptionalFloats(size_t i, size_t need, const char *name) const;
  const int32_t *Ints(size_t i, size_t n) const;
  float Number(size_t i) const { return info[i].IsNumber() ? info[i].As<Napi::Number>().FloatValue() : 0.0F; }

  // Argument i as one of E's codes (ops.h), else a RangeError that lists them.
  template <typename E>
  E Code(size_t i, const char *what) const {
    const int v = info[i].As<Napi::Number>().Int32Value();
    if (!IsCode<E>(v)) throw Napi::RangeError::New(env, NotACode<E>(what, v));
    return static_cast<E>(v);
  }
};

// The cache and arena are process-wide, but Node may load this addon in several worker
// threads: one call at a time (oneDNN still parallelises inside each call with OpenMP).
extern std::mutex g_mutex;

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

}  // namespace onednn
