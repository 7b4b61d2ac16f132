#pragma once
// The whole core in one include: tensors, ops, autograd, random numbers.
#include "core/autocast.h"
#include "core/autograd/engine.h"
#include "core/autograd/grad_mode.h"
#include "core/autograd/gradcheck.h"
#include "core/autograd/node.h"
#include "core/generator.h"
#include "core/ops.h"
#include "core/tensor.h"
#include "core/threading.h"
