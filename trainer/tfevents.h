#pragma once
// TensorBoard's event-file format, written by hand (Debian packages no C++ writer for it).
//
// An event file is a sequence of TFRecords:
//   uint64 length | uint32 masked_crc32c(length bytes) | payload | uint32 masked_crc32c(payload)
// (little-endian), where each payload is a serialized tensorflow.Event protobuf. We only need
// scalars, so we encode the few Event fields by hand:
//   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//   Summary { repeated Value value = 1; }
//   Value   { string tag = 1; float simple_value = 2; }
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ember::trainer::tfevents {

// CRC-32C (Castagnoli polynomial, reflected 0x82F63B78), as TFRecord uses.
std::uint32_t crc32c(const void* data, std::size_t size);
// The stored form: rotate right by 15 and add a constant, so a CRC over data holding CRCs
// stays well distributed.
std::uint32_t masked_crc32c(const void* data, std::size_t size);

// The first event of every file: names the format version ("brain.Event:2").
std::string file_version_event(double wall_time);
// One event carrying scalar summaries `tag -> value` at `step`.
std::string scalars_event(double wall_time, std::int64_t step, const std::vector<std::pair<std::string, float>>& scalars);

// A payload framed as one TFRecord.
std::string record(const std::string& payload);

}  // namespace ember::trainer::tfevents
