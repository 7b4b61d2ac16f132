#pragma once
// Every op of the core, by family (core/ops/<family>.h).
#include "core/ops/conv.h"
#include "core/ops/copy.h"
#include "core/ops/elementwise.h"
#include "core/ops/factory.h"
#include "core/ops/indexing.h"
#include "core/ops/join.h"
#include "core/ops/linalg.h"
#include "core/ops/pool.h"
#include "core/ops/reduction.h"
#include "core/ops/resample.h"
#include "core/ops/softmax.h"
#include "core/ops/view.h"
