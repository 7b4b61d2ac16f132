#pragma once
// Where a tensor's memory lives: the host, or one CUDA device.
#include <ostream>
#include <string>

namespace ember {

enum class DeviceType { cpu, cuda };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;

  static Device cpu() { return {DeviceType::cpu, 0}; }
  static Device cuda(int index = 0) { return {DeviceType::cuda, index}; }
  // Parses "cpu", "cuda" or "cuda:N".
  static Device parse(const std::string& text);

  bool is_cpu() const { return type == DeviceType::cpu; }
  bool is_cuda() const { return type == DeviceType::cuda; }
  std::string str() const;
  friend bool operator==(const Device&, const Device&) = default;
  friend auto operator<=>(const Device&, const Device&) = default;  // an order, for maps keyed by device
};

inline std::ostream& operator<<(std::ostream& out, const Device& device) { return out << device.str(); }

// The Error of every CUDA path in a build without the CUDA backend.
[[noreturn]] void cuda_unavailable(const char* op);

}  // namespace ember
