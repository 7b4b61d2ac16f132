// Writes the fuzzers' seed corpora (tests/fuzz/corpus/<fuzzer>/): one or two valid inputs each,
// made by ember's own writers, so the fuzzers start from files a user would have.
//
//   build-fuzz/tests/fuzz/make_fuzz_seeds tests/fuzz/corpus
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "core/ops.h"
#include "io/safetensors.h"
#include "png_image.h"
#include "tiny_run.h"

namespace {

namespace fs = std::filesystem;
using namespace ember;

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A u8 IDX file: magic 0 0 8 ndims, big-endian u32 sizes, then the values.
std::string idx_bytes(const std::vector<std::uint32_t>& sizes) {
  std::string bytes = {0, 0, 8, static_cast<char>(sizes.size())};
  std::size_t count = 1;
  for (const std::uint32_t size : sizes) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>((size >> shift) & 0xff));
    count *= size;
  }
  for (std::size_t i = 0; i < count; ++i) bytes.push_back(static_cast<char>(i * 37));
  return bytes;
}

void write_gzip(const fs::path& path, const std::string& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(file);
}

}  // namespace

int main(int argc, char** argv) {
  const fs::path root = argc > 1 ? argv[1] : "tests/fuzz/corpus";
  for (const char* name : {"safetensors", "idx", "checkpoint", "png", "environment"}) fs::create_directories(root / name);

  Generator generator(1);
  io::save_safetensors((root / "safetensors" / "dtypes.safetensors").string(),
                       {{"weight", randn({2, 3}, {}, generator)},
                        {"half", randn({3}, {}, generator).to(DType::f16)},
                        {"brain", randn({2}, {}, generator).to(DType::bf16)},
                        {"double", randn({1, 2}, {.dtype = DType::f64}, generator)},
                        {"labels", arange(4)},
                        {"scalar", scalar_tensor(2.5)}},
                       {{"format", "pt"}});

  write_bytes(root / "idx" / "images.idx", idx_bytes({2, 3, 3}));
  write_gzip(root / "idx" / "labels.idx.gz", idx_bytes({5}));

  const fs::path run = fs::temp_directory_path() / "ember-fuzz-seeds";
  fuzz::run_tiny("", run.string(), 2, (root / "checkpoint" / "epoch2.safetensors").string());
  fs::remove_all(run);

  well_log::Image grey{.height = 3, .width = 4, .channels = 1, .pixels = std::vector<std::uint8_t>(12, 200)};
  well_log::write_png((root / "png" / "grey.png").string(), grey);
  well_log::Image rgb{.height = 2, .width = 2, .channels = 3, .pixels = {255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9}};
  well_log::write_png((root / "png" / "rgb.png").string(), rgb);

  // RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE and EMBER_STORE, one per line.
  write_bytes(root / "environment" / "file_store", "1\n4\n1\n2\nfile:///tmp/ember-store\n");
  write_bytes(root / "environment" / "redis_store", "0\n2\n0\n2\nredis://127.0.0.1:6379\n");
  std::cout << "wrote the seed corpora under " << root << "\n";
}
