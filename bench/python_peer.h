#pragma once
// Runs a PyTorch peer script from bench/peers and reads back what it prints: one "key value" pair
// per line. The interpreter is the first of $EMBER_PYTHON, python3 and /usr/bin/python3 that can
// import torch (Debian's python3-torch installs for /usr/bin/python3, which a python3 earlier on
// PATH, e.g. pyenv's, does not see). No such interpreter: an empty result ("peer not installed").
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace ember::bench {

inline std::string python_with_torch() {
  std::vector<std::string> candidates;
  if (const char* chosen = std::getenv("EMBER_PYTHON")) candidates.emplace_back(chosen);
  candidates.emplace_back("python3");
  candidates.emplace_back("/usr/bin/python3");
  for (const std::string& python : candidates) {
    if (std::system((python + " -c 'import torch' >/dev/null 2>&1").c_str()) == 0) return python;
  }
  return "";
}

// `script` is a file name under bench/peers; `arguments` are passed as they are.
inline std::map<std::string, double> run_python_peer(const std::string& script,
                                                     const std::vector<std::string>& arguments) {
  std::map<std::string, double> values;
  const std::string python = python_with_torch();
  if (python.empty()) return values;
  std::ostringstream command;
  command << python << ' ' << (std::filesystem::path(__FILE__).parent_path() / "peers" / script).string();
  for (const std::string& argument : arguments) command << ' ' << argument;
  FILE* pipe = popen(command.str().c_str(), "r");
  if (pipe == nullptr) return values;
  char key[256];
  double value = 0;
  while (std::fscanf(pipe, "%255s %lf", key, &value) == 2) values[key] = value;
  pclose(pipe);
  return values;
}

}  // namespace ember::bench
