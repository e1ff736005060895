// The op codes that cross the N-API boundary, one table for both sides: the enums below are
// what the native code switches on, and addon.cc exports the same lists by name as
// `addon.ops` ({ conv: { forward: 0, ... }, binary: { add: 0, ... }, ... }), which
// src/_addon.ts types (OP_NAMES) and the TypeScript kernels use by name. A name added on one
// side only fails src/_addon_test.ts, and an addon built from another table fails to load.
//
// Each list is X(enumerator, exported name, value); the value is the integer passed.
#pragma once

#include <string>

// conv(kind, ...): which primitive of a convolution (also setConvLayout's kind).
#define ONEDNN_CONV_KINDS(X)            \
  X(kConvFwd, forward, 0)               \
  X(kConvBwdData, backwardData, 1)      \
  X(kConvBwdWeights, backwardFilter, 2)

// binary(alg, ...): out = a op b.
#define ONEDNN_BINARY_ALGS(X) \
  X(kBinaryAdd, add, 0)       \
  X(kBinarySub, sub, 1)       \
  X(kBinaryMul, mul, 2)       \
  X(kBinaryDiv, div, 3)       \
  X(kBinaryMax, max, 4)       \
  X(kBinaryMin, min, 5)

// reduce(alg, ...).
#define ONEDNN_REDUCTION_ALGS(X) \
  X(kReduceSum, sum, 0)          \
  X(kReduceMean, mean, 1)        \
  X(kReduceMax, max, 2)          \
  X(kReduceMin, min, 3)

// unary(op, ...): relu, step (x > 0 ? 1 : alpha), square.
#define ONEDNN_UNARY_OPS(X)  \
  X(kUnaryRelu, relu, 0)     \
  X(kUnaryStep, step, 1)     \
  X(kUnarySquare, square, 2)

// Pooling ALG (last of pool's params). tfjs-backend-cpu's AvgPoolGrad divides by the full
// window even where its forward excluded the padding, hence both averages.
#define ONEDNN_POOL_ALGS(X)                       \
  X(kPoolMax, max, 0)                             \
  X(kPoolAvgExcludePadding, avgExcludePadding, 1) \
  X(kPoolAvgIncludePadding, avgIncludePadding, 2)

// ACT (last of conv's and matmul's params): the activation fused as a oneDNN post-op,
// named as tfjs names it.
#define ONEDNN_ACTIVATIONS(X)    \
  X(kActLinear, linear, 0)       \
  X(kActRelu, relu, 1)           \
  X(kActRelu6, relu6, 2)         \
  X(kActLeakyRelu, leakyrelu, 3) \
  X(kActElu, elu, 4)             \
  X(kActSigmoid, sigmoid, 5)

// setConvLayout(kind, bits): which conv operands may use a (blocked) layout of oneDNN's
// choosing, paid for with a reorder from/to tfjs's NHWC / HWIO on every call. Bits OR
// together; kAuto picks per shape (AutoLayout in conv.cc).
#define ONEDNN_CONV_LAYOUTS(X)  \
  X(kAuto, auto, -1)            \
  X(kPlain, plain, 0)           \
  X(kSrcAny, srcAny, 1)         \
  X(kWeightsAny, weightsAny, 2) \
  X(kDstAny, dstAny, 4)

// setPrecision(code): what convolutions and matmuls compute in. bf16 is mixed precision:
// inputs rounded to bf16, fp32 accumulation and fp32 outputs, per primitive where measured
// faster (Bf16Pays in conv.cc); everything else stays fp32.
// bf16Everywhere ignores the rule (every conv and matmul in bf16), for measuring it.
#define ONEDNN_PRECISIONS(X) \
  X(kFp32, fp32, 0)          \
  X(kBf16, bf16, 1)          \
  X(kBf16Everywhere, bf16Everywhere, 2)

// G(exported group name, enum type, list): every group of `addon.ops`.
#define ONEDNN_OP_GROUPS(G)                         \
  G(conv, ConvKind, ONEDNN_CONV_KINDS)              \
  G(binary, BinaryAlg, ONEDNN_BINARY_ALGS)          \
  G(reduce, ReductionAlg, ONEDNN_REDUCTION_ALGS)    \
  G(unary, UnaryOp, ONEDNN_UNARY_OPS)               \
  G(pool, PoolAlg, ONEDNN_POOL_ALGS)                \
  G(activation, Activation, ONEDNN_ACTIVATIONS)     \
  G(layout, ConvLayout, ONEDNN_CONV_LAYOUTS)       \
  G(precision, Precision, ONEDNN_PRECISIONS)

namespace onednn {

#define ONEDNN_ENUMERATOR(id, name, value) id = value,
#define ONEDNN_ENUM(group, type, LIST) enum type : int { LIST(ONEDNN_ENUMERATOR) };
ONEDNN_OP_GROUPS(ONEDNN_ENUM)
#undef ONEDNN_ENUM
#undef ONEDNN_ENUMERATOR

// IsCode<E>(v): whether v is one of E's codes. A duplicate value in a list fails to compile.
template <typename E>
bool IsCode(int v);
// CodeNames<E>(): "add 0, sub 1, ...", for error messages.
template <typename E>
std::string CodeNames();

#define ONEDNN_CASE(id, name, value) case value:
#define ONEDNN_NAME_VALUE(id, name, value) #name " " #value ", "
#define ONEDNN_HELPERS(group, type, LIST)                  \
  template <>                                              \
  inline bool IsCode<type>(int v) {                        \
    switch (v) {                                           \
      LIST(ONEDNN_CASE) return true;                       \
      default: return false;                               \
    }                                                      \
  }                                                        \
  template <>                                              \
  inline std::string CodeNames<type>() {                   \
    const std::string s = LIST(ONEDNN_NAME_VALUE);         \
    return s.substr(0, s.size() - 2);                      \
  }
ONEDNN_OP_GROUPS(ONEDNN_HELPERS)
#undef ONEDNN_HELPERS
#undef ONEDNN_NAME_VALUE
#undef ONEDNN_CASE

// "binary algorithm 6 is not one of add 0, sub 1, ...": the error for a v that is not a code of E.
template <typename E>
std::string NotACode(const char *what, int v) {
  return std::string(what) + " " + std::to_string(v) + " is not one of " + CodeNames<E>();
}

}  // namespace onednn
