#include "data/fashion_mnist.h"

#include "core/ops/factory.h"
#include "data/idx.h"

namespace ember::data {

FashionMnist load_fashion_mnist(const std::string& root, bool train) {
  const std::string prefix = root + (train ? "/train" : "/t10k");
  const IdxArray images = read_idx(prefix + "-images-idx3-ubyte.gz");
  const IdxArray labels = read_idx(prefix + "-labels-idx1-ubyte.gz");
  EMBER_CHECK(images.sizes.size() == 3 && images.sizes[1] == 28 && images.sizes[2] == 28, "load_fashion_mnist: ",
              prefix, "-images has shape ", to_string(images.sizes), ", expected [N, 28, 28]");
  EMBER_CHECK(labels.sizes.size() == 1 && labels.sizes[0] == images.sizes[0], "load_fashion_mnist: ", prefix,
              "-labels has shape ", to_string(labels.sizes), ", expected [", images.sizes[0], "]");
  const std::int64_t n = images.sizes[0];

  FashionMnist out{empty({n, 1, 28, 28}), empty({n}, {.dtype = DType::i64})};
  float* pixels = out.images.data<float>();
  for (std::size_t i = 0; i < images.values.size(); ++i) pixels[i] = static_cast<float>(images.values[i]) / 255.0f;
  std::int64_t* classes = out.labels.data<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i) {
    classes[i] = labels.values[static_cast<std::size_t>(i)];
    EMBER_CHECK(classes[i] < 10, "load_fashion_mnist: ", prefix, "-labels holds class ", classes[i], " at index ", i,
                " (expected 0..9)");
  }
  return out;
}

}  // namespace ember::data
