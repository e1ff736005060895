# Builds libs/onednn/build/Release/onednn.node against Debian's libdnnl-dev (oneDNN 2.x,
# OpenMP runtime). Run through tools/build_native.cjs, which checks the headers first.
{
  "targets": [
    {
      "target_name": "onednn",
      "sources": [
        "native/addon.cc", "native/runtime.cc", "native/conv.cc", "native/gemm_conv.cc", "native/matmul.cc",
        "native/pool.cc", "native/elementwise.cc", "native/fused.cc", "native/loops.cc"
      ],
      "include_dirs": ["<!@(node -p \"require('node-addon-api').include\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-ffp-contract=off", "-fexceptions", "-fopenmp", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}
