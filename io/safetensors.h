#pragma once
// The safetensors file format (Hugging Face): an 8-byte little-endian header length, a JSON
// header mapping each tensor name to {"dtype", "shape", "data_offsets"} plus an optional
// "__metadata__" object of strings, then the raw little-endian data. Files written here can be
// read by PyTorch and Hugging Face tools.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace ember::io {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

struct SafetensorsFile {
  NamedTensors tensors;                         // in file order
  std::map<std::string, std::string> metadata;  // the "__metadata__" strings
};

// Writes atomically: a temporary file in the same directory, flushed and fsync'd, then renamed
// over `path`. A failure leaves any earlier file at `path` untouched and no temporary behind.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Reads a file written by any safetensors writer. A missing, truncated or corrupt file is an
// ember::Error naming the path and what is wrong.
SafetensorsFile load_safetensors(const std::string& path);

}  // namespace ember::io
