#include "predict.h"

#include <algorithm>
#include <set>

#include "collate.h"
#include "core/ember.h"
#include "trainer/trainer.h"

namespace well_log {

using ember::Tensor;

std::vector<std::uint8_t> predict_classes(ember::nn::UNet& net, const Image& grey, ember::Device device) {
  ember::NoGradGuard no_grad;
  const bool was_training = net.is_training();
  net.eval();
  const Tensor image = image_tensor(grey);
  const Tensor no_labels = ember::zeros({grey.height, grey.width}, {.dtype = ember::DType::i64});
  const ember::data::Batch padded = pad_rasters({{image, no_labels}}, net.size_multiple());
  const Tensor logits = net(ember::to(padded[0], device));
  net.train(was_training);
  const Tensor classes = ember::argmax(logits, 1).select(0, 0).slice(0, 0, grey.height).slice(1, 0, grey.width);
  const std::vector<std::int64_t> values = classes.to(ember::Device::cpu()).to_vector<std::int64_t>();
  return std::vector<std::uint8_t>(values.begin(), values.end());
}

Image overlay(const Image& grey, const std::vector<std::uint8_t>& classes, Task task) {
  // Grid light blue; curves red (binary), or by type: solid red, thick blue, dashed green, dotted magenta.
  static constexpr std::uint8_t kColours[kClasses][3] = {{0, 0, 0},     {110, 170, 255}, {230, 30, 30},
                                                         {30, 60, 230}, {20, 170, 40},   {200, 30, 200}};
  Image out{grey.height, grey.width, 3, std::vector<std::uint8_t>(grey.pixels.size() * 3)};
  for (std::size_t i = 0; i < grey.pixels.size(); ++i) {
    const int what = task == Task::binary && classes[i] == 1 ? int{kFirstCurve} : int{classes[i]};
    for (int k = 0; k < 3; ++k) {
      const double value = what == kBackground ? grey.pixels[i] : 0.35 * grey.pixels[i] + 0.65 * kColours[what][k];
      out.pixels[3 * i + static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(value);
    }
  }
  return out;
}

void write_previews(ember::nn::UNet& net, const WellLogDataset& dataset, Task task, std::int64_t count,
                    const std::string& directory, ember::Device device) {
  for (std::int64_t i = 0; i < std::min(count, dataset.size()); ++i) {
    ember::Generator unused;
    const ember::data::Example example = dataset.get(i, unused);
    const RasterSize size{example[0].size(1), example[0].size(2)};
    Image grey{size.height, size.width, 1, {}};
    for (float ink : example[0].to_vector<float>()) grey.pixels.push_back(static_cast<std::uint8_t>(255 * (1 - ink)));
    const std::vector<std::int64_t> truth64 = example[1].to_vector<std::int64_t>();
    const Image predicted = overlay(grey, predict_classes(net, grey, device), task);
    const Image truth = overlay(grey, std::vector<std::uint8_t>(truth64.begin(), truth64.end()), task);
    // Prediction on top, the truth below, a white row between.
    Image both{2 * size.height + 1, size.width, 3, predicted.pixels};
    both.pixels.insert(both.pixels.end(), static_cast<std::size_t>(3 * size.width), 255);
    both.pixels.insert(both.pixels.end(), truth.pixels.begin(), truth.pixels.end());
    write_png(directory + "/preview_" + std::to_string(i) + ".png", both);
  }
}

std::shared_ptr<ember::nn::UNet> load_unet(const std::string& checkpoint) {
  ember::nn::StateDict net;
  for (const auto& [name, tensor] : ember::trainer::checkpoint_weights(checkpoint)) {
    if (name.rfind("net.", 0) == 0) net.emplace_back(name.substr(4), tensor);
  }
  auto shape_of = [&](const std::string& name) {
    const auto found = std::find_if(net.begin(), net.end(), [&](const auto& entry) { return entry.first == name; });
    EMBER_CHECK(found != net.end(), "load_unet: '", checkpoint, "' holds no U-Net weight 'net.", name,
                "' (is it a well_log train checkpoint?)");
    return found->second.sizes();
  };
  std::set<std::string> levels;
  for (const auto& entry : net) {
    if (entry.first.rfind("down", 0) == 0) levels.insert(entry.first.substr(0, entry.first.find('.')));
  }
  const bool transposed =
      std::any_of(net.begin(), net.end(), [](const auto& e) { return e.first == "upsample0.weight"; });
  auto unet = std::make_shared<ember::nn::UNet>(
      ember::nn::UNetOptions{.in_channels = shape_of("down0.0.weight")[1],
                             .classes = shape_of("head.weight")[0],
                             .base_width = shape_of("down0.0.weight")[0],
                             .depth = static_cast<std::int64_t>(levels.size()),
                             .upsampling = transposed ? ember::nn::UNetOptions::Upsampling::transposed_conv
                                                      : ember::nn::UNetOptions::Upsampling::bilinear});
  unet->load_state_dict(net);
  return unet;
}

}  // namespace well_log
