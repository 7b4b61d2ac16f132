#include "io/safetensors.h"

#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/ops/copy.h"
#include "core/ops/factory.h"
#include "io/atomic_file.h"

namespace ember::io {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian; so is ember's host");

namespace {

constexpr std::uint64_t kMaxHeader = std::uint64_t{100} << 20;  // the format's own limit

const char* format_dtype(DType dtype) {
  switch (dtype) {
    case DType::f32: return "F32";
    case DType::f64: return "F64";
    case DType::f16: return "F16";
    case DType::bf16: return "BF16";
    case DType::i32: return "I32";
    case DType::i64: return "I64";
    case DType::u8: return "U8";
    case DType::b8: return "BOOL";
  }
  return "?";
}

DType parse_dtype(const std::string& path, const std::string& name, const std::string& text) {
  for (DType dtype : {DType::f32, DType::f64, DType::f16, DType::bf16, DType::i32, DType::i64, DType::u8, DType::b8}) {
    if (text == format_dtype(dtype)) return dtype;
  }
  fail("load_safetensors: ", path, ": tensor '", name, "' has dtype '", text, "', which ember does not support");
}

// A header value that must be a whole number from 0 to `limit`: a negative, fractional or huge
// one (1e300) or a non-number is an Error naming the tensor and the field. (Converting a JSON
// float to an integer, as nlohmann's get<> would, is undefined behaviour when it does not fit.)
std::uint64_t whole_number(const nlohmann::json& value, const std::string& path, const std::string& name,
                           const char* field, std::uint64_t limit) {
  EMBER_CHECK(value.is_number_unsigned() && value.get<std::uint64_t>() <= limit, "load_safetensors: ", path,
              ": tensor '", name, "' has ", field, " ", value.dump(), ", which is not a whole number from 0 to ", limit);
  return value.get<std::uint64_t>();
}

// The tensor's shape, checked so that nothing computed from it overflows: the element count,
// its byte size, and the strides (the product of the nonzero dims, which a zero dim would
// otherwise hide: [0, 2^32, 2^32] holds no element but has a stride of 2^64).
Shape checked_shape(const nlohmann::json& entry, const std::string& path, const std::string& name, DType dtype) {
  const nlohmann::json& dims = entry.at("shape");
  EMBER_CHECK(dims.is_array(), "load_safetensors: ", path, ": tensor '", name, "' has shape ", dims.dump(),
              ", which is not a list");
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  Shape shape;
  std::uint64_t span = 1;  // the product of the nonzero dims
  for (const nlohmann::json& dim : dims) {
    const std::uint64_t size = whole_number(dim, path, name, "a dim", kMax);
    EMBER_CHECK(size == 0 || span <= kMax / size / size_of(dtype), "load_safetensors: ", path, ": tensor '", name,
                "' of shape ", dims.dump(), " is too large to address");
    span *= std::max<std::uint64_t>(size, 1);
    shape.push_back(static_cast<std::int64_t>(size));
  }
  return shape;
}

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  // Everything that can fail on the tensors fails before the file system is touched.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<Tensor> dense;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    EMBER_CHECK(tensor.defined(), "save_safetensors: tensor '", name, "' is undefined");
    EMBER_CHECK(tensor.device().is_cpu(), "save_safetensors: tensor '", name, "' is on ", tensor.device(),
                "; move it to the CPU first");
    EMBER_CHECK(name != "__metadata__" && !header.contains(name), "save_safetensors: duplicate or reserved name '",
                name, "'");
    const std::uint64_t bytes = static_cast<std::uint64_t>(tensor.numel()) * size_of(tensor.dtype());
    header[name] = {{"dtype", format_dtype(tensor.dtype())}, {"shape", tensor.sizes()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    dense.push_back(tensor.to(Device::cpu()).contiguous());  // GPU tensors are written from a host copy
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  const std::uint64_t length = text.size();

  write_atomically(path, "save_safetensors", [&](FileSink& sink) {
    sink.write(&length, sizeof(length));
    sink.write(text.data(), text.size());
    for (const Tensor& t : dense) sink.write(t.data_ptr(), static_cast<std::size_t>(t.numel()) * size_of(t.dtype()));
  });
}

SafetensorsFile load_safetensors(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  EMBER_CHECK(file.good(), "load_safetensors: cannot open ", path, ": ", std::strerror(errno));
  file.seekg(0, std::ios::end);
  const auto file_size = static_cast<std::uint64_t>(file.tellg());
  file.seekg(0);
  EMBER_CHECK(file_size >= 8, "load_safetensors: ", path, " is truncated: ", file_size, " bytes, no header length");
  std::uint64_t length = 0;
  file.read(reinterpret_cast<char*>(&length), sizeof(length));
  EMBER_CHECK(length <= kMaxHeader && length <= file_size - 8, "load_safetensors: ", path, " is corrupt or truncated: ",
              "its header claims ", length, " bytes, the file has ", file_size - 8, " after the length");
  std::string text(length, '\0');
  file.read(text.data(), static_cast<std::streamsize>(length));
  const std::uint64_t data_size = file_size - 8 - length;

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& error) {
    fail("load_safetensors: ", path, " has a corrupt header: ", error.what());
  }
  EMBER_CHECK(header.is_object(), "load_safetensors: ", path, " has a corrupt header: not a JSON object");

  SafetensorsFile result;
  std::vector<std::pair<std::uint64_t, std::pair<std::string, nlohmann::json>>> entries;
  try {
    for (const auto& [name, entry] : header.items()) {
      if (name == "__metadata__") {
        for (const auto& [key, value] : entry.items()) result.metadata[key] = value.get<std::string>();
        continue;
      }
      EMBER_CHECK(entry.is_object() && entry.contains("data_offsets") && entry.at("data_offsets").is_array() &&
                      entry.at("data_offsets").size() == 2,
                  "load_safetensors: ", path, ": tensor '", name, "' has no data_offsets pair");
      entries.push_back({whole_number(entry.at("data_offsets").at(0), path, name, "a data offset",
                                      std::numeric_limits<std::uint64_t>::max()),
                         {name, entry}});
    }
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [begin, named] : entries) {
      const auto& [name, entry] = named;
      const DType dtype = parse_dtype(path, name, entry.at("dtype").get<std::string>());
      const Shape shape = checked_shape(entry, path, name, dtype);
      const std::uint64_t end = whole_number(entry.at("data_offsets").at(1), path, name, "a data offset",
                                             std::numeric_limits<std::uint64_t>::max());
      const std::uint64_t bytes = static_cast<std::uint64_t>(numel(shape)) * size_of(dtype);  // cannot overflow: checked
      EMBER_CHECK(begin <= end && end - begin == bytes, "load_safetensors: ", path, ": tensor '", name, "' of shape ",
                  to_string(shape), " ", dtype, " needs ", bytes, " bytes, its offsets span ", end - begin);
      EMBER_CHECK(end <= data_size, "load_safetensors: ", path, " is truncated: tensor '", name, "' ends at byte ",
                  end, " of the data, which has only ", data_size);
      Tensor tensor = empty(shape, {.dtype = dtype});
      file.seekg(static_cast<std::streamoff>(8 + length + begin));
      file.read(static_cast<char*>(tensor.data_ptr()), static_cast<std::streamsize>(bytes));
      EMBER_CHECK(file.good(), "load_safetensors: reading tensor '", name, "' from ", path, " failed");
      if (dtype == DType::b8) {  // a bool other than 0 or 1 is undefined behaviour when read
        const auto* flags = static_cast<const std::uint8_t*>(tensor.data_ptr());
        for (std::uint64_t i = 0; i < bytes; ++i) {
          EMBER_CHECK(flags[i] <= 1, "load_safetensors: ", path, ": BOOL tensor '", name, "' holds the byte ",
                      int{flags[i]}, " at element ", i, " (a bool is 0 or 1)");
        }
      }
      result.tensors.emplace_back(name, tensor);
    }
  } catch (const nlohmann::json::exception& error) {
    fail("load_safetensors: ", path, " has a corrupt header: ", error.what());
  }
  return result;
}

}  // namespace ember::io
