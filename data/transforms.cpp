#include "data/transforms.h"

#include <cmath>

#include "core/autograd/grad_mode.h"
#include "core/ops.h"

namespace ember::data {

namespace {

void check_image(const char* transform, const Tensor& image) {
  EMBER_CHECK(image.defined() && image.dim() == 3, transform, ": expected a [C, H, W] image, got ", describe(image));
}

// A whole number in [0, count), uniformly, from the example's generator.
std::int64_t draw_below(Generator& generator, std::int64_t count) {
  const auto value = static_cast<std::int64_t>(generator.next_uniform() * static_cast<float>(count));
  return std::min(value, count - 1);
}

}  // namespace

Transform normalize(std::vector<double> mean, std::vector<double> std) {
  EMBER_CHECK(mean.size() == std.size() && !mean.empty(), "normalize: need one mean and one std per channel, got ",
              mean.size(), " and ", std.size());
  for (double s : std) EMBER_CHECK(s > 0, "normalize: std must be positive, got ", s);
  const auto channels = static_cast<std::int64_t>(mean.size());
  const Tensor mean_t = from_vector(mean).reshape({channels, 1, 1});
  const Tensor std_t = from_vector(std).reshape({channels, 1, 1});
  return [mean_t, std_t, channels](const Tensor& image, Generator&) {
    check_image("normalize", image);
    EMBER_CHECK(image.size(0) == channels, "normalize: image has ", image.size(0), " channels, the transform ",
                channels);
    NoGradGuard no_grad;
    return (image - mean_t.to(image.dtype())) / std_t.to(image.dtype());
  };
}

Transform random_crop(std::int64_t height, std::int64_t width, std::int64_t padding) {
  EMBER_CHECK(height > 0 && width > 0 && padding >= 0, "random_crop: invalid size ", height, "x", width,
              " or padding ", padding);
  return [=](const Tensor& image, Generator& generator) {
    check_image("random_crop", image);
    const std::int64_t padded_h = image.size(1) + 2 * padding, padded_w = image.size(2) + 2 * padding;
    EMBER_CHECK(padded_h >= height && padded_w >= width, "random_crop: a ", height, "x", width,
                " crop does not fit image ", describe(image), " padded by ", padding);
    NoGradGuard no_grad;
    Tensor padded = zeros({image.size(0), padded_h, padded_w}, {.dtype = image.dtype()});
    padded.slice(1, padding, padding + image.size(1)).slice(2, padding, padding + image.size(2)).copy_(image);
    const std::int64_t top = draw_below(generator, padded_h - height + 1);
    const std::int64_t left = draw_below(generator, padded_w - width + 1);
    return padded.slice(1, top, top + height).slice(2, left, left + width).contiguous();
  };
}

Transform random_horizontal_flip(double p) {
  EMBER_CHECK(p >= 0 && p <= 1, "random_horizontal_flip: p must be in [0, 1], got ", p);
  return [p](const Tensor& image, Generator& generator) {
    check_image("random_horizontal_flip", image);
    if (generator.next_uniform() >= p) return image;
    NoGradGuard no_grad;
    return index_select(image, 2, arange(static_cast<double>(image.size(2) - 1), -1, -1));
  };
}

Transform compose(std::vector<Transform> transforms) {
  return [transforms = std::move(transforms)](const Tensor& image, Generator& generator) {
    Tensor result = image;
    for (const Transform& transform : transforms) result = transform(result, generator);
    return result;
  };
}

TransformDataset::TransformDataset(std::shared_ptr<const Dataset> base, Transform transform)
    : base_(std::move(base)), transform_(std::move(transform)) {
  EMBER_CHECK(base_ != nullptr && transform_ != nullptr, "TransformDataset: got no dataset or no transform");
}

Example TransformDataset::get(std::int64_t index, Generator& generator) const {
  Example example = base_->get(index, generator);
  EMBER_CHECK(!example.empty(), "TransformDataset: example ", index, " is empty");
  example[0] = transform_(example[0], generator);
  return example;
}

}  // namespace ember::data
