// N-API bindings from tfjs kernels to oneDNN primitives: the module's exports. The kernels
// are in conv.cc, gemm_conv.cc, matmul.cc, pool.cc, elementwise.cc and fused.cc, on the
// shared runtime of runtime.cc; the op codes they take are the table of ops.h, exported
// here as `ops`. Below: introspection (info, primitives) and tuning (setConvLayout,
// setPrecision, setNumThreads, clearCache).
#include "conv.h"
#include "kernels.h"
#include "loops.h"
#include "ops.h"
#include "runtime.h"

#include <malloc.h>
#include <omp.h>
#include <cstdlib>

#include <mutex>
#include <sstream>
#include <string>

namespace onednn {

namespace {

// glibc serves a large allocation with mmap and returns it to the system when freed, but each such
// free raises the mmap threshold to that block's size (up to 32 MiB): from then on blocks of that size
// come from the heap, whose freed memory the process keeps. A training process's resident memory then
// climbs through its second epoch and stays there (ResNet-18, 20,000 images per epoch: +7% from
// epoch 1 to 3; with the threshold fixed: +1.7%). Fixing it turns the adjustment off. The user's own
// MALLOC_MMAP_THRESHOLD_ wins (glibc has already applied it).
constexpr int kMmapThreshold = 1 << 20;
int g_mmap_threshold = 0;  // what this addon set, 0 if nothing

void FixMmapThreshold() {
#ifdef __GLIBC__
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr && mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1) g_mmap_threshold = kMmapThreshold;
#endif
}

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
  o.Set("isa", IsaName());
  o.Set("loopsIsa", loops::Isa());
  o.Set("bf16", Bf16Supported());
  o.Set("precision", g_precision == kBf16 ? "bf16" : "fp32");
  Napi::Array layouts = Napi::Array::New(env, kConvKinds);
  for (uint32_t i = 0; i < kConvKinds; ++i) layouts.Set(i, g_conv_layout[i]);
  o.Set("convLayouts", layouts);
  o.Set("cacheEntries", static_cast<double>(CacheEntries()));
  o.Set("arenaBytes", static_cast<double>(ArenaBytes()));
  o.Set("gemmConvCalls", static_cast<double>(g_gemm_conv_calls));
  o.Set("unrolledConvCalls", static_cast<double>(g_unrolled_conv_calls));
  o.Set("convertedBytes", static_cast<double>(ConvertedBytes()));
  o.Set("convertedEntries", static_cast<double>(ConvertedEntries()));
  if (g_mmap_threshold > 0) o.Set("mmapThreshold", g_mmap_threshold);
  else o.Set("mmapThreshold", env.Null());
  return o;
}

// Implementation names of cached primitives (e.g. "jit:avx2", "gemm:jit") with call counts.
Napi::Value Primitives(const Napi::CallbackInfo &info) {
  std::lock_guard<std::mutex> lock(g_mutex);
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  for (const auto &[impl, n] : CallsPerImpl()) o.Set(impl, n);
  return o;
}

// setConvLayout(kind, bits): which conv operands may use blocked layouts (kAuto: automatic).
Napi::Value SetConvLayout(const Napi::CallbackInfo &info) {
  std::lock_guard<std::mutex> lock(g_mutex);
  const ConvKind kind = Args{info, info.Env()}.Code<ConvKind>(0, "conv kind");
  const int bits = info[1].As<Napi::Number>().Int32Value();
  if (bits < kAuto || bits > (kSrcAny | kWeightsAny | kDstAny)) {
    throw Napi::RangeError::New(info.Env(), NotACode<ConvLayout>("layout", bits) + ", or an OR of them");
  }
  g_conv_layout[kind] = bits;
  DropCache();
  return info.Env().Undefined();
}

// setPrecision(code): kFp32 or kBf16 (ops.h); bf16 only where Bf16Supported().
Napi::Value SetPrecision(const Napi::CallbackInfo &info) {
  std::lock_guard<std::mutex> lock(g_mutex);
  const Precision p = Args{info, info.Env()}.Code<Precision>(0, "precision");
  if (p == kBf16 && !Bf16Supported()) {
    throw Napi::Error::New(info.Env(), std::string("bf16 needs a CPU with avx512_core_bf16 or AMX; oneDNN runs on ") + IsaName() + " here");
  }
  g_precision = p;
  return info.Env().Undefined();
}

Napi::Value SetNumThreads(const Napi::CallbackInfo &info) {
  const int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) throw Napi::RangeError::New(info.Env(), "threads must be >= 1");
  std::lock_guard<std::mutex> lock(g_mutex);
  omp_set_num_threads(n);
  DropCache();  // primitives partition work for the thread count they were created with
  return info.Env().Undefined();
}

// forget(key): frees the converted copy of a disposed tensor's data (no-op without one).
Napi::Value Forget(const Napi::CallbackInfo &info) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (info[0].IsNumber()) ForgetConverted(info[0].As<Napi::Number>().DoubleValue());
  return info.Env().Undefined();
}

Napi::Value ClearCache(const Napi::CallbackInfo &info) {
  std::lock_guard<std::mutex> lock(g_mutex);
  DropConverted();
  DropCache();
  FreeArena();
  return info.Env().Undefined();
}

// `ops`: every code of ops.h by name ({ conv: { forward: 0, ... }, ... }), frozen.
Napi::Object Ops(Napi::Env env) {
  Napi::Object ops = Napi::Object::New(env);
#define ONEDNN_SET_CODE(id, name, value) group.Set(#name, static_cast<int>(id));
#define ONEDNN_SET_GROUP(key, type, LIST)        \
  {                                              \
    Napi::Object group = Napi::Object::New(env); \
    LIST(ONEDNN_SET_CODE)                        \
    group.Freeze();                              \
    ops.Set(#key, group);                        \
  }
  ONEDNN_OP_GROUPS(ONEDNN_SET_GROUP)
#undef ONEDNN_SET_GROUP
#undef ONEDNN_SET_CODE
  ops.Freeze();
  return ops;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  FixMmapThreshold();
  exports.Set("ops", Ops(env));
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
  exports.Set("sumSquaresMulti", Napi::Function::New(env, SumSquaresMulti, "sumSquaresMulti"));
  exports.Set("reluGrad", Napi::Function::New(env, ReluGrad, "reluGrad"));
  exports.Set("addRelu", Napi::Function::New(env, AddRelu, "addRelu"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("primitives", Napi::Function::New(env, Primitives, "primitives"));
  exports.Set("setConvLayout", Napi::Function::New(env, SetConvLayout, "setConvLayout"));
  exports.Set("setPrecision", Napi::Function::New(env, SetPrecision, "setPrecision"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("forget", Napi::Function::New(env, Forget, "forget"));
  exports.Set("clearCache", Napi::Function::New(env, ClearCache, "clearCache"));
  return exports;
}

}  // namespace

}  // namespace onednn

using onednn::Init;
NODE_API_MODULE(onednn, Init)
