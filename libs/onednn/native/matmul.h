// The batched matmul primitive, shared by matmul() and the GEMM convolutions of gemm_conv.cc.
#pragma once

#include "runtime.h"

#include <cstddef>
#include <cstdint>
#include <memory>

namespace onednn {

// params: BA BB M K N TA TB ACT; a is [BA,M,K] (or [BA,K,M] if TA), b is [BB,K,N] (or
// [BB,N,K] if TB), out is [max(BA,BB),M,N]; a batch of 1 broadcasts.
constexpr size_t kMatMulParams = 8;
// bf16: a and b are read as bf16 (reordered from fp32), out stays fp32.
std::unique_ptr<Entry> MakeMatMul(const int32_t *p, bool has_bias, float alpha, bool bf16);

}  // namespace onednn
