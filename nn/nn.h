#pragma once
// Every nn layer, loss and initializer.
#include "nn/activation.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/loss.h"
#include "nn/module.h"
#include "nn/sequential.h"
