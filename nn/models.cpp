#include "nn/models.h"

#include "nn/activation.h"
#include "nn/conv.h"
#include "nn/flatten.h"
#include "nn/linear.h"
#include "nn/pooling.h"

namespace ember::nn::models {

using std::make_shared;
using Layers = std::initializer_list<std::shared_ptr<Module>>;

std::shared_ptr<Sequential> fashion_mnist_mlp() {
  return make_shared<Sequential>(Layers{make_shared<Flatten>(), make_shared<Linear>(784, 256), make_shared<ReLU>(),
                                        make_shared<Linear>(256, 128), make_shared<ReLU>(),
                                        make_shared<Linear>(128, 10)});
}

std::shared_ptr<Sequential> fashion_mnist_cnn() {
  const std::array<std::int64_t, 2> kernel{3, 3};
  const Pool2dParams pool{.kernel = {2, 2}};
  return make_shared<Sequential>(
      Layers{make_shared<Conv2d>(1, 32, kernel), make_shared<ReLU>(), make_shared<MaxPool2d>(pool),
             make_shared<Conv2d>(32, 64, kernel), make_shared<ReLU>(), make_shared<MaxPool2d>(pool),
             make_shared<Flatten>(), make_shared<Linear>(1600, 128), make_shared<ReLU>(), make_shared<Linear>(128, 10)});
}

}  // namespace ember::nn::models
