#pragma once
// Removes a file or a directory with everything under it, as std::filesystem::remove_all does, but
// through POSIX nftw: a program linked against a torch 2.11 wheel with a static libstdc++ (the GPU
// machines' toolchain) binds std::filesystem::remove_all to the copy libtorch.so exports, which
// calls a weak symbol left null and crashes (cmake/KdpruneTorch.cmake has the dynamic case).
#include <cstdint>
#include <string>
#include <system_error>

namespace kdprune::io {

// Symbolic links are removed, never followed. A missing path is not an error (0 removed). On
// failure `ec` names the first error; what could be removed is removed.
std::uintmax_t remove_tree(const std::string& path, std::error_code& ec);

}  // namespace kdprune::io
