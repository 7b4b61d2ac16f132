// safetensors: round trips, the exact byte layout, atomic writes, and damaged files.
#include <cstring>
#include <filesystem>
#include <fstream>

#include "helpers.h"
#include "io/safetensors.h"

using namespace ember;
using namespace ember::testing;
using io::load_safetensors;
using io::save_safetensors;

namespace {

std::filesystem::path scratch() {
  const auto dir = std::filesystem::temp_directory_path() / ("ember_safetensors_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

std::string read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), {}};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace

TEST_CASE("safetensors round trip of every dtype + a strided tensor and metadata") {
  const std::string path = (scratch() / "all.safetensors").string();
  const Tensor strided = arange(0, 6, 1, {.dtype = DType::f32}).view({2, 3}).t();  // saved as its values
  const io::NamedTensors tensors = {
      {"f32", strided}, {"f64", from_vector<double>({1.5, -2})}, {"f16", from_vector<float>({0.5}).to(DType::f16)},
      {"bf16", from_vector<float>({3}).to(DType::bf16)}, {"i32", from_vector<std::int32_t>({-7})},
      {"i64", from_vector<std::int64_t>({1} )}, {"u8", from_vector<std::uint8_t>({255})}, {"bool", from_vector<bool>({true, false})},
      {"scalar", scalar_tensor(4)}, {"empty", zeros({0, 3})}};
  save_safetensors(path, tensors, {{"epoch", "3"}, {"note", "x"}});
  const io::SafetensorsFile loaded = load_safetensors(path);
  REQUIRE(loaded.tensors.size() == tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    CHECK(loaded.tensors[i].first == tensors[i].first);  // file order is save order
    CHECK(loaded.tensors[i].second.sizes() == tensors[i].second.sizes());
    CHECK(loaded.tensors[i].second.dtype() == tensors[i].second.dtype());
    CHECK(loaded.tensors[i].second.to_vector<double>() == tensors[i].second.to_vector<double>());
  }
  CHECK(loaded.metadata.at("epoch") == "3");
  std::filesystem::remove_all(scratch());
}

TEST_CASE("the bytes follow the format: u64 length + JSON header padded to 8 + raw data") {
  const std::string path = (scratch() / "one.safetensors").string();
  save_safetensors(path, {{"w", from_vector<float>({1, 2})}});
  const std::string bytes = read_bytes(path);
  std::uint64_t length = 0;
  std::memcpy(&length, bytes.data(), 8);
  CHECK(length % 8 == 0);
  const std::string header = bytes.substr(8, length);
  CHECK(contains(header, R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})"));
  REQUIRE(bytes.size() == 8 + length + 8);
  float values[2];
  std::memcpy(values, bytes.data() + 8 + length, 8);
  CHECK(values[0] == 1.0f);
  CHECK(values[1] == 2.0f);
  std::filesystem::remove_all(scratch());
}

TEST_CASE("a failed save leaves the earlier file intact and no temporary behind") {
  const std::string path = (scratch() / "model.safetensors").string();
  save_safetensors(path, {{"w", from_vector<float>({1, 2})}});
  const std::string before = read_bytes(path);
  float host = 0;
  const Tensor on_gpu = from_blob(&host, {1}, DType::f32, Device::cuda());
  CHECK(contains(error_of([&] { save_safetensors(path, {{"w", zeros({5})}, {"gpu", on_gpu}}); }), "move it to the CPU"));
  CHECK(read_bytes(path) == before);
  CHECK(std::distance(std::filesystem::directory_iterator(scratch()), std::filesystem::directory_iterator()) == 1);
  CHECK(contains(error_of([&] { save_safetensors("/nonexistent/dir/x.safetensors", {}); }), "cannot create"));
  std::filesystem::remove_all(scratch());
}

TEST_CASE("damaged files give clear errors") {
  const std::string path = (scratch() / "bad.safetensors").string();
  save_safetensors(path, {{"w", zeros({100})}});
  const std::string good = read_bytes(path);
  write_bytes(path, good.substr(0, good.size() - 10));
  CHECK(contains(error_of([&] { load_safetensors(path); }), "is truncated: tensor 'w' ends at byte 400"));
  write_bytes(path, good.substr(0, 5));
  CHECK(contains(error_of([&] { load_safetensors(path); }), "no header length"));
  std::string corrupt = good;
  corrupt[8] = '#';  // the JSON's opening brace
  write_bytes(path, corrupt);
  CHECK(contains(error_of([&] { load_safetensors(path); }), "has a corrupt header"));
  std::string huge = good;
  huge[6] = 0x7f;  // header length far beyond the file
  write_bytes(path, huge);
  CHECK(contains(error_of([&] { load_safetensors(path); }), "is corrupt or truncated"));
  CHECK(contains(error_of([] { load_safetensors("/nonexistent.safetensors"); }), "cannot open"));
  std::filesystem::remove_all(scratch());
}
