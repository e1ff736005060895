// See runtime.h: the process-wide state (engine, stream, arena, primitive cache, lock) is
// defined here and nowhere else.
#include "runtime.h"

#include <cstdlib>
#include <cstring>
#include <deque>
#include <iterator>
#include <map>
#include <utility>
#include <new>
#include <sstream>
#include <stdexcept>

namespace onednn {

dnnl::engine &Engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream &Stream() {
  static dnnl::stream s(Engine());
  return s;
}

// ---------------------------------------------------------------------------
// Scratch arena (slots as listed in runtime.h).
namespace {

constexpr int kSlots = 8;
struct Slot {
  void *ptr = nullptr;
  size_t bytes = 0;
};
Slot g_slots[kSlots];

}  // namespace

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
// Primitive cache.
void Operand::Init(int a, const memory::desc &u, const memory::desc &i, bool is_output) {
  arg = a;
  user = u;
  impl = i;
  if (!(u == i)) {
    reorder = is_output ? dnnl::reorder(dnnl::reorder::primitive_desc(Engine(), i, Engine(), u))
                        : dnnl::reorder(dnnl::reorder::primitive_desc(Engine(), u, Engine(), i));
  }
}

namespace {

std::unordered_map<Key, std::unique_ptr<Entry>> g_cache;
constexpr size_t kMaxEntries = 4096;

}  // namespace

Key MakeKey(KeyOp op, const int32_t *p, size_t n, int extra) {
  Key k;
  k.resize((n + 2) * sizeof(int32_t));
  int32_t head[2] = {op, extra};
  std::memcpy(k.data(), head, sizeof(head));
  std::memcpy(k.data() + sizeof(head), p, n * sizeof(int32_t));
  return k;
}

Entry &Lookup(Key key, const std::function<std::unique_ptr<Entry>()> &make) {
  auto it = g_cache.find(key);
  if (it != g_cache.end()) return *it->second;
  if (g_cache.size() >= kMaxEntries) g_cache.clear();
  auto [pos, _] = g_cache.emplace(std::move(key), make());
  return *pos->second;
}

size_t CacheEntries() { return g_cache.size(); }

void DropCache() { g_cache.clear(); }

std::unordered_map<std::string, double> CallsPerImpl() {
  std::unordered_map<std::string, double> counts;
  for (const auto &[_, e] : g_cache) counts[e->impl] += static_cast<double>(e->calls);
  return counts;
}

dnnl::primitive_attr UserScratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

namespace {

struct Converted {
  void *ptr = nullptr;
  size_t bytes = 0;
};
std::unordered_map<double, Converted> g_converted;
size_t g_converted_bytes = 0;
// Buffers of forgotten copies, oldest first, for the next copy of the same size: fresh memory
// would be faulted in page by page on every conversion (measured: the conversions then took
// longer than with no copies kept at all). Beyond kSpareBytes the oldest are freed, so the
// spares follow the sizes the current network uses.
std::deque<std::pair<size_t, void *>> g_spare;
size_t g_spare_bytes = 0;
constexpr size_t kSpareBytes = size_t{512} << 20;

void *TakeBuffer(size_t bytes) {
  for (auto it = g_spare.rbegin(); it != g_spare.rend(); ++it) {
    if (it->first != bytes) continue;
    void *ptr = it->second;
    g_spare.erase(std::next(it).base());
    g_spare_bytes -= bytes;
    return ptr;
  }
  void *ptr = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (ptr == nullptr) throw std::bad_alloc();
  return ptr;
}

void GiveBack(void *ptr, size_t bytes) {
  g_spare.emplace_back(bytes, ptr);
  g_spare_bytes += bytes;
  while (g_spare_bytes > kSpareBytes && !g_spare.empty()) {
    g_spare_bytes -= g_spare.front().first;
    std::free(g_spare.front().second);
    g_spare.pop_front();
  }
}

// Whether impl is user with only the data type changed (same dims, strides, blocking).
bool OnlyTypeDiffers(const memory::desc &user, const memory::desc &impl) {
  dnnl_memory_desc_t d = user.data;
  d.data_type = impl.data.data_type;
  return memory::desc(d) == impl;
}

// The converted copy of input `key`, made now if it is not there yet.
void *ConvertedInput(double key, Operand &op, memory &user) {
  auto it = g_converted.find(key);
  const size_t bytes = op.impl.get_size();
  if (it != g_converted.end() && it->second.bytes == bytes) return it->second.ptr;
  if (it != g_converted.end()) ForgetConverted(key);
  void *ptr = TakeBuffer(bytes);
  memory m(op.impl, Engine(), ptr);
  op.reorder->execute(Stream(), user, m);
  g_converted.emplace(key, Converted{ptr, bytes});
  g_converted_bytes += bytes;
  return ptr;
}

// Derived keys (DerivedKey): negative, so never a tensor's; by owner key and what they name
// (ordered, so an owner's keys are adjacent).
std::map<std::pair<double, std::string>, double> g_derived;
double g_next_derived = -1.0;

void Forget(double key) {
  auto it = g_converted.find(key);
  if (it == g_converted.end()) return;
  g_converted_bytes -= it->second.bytes;
  GiveBack(it->second.ptr, it->second.bytes);
  g_converted.erase(it);
}

}  // namespace

double DerivedKey(double key, const std::string &what) {
  auto [it, fresh] = g_derived.try_emplace({key, what}, g_next_derived);
  if (fresh) g_next_derived -= 1.0;
  return it->second;
}

bool HasConverted(double key, size_t bytes) {
  auto it = g_converted.find(key);
  return it != g_converted.end() && it->second.bytes == bytes;
}

void ForgetConverted(double key) {
  Forget(key);
  for (auto it = g_derived.lower_bound({key, std::string()}); it != g_derived.end() && it->first.first == key;) {
    Forget(it->second);
    it = g_derived.erase(it);
  }
}

void DropConverted() {
  for (auto &[_, c] : g_converted) std::free(c.ptr);
  g_converted.clear();
  g_converted_bytes = 0;
  g_derived.clear();
  for (auto &spare : g_spare) std::free(spare.second);
  g_spare.clear();
  g_spare_bytes = 0;
}

size_t ConvertedBytes() { return g_converted_bytes; }
size_t ConvertedEntries() { return g_converted.size(); }

void Run(Entry &e, const std::vector<float *> &in, float *bias, float *out, const std::vector<double> &keys) {
  auto &eng = Engine();
  auto &s = Stream();
  std::unordered_map<int, memory> args;
  for (size_t i = 0; i < e.inputs.size(); ++i) {
    Operand &op = e.inputs[i];
    memory user(op.user, eng, in[i]);
    const double key = i < keys.size() ? keys[i] : 0.0;
    if (op.reorder && key != 0.0 && OnlyTypeDiffers(op.user, op.impl)) {
      args.emplace(op.arg, memory(op.impl, eng, ConvertedInput(key, op, user)));
    } else if (op.reorder) {
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

void AppendActivation(dnnl::post_ops &ops, int act, float alpha) {
  using dnnl::algorithm;
  if (!IsCode<Activation>(act)) throw std::invalid_argument(NotACode<Activation>("activation", act));
  switch (static_cast<Activation>(act)) {
    case kActLinear: return;
    case kActRelu: ops.append_eltwise(1.0F, algorithm::eltwise_relu, 0.0F, 0.0F); return;
    case kActRelu6: ops.append_eltwise(1.0F, algorithm::eltwise_clip, 0.0F, 6.0F); return;
    case kActLeakyRelu: ops.append_eltwise(1.0F, algorithm::eltwise_relu, alpha, 0.0F); return;
    case kActElu: ops.append_eltwise(1.0F, algorithm::eltwise_elu, 1.0F, 0.0F); return;
    case kActSigmoid: ops.append_eltwise(1.0F, algorithm::eltwise_logistic, 0.0F, 0.0F); return;
  }
}

// ---------------------------------------------------------------------------
// Precision.
Precision g_precision = kFp32;

bool Bf16Supported() {
  const auto isa = dnnl::get_effective_cpu_isa();
  return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

const char *IsaName() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "unknown";
  }
}

// ---------------------------------------------------------------------------
// Argument checking.
float *Args::Floats(size_t i, size_t need, const char *name) const {
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

float *Args::OptionalFloats(size_t i, size_t need, const char *name) const {
  if (info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  return Floats(i, need, name);
}

const int32_t *Args::Ints(size_t i, size_t n) const {
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

std::mutex g_mutex;

}  // namespace onednn
