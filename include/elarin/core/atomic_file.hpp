// Atomic file writes: temp file in the same directory, fsync, rename, fsync the directory.
// A crash at any point leaves either the old file or the new one, never a torn one.
//
//   std::string bytes = "weights";
//   elarin::write_file_atomic("state/thalamus.safetensors", bytes);
//   std::string back = elarin::read_file("state/thalamus.safetensors");  // == bytes
#pragma once

#include <string>
#include <string_view>

namespace elarin {

// Writes `data` to `path` atomically. Throws Error naming the path and errno on failure;
// the temp file is removed and any old file at `path` is left untouched.
void write_file_atomic(const std::string& path, std::string_view data);

// Reads a whole file. Throws Error naming the path if it cannot be read.
std::string read_file(const std::string& path);

}  // namespace elarin
