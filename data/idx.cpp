#include "data/idx.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "core/shape.h"

namespace ember::data {

namespace {

struct GzCloser {
  void operator()(gzFile file) const { gzclose(file); }
};
using GzFile = std::unique_ptr<std::remove_pointer_t<gzFile>, GzCloser>;

// Reads up to `count` bytes, fewer only where the file ends; `what` names the part of the file
// for the error message of a zlib error.
std::size_t read_up_to(gzFile file, const std::string& path, void* into, std::size_t count, const char* what) {
  std::size_t done = 0;
  while (done < count) {
    const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(count - done, 1u << 30));
    const int got = gzread(file, static_cast<char*>(into) + done, chunk);
    if (got < 0) {
      int code = 0;
      const char* message = gzerror(file, &code);
      fail("read_idx: ", path, " is corrupt (zlib: ", message, ") while reading the ", what);
    }
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return done;
}

void read_exactly(gzFile file, const std::string& path, void* into, std::size_t count, const char* what) {
  const std::size_t got = read_up_to(file, path, into, count, what);
  EMBER_CHECK(got == count, "read_idx: ", path, " is truncated: expected ", count, " bytes of ", what, ", got ", got);
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  GzFile file(gzopen(path.c_str(), "rb"));
  EMBER_CHECK(file != nullptr, "read_idx: cannot open ", path, ": ", std::strerror(errno));

  std::uint8_t magic[4];
  read_exactly(file.get(), path, magic, 4, "header");
  EMBER_CHECK(magic[0] == 0 && magic[1] == 0, "read_idx: ", path, " is not an IDX file (its magic starts with ",
              int(magic[0]), ", ", int(magic[1]), " instead of 0, 0)");
  EMBER_CHECK(magic[2] == 0x08, "read_idx: ", path, " holds IDX type 0x", std::hex, int(magic[2]),
              "; only unsigned bytes (0x08) are supported");
  const int ndims = magic[3];
  EMBER_CHECK(ndims >= 1 && ndims <= 8, "read_idx: ", path, " claims ", ndims, " dims (expected 1 to 8)");

  IdxArray array;
  constexpr std::int64_t kMaxCount = std::int64_t{1} << 34;  // 16 GiB of bytes: far beyond any dataset's file
  std::int64_t count = 1;
  for (int d = 0; d < ndims; ++d) {
    std::uint8_t bytes[4];
    read_exactly(file.get(), path, bytes, 4, "header");
    const std::int64_t size = (std::int64_t{bytes[0]} << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3];
    array.sizes.push_back(size);
    // Checked before multiplying: eight dims of 2^32 would overflow int64.
    EMBER_CHECK(size == 0 || count <= kMaxCount / size, "read_idx: ", path, " claims an implausible size (dims ",
                to_string(array.sizes), ", more than ", kMaxCount, " bytes)");
    count *= size;
  }
  // The data is read in pieces that grow with what has arrived, so a header claiming gigabytes
  // over a short file fails at the file's end having allocated about what the file held.
  const auto total = static_cast<std::size_t>(count);
  while (array.values.size() < total) {
    const std::size_t at = array.values.size();
    const std::size_t piece = std::min(total - at, std::max<std::size_t>(at, std::size_t{1} << 20));
    array.values.resize(at + piece);
    const std::size_t got = read_up_to(file.get(), path, array.values.data() + at, piece, "data");
    EMBER_CHECK(got == piece, "read_idx: ", path, " is truncated: expected ", total, " bytes of data, got ", at + got);
  }
  char extra;
  EMBER_CHECK(gzread(file.get(), &extra, 1) == 0, "read_idx: ", path, " has bytes after its ", count,
              " data bytes: not the file its header describes");
  return array;
}

}  // namespace ember::data
