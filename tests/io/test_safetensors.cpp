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

// A file of the given JSON header (padded to 8 bytes) and data bytes.
void write_raw_safetensors(const std::string& path, std::string header, const std::string& data) {
  header.append((8 - header.size() % 8) % 8, ' ');
  const std::uint64_t length = header.size();
  std::string bytes(reinterpret_cast<const char*>(&length), sizeof(length));
  write_bytes(path, bytes + header + data);
}

TEST_CASE("hostile headers are errors, never an overflow or undefined behaviour") {
  // Each found by fuzzing (issue 20): sizes whose byte count wraps around 2^64, element counts
  // and strides beyond int64, numbers JSON holds but an integer does not, and bool bytes that
  // are neither 0 nor 1.
  const std::string path = (scratch() / "hostile.safetensors").string();
  auto error_for = [&](const std::string& header, const std::string& data = "") {
    write_raw_safetensors(path, header, data);
    return error_of([&] { load_safetensors(path); });
  };
  // [2^61] f64 is 2^64 bytes: 0 after wrapping, which the offsets [0, 0] would match.
  CHECK(contains(error_for(R"({"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}})"),
                 "tensor 'w' of shape [2305843009213693952] is too large to address"));
  CHECK(contains(error_for(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})"),
                 "is too large to address"));
  // No element, but a stride of 2^64 bytes.
  CHECK(contains(error_for(R"({"w":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})"),
                 "is too large to address"));
  CHECK(contains(error_for(R"({"w":{"dtype":"F32","shape":[1e300],"data_offsets":[0,4]}})"),
                 "tensor 'w' has a dim 1e+300, which is not a whole number"));
  CHECK(contains(error_for(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})"), "has a dim -1"));
  CHECK(contains(error_for(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,1e300]}})", "abcd"),
                 "has a data offset 1e+300"));
  CHECK(contains(error_for(R"({"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})", "abcd"),
                 "has shape \"1\", which is not a list"));
  CHECK(contains(error_for(R"({"w":{"dtype":"F32","shape":[1]}})", "abcd"), "tensor 'w' has no data_offsets pair"));
  CHECK(contains(error_for(R"({"w":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})", std::string("\1\0\2", 3)),
                 "BOOL tensor 'w' holds the byte 2 at element 2"));
  // The same bytes with bools that are bools load.
  write_raw_safetensors(path, R"({"w":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})", std::string("\1\0\1", 3));
  CHECK(load_safetensors(path).tensors.at(0).second.to_vector<bool>() == std::vector<bool>{true, false, true});
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
