# torch's include/ ships fmt 12 headers; Debian's spdlog is built against Debian's fmt 9.
# A directory holding only `fmt -> <Debian fmt headers>` goes before torch's include directory,
# so every <fmt/...> resolves to the fmt that spdlog was built with.
set(FMT_INCLUDE_DIR "$ENV{FMT_INCLUDE_DIR}" CACHE PATH "directory holding the fmt/ headers spdlog was built with")
if(NOT FMT_INCLUDE_DIR)
  set(FMT_INCLUDE_DIR "/usr/include")
endif()
set(_shim "${CMAKE_BINARY_DIR}/fmt_shim")
file(MAKE_DIRECTORY "${_shim}")
file(CREATE_LINK "${FMT_INCLUDE_DIR}/fmt" "${_shim}/fmt" SYMBOLIC)
add_library(kdprune_fmt_shim INTERFACE)
target_include_directories(kdprune_fmt_shim SYSTEM BEFORE INTERFACE "${_shim}")
