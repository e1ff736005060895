// The addon's kernel entry points, exported by addon.cc under the names in comments; each
// file's header comment on the function gives its arguments.
#pragma once

#include <napi.h>

namespace onednn {

Napi::Value Conv(const Napi::CallbackInfo &info);    // conv.cc: conv
Napi::Value MatMul(const Napi::CallbackInfo &info);  // matmul.cc: matmul
Napi::Value Pool(const Napi::CallbackInfo &info);    // pool.cc: pool

// elementwise.cc
Napi::Value Binary(const Napi::CallbackInfo &info);     // binary
Napi::Value Reduce(const Napi::CallbackInfo &info);     // reduce
Napi::Value Tile(const Napi::CallbackInfo &info);       // tile
Napi::Value Unary(const Napi::CallbackInfo &info);      // unary
Napi::Value BatchNorm(const Napi::CallbackInfo &info);  // batchNorm

// fused.cc
Napi::Value BatchNormTrain(const Napi::CallbackInfo &info);  // batchNormTrain
Napi::Value BatchNormGrad(const Napi::CallbackInfo &info);   // batchNormGrad
Napi::Value Sgd(const Napi::CallbackInfo &info);             // sgd
Napi::Value SgdMulti(const Napi::CallbackInfo &info);        // sgdMulti
Napi::Value SumSquaresMulti(const Napi::CallbackInfo &info); // sumSquaresMulti
Napi::Value ReluGrad(const Napi::CallbackInfo &info);        // reluGrad
Napi::Value AddRelu(const Napi::CallbackInfo &info);         // addRelu

}  // namespace onednn
