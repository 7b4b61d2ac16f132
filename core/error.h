#pragma once
// ember::Error, fail() and EMBER_CHECK. They are defined in the bottom layer (kernels/error.h)
// because kernels raise them too; core re-exports them, so code above core includes this header.
#include "kernels/error.h"
