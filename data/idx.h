#pragma once
// Reader for the IDX format of (Fashion-)MNIST: a 4-byte magic (0, 0, type, ndims), ndims
// big-endian u32 sizes, then the data. Files may be gzip-compressed (read through zlib).
#include <cstdint>
#include <string>
#include <vector>

namespace ember::data {

struct IdxArray {
  std::vector<std::int64_t> sizes;
  std::vector<std::uint8_t> values;  // unsigned bytes (type 0x08), row-major
};

// Reads a u8 IDX file. A missing file, a truncated one, a corrupt gzip stream or a header
// that is not IDX is an Error naming the path and what is wrong.
IdxArray read_idx(const std::string& path);

}  // namespace ember::data
