#include "data/idx.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "core/error.h"

namespace ember::data {

namespace {

struct GzCloser {
  void operator()(gzFile file) const { gzclose(file); }
};
using GzFile = std::unique_ptr<std::remove_pointer_t<gzFile>, GzCloser>;

// Reads exactly `count` bytes; `what` names the part of the file for the error message.
void read_exactly(gzFile file, const std::string& path, void* into, std::size_t count, const char* what) {
  std::size_t done = 0;
  while (done < count) {
    const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(count - done, 1u << 30));
    const int got = gzread(file, static_cast<char*>(into) + done, chunk);
    if (got < 0) {
      int code = 0;
      const char* message = gzerror(file, &code);
      fail("read_idx: ", path, " is corrupt (zlib: ", message, ") while reading the ", what);
    }
    if (got == 0) {
      fail("read_idx: ", path, " is truncated: expected ", count, " bytes of ", what, ", got ", done);
    }
    done += static_cast<std::size_t>(got);
  }
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
  std::int64_t count = 1;
  for (int d = 0; d < ndims; ++d) {
    std::uint8_t bytes[4];
    read_exactly(file.get(), path, bytes, 4, "header");
    const std::int64_t size = (std::int64_t{bytes[0]} << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3];
    array.sizes.push_back(size);
    count *= size;
    EMBER_CHECK(count <= (std::int64_t{1} << 34), "read_idx: ", path, " claims an implausible size");
  }
  array.values.resize(static_cast<std::size_t>(count));
  read_exactly(file.get(), path, array.values.data(), array.values.size(), "data");
  char extra;
  EMBER_CHECK(gzread(file.get(), &extra, 1) == 0, "read_idx: ", path, " has bytes after its ", count,
              " data bytes: not the file its header describes");
  return array;
}

}  // namespace ember::data
