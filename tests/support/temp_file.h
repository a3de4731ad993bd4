// A scratch file path that is unique to this test process and removed when it goes out of scope.
// CTest runs every test case as its own process, in parallel: two cases (or two checkouts on one
// machine) writing the same fixed path in /tmp would read each other's half-written files.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace onprem::testing_support {

struct TempFile {
  std::string path;
  // The path alone, for a file that must outlive one scope (the caller removes it, or the OS does).
  static std::string unique_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("onprem_" + std::to_string(::getpid()) + "_" + name)).string();
  }
  explicit TempFile(const std::string& name) : path(unique_path(name)) {}
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
};

}  // namespace onprem::testing_support
