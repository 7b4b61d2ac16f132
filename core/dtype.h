#pragma once
// DType, the C++ element types and the dtype dispatch. Defined in the bottom layer
// (kernels/dtype.h), which kernels share with core; core re-exports it, so code above core
// includes this header.
#include "kernels/dtype.h"
