// IDX reading: a good file, every kind of bad file, and the real Fashion-MNIST.
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "data/fashion_mnist.h"
#include "data/idx.h"
#include "helpers.h"

using namespace ember;
using namespace ember::testing;

namespace {

std::filesystem::path temp_dir() {
  const auto dir = std::filesystem::temp_directory_path() / ("ember_idx_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

// Writes an IDX u8 file of `sizes` holding 0, 1, 2, ... (only `keep` data bytes when given).
std::string write_idx(const std::string& name, const std::vector<std::uint32_t>& sizes, long keep = -1) {
  const std::string path = (temp_dir() / name).string();
  gzFile file = gzopen(path.c_str(), "wb");
  std::vector<unsigned char> bytes = {0, 0, 0x08, static_cast<unsigned char>(sizes.size())};
  std::size_t count = 1;
  for (std::uint32_t s : sizes) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<unsigned char>(s >> shift));
    count *= s;
  }
  for (std::size_t i = 0; i < (keep < 0 ? count : static_cast<std::size_t>(keep)); ++i) bytes.push_back(i % 251);
  gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(file);
  return path;
}

}  // namespace

TEST_CASE("read_idx reads sizes and values") {
  const data::IdxArray array = data::read_idx(write_idx("good.gz", {2, 3, 4}));
  CHECK(array.sizes == std::vector<std::int64_t>{2, 3, 4});
  REQUIRE(array.values.size() == 24);
  CHECK(array.values[23] == 23);
}

TEST_CASE("read_idx errors: missing / truncated / corrupt / not IDX") {
  CHECK(contains(error_of([] { data::read_idx("/nonexistent/file.gz"); }), "cannot open /nonexistent/file.gz"));
  CHECK(contains(error_of([] { data::read_idx(write_idx("short.gz", {10, 10}, 37)); }),
                 "is truncated: expected 100 bytes of data, got 37"));
  const std::string bad_magic = (temp_dir() / "magic.bin").string();
  std::ofstream(bad_magic) << "PK\x03\x04 not idx at all";
  CHECK(contains(error_of([&] { data::read_idx(bad_magic); }), "is not an IDX file"));
  // Flip bytes inside the compressed stream of a valid file: zlib's CRC or inflate must object.
  const std::string corrupt = write_idx("corrupt.gz", {64, 64});
  {
    std::fstream file(corrupt, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(30);
    const char garbage[16] = {'\x7f', '\x13', '\x55', '\x00', '\x01', '\x02', '\xff', '\xee',
                              '\x10', '\x20', '\x30', '\x40', '\x50', '\x60', '\x70', '\x7e'};
    file.write(garbage, sizeof(garbage));
  }
  const std::string message = error_of([&] { data::read_idx(corrupt); });
  CHECK((contains(message, "is corrupt") || contains(message, "truncated")));
  std::filesystem::remove_all(temp_dir());
}

TEST_CASE("read_idx: a header's claimed size neither overflows nor sizes an allocation") {
  // Found by fuzzing (issue 20). Eight dims of 2^32 - 1: their product would overflow int64
  // before any cap was checked.
  const std::vector<std::uint32_t> eight(8, 0xffffffffu);
  CHECK(contains(error_of([&] { data::read_idx(write_idx("overflow.gz", eight, 0)); }),
                 "claims an implausible size"));
  // A 20-byte file claiming 4 GiB (65536 x 256 x 256) of data: read up to its end with about
  // what it held allocated (host_memory_stats does not see std::vector, so the proof is that
  // this test allocates no 4 GiB: under the sanitizers that would fail), then the truncation.
  CHECK(contains(error_of([&] { data::read_idx(write_idx("claims4gib.gz", {65536, 256, 256}, 4)); }),
                 "is truncated: expected 4294967296 bytes of data, got 4"));
  // Data that spans several of the growing pieces (1 MiB, then doubling) arrives whole.
  const data::IdxArray big = data::read_idx(write_idx("pieces.gz", {5, 1000, 1000}));
  REQUIRE(big.values.size() == 5000000);
  CHECK(big.values[4999999] == 4999999 % 251);
  CHECK(big.values[1048576] == 1048576 % 251);
  std::filesystem::remove_all(temp_dir());
}

TEST_CASE("the real Fashion-MNIST training and test sets load") {
  if (!std::filesystem::exists(data::kFashionMnistRoot)) {
    MESSAGE("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist); skipped");
    return;
  }
  const data::FashionMnist test = data::load_fashion_mnist(data::kFashionMnistRoot, false);
  CHECK(test.images.sizes() == Shape{10000, 1, 28, 28});
  CHECK(test.labels.sizes() == Shape{10000});
  // The test set is balanced: 1,000 images per class.
  for (std::int64_t c = 0; c < 10; ++c) CHECK(sum(eq(test.labels, static_cast<double>(c))).item<std::int64_t>() == 1000);
  CHECK(max(test.images).item<float>() <= 1.0f);
  CHECK(min(test.images).item<float>() >= 0.0f);
}
