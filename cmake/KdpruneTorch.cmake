# Finds LibTorch and defines the imported target kdprune::torch.
#
# Order of preference:
#  1. Torch_DIR given by the user: a LibTorch distribution through find_package(Torch).
#  2. TORCH_PKG_DIR (cache or environment): a torch *Python package* directory (include/, lib/).
#  3. The torch package of the project's virtualenv (KDPRUNE_VENV, default ~/.cache/kdprune/venv).
#  4. find_package(Torch) through CMAKE_PREFIX_PATH.
#
# A Python torch wheel is used as a self-contained LibTorch (see docs/building.md): the wheel's
# TorchConfig.cmake would link the system CUDA toolkit next to the wheel's own CUDA runtime.

set(KDPRUNE_VENV "$ENV{KDPRUNE_VENV}" CACHE PATH "virtualenv holding the torch wheel")
if(NOT KDPRUNE_VENV)
  set(KDPRUNE_VENV "$ENV{HOME}/.cache/kdprune/venv")
endif()
set(TORCH_PKG_DIR "$ENV{TORCH_PKG_DIR}" CACHE PATH "torch Python package directory (holds include/ and lib/)")

if(NOT Torch_DIR AND NOT TORCH_PKG_DIR AND EXISTS "${KDPRUNE_VENV}/bin/python")
  execute_process(
    COMMAND "${KDPRUNE_VENV}/bin/python" -c "import os, torch; print(os.path.dirname(torch.__file__), end='')"
    OUTPUT_VARIABLE _pkg RESULT_VARIABLE _rc ERROR_QUIET)
  if(_rc EQUAL 0 AND EXISTS "${_pkg}/include/torch")
    set(TORCH_PKG_DIR "${_pkg}" CACHE PATH "torch Python package directory" FORCE)
  endif()
endif()

add_library(kdprune_torch INTERFACE)
add_library(kdprune::torch ALIAS kdprune_torch)

if(TORCH_PKG_DIR AND NOT Torch_DIR)
  set(_lib "${TORCH_PKG_DIR}/lib")
  foreach(_l torch torch_cpu c10)
    if(NOT EXISTS "${_lib}/lib${_l}.so")
      message(FATAL_ERROR "TORCH_PKG_DIR=${TORCH_PKG_DIR}: ${_lib}/lib${_l}.so is missing")
    endif()
  endforeach()
  target_include_directories(kdprune_torch SYSTEM INTERFACE
    "${TORCH_PKG_DIR}/include" "${TORCH_PKG_DIR}/include/torch/csrc/api/include")
  set(_libs "${_lib}/libtorch.so" "${_lib}/libtorch_cpu.so" "${_lib}/libc10.so")
  set(KDPRUNE_TORCH_CUDA OFF)
  if(EXISTS "${_lib}/libtorch_cuda.so")
    set(KDPRUNE_TORCH_CUDA ON)
    # --no-as-needed: nothing references libtorch_cuda directly, yet its kernels must register.
    list(APPEND _libs "-Wl,--no-as-needed" "${_lib}/libtorch_cuda.so" "-Wl,--as-needed")
    if(EXISTS "${_lib}/libc10_cuda.so")
      list(APPEND _libs "${_lib}/libc10_cuda.so")
    endif()
    # The wheel's CUDA libraries sit in site-packages/nvidia/*/lib; libtorch_cuda's own RPATH
    # finds them at run time, the linker needs to be told at link time.
    file(GLOB _nv_dirs LIST_DIRECTORIES true "${TORCH_PKG_DIR}/../nvidia/*/lib" "${TORCH_PKG_DIR}/../nvidia/cu*/lib")
    foreach(_d ${_nv_dirs})
      list(APPEND _libs "-Wl,-rpath-link,${_d}")
    endforeach()
  endif()
  target_link_libraries(kdprune_torch INTERFACE ${_libs} pthread)
  target_compile_definitions(kdprune_torch INTERFACE _GLIBCXX_USE_CXX11_ABI=1)
  set(KDPRUNE_TORCH_RPATH "${_lib}")
  message(STATUS "kdprune: LibTorch from the torch package ${TORCH_PKG_DIR} (CUDA: ${KDPRUNE_TORCH_CUDA})")
else()
  find_package(Torch)
  if(NOT Torch_FOUND)
    message(FATAL_ERROR
      "kdprune: LibTorch not found. Run scripts/setup.sh (installs the pinned torch wheel into "
      "${KDPRUNE_VENV}), or pass -DTORCH_PKG_DIR=<site-packages/torch> or -DTorch_DIR=<libtorch>/share/cmake/Torch.")
  endif()
  target_link_libraries(kdprune_torch INTERFACE ${TORCH_LIBRARIES})
  target_include_directories(kdprune_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
  get_filename_component(KDPRUNE_TORCH_RPATH "${TORCH_LIBRARY}" DIRECTORY)
  set(KDPRUNE_TORCH_CUDA OFF)
  if(TORCH_CUDA_LIBRARIES OR EXISTS "${KDPRUNE_TORCH_RPATH}/libtorch_cuda.so")
    set(KDPRUNE_TORCH_CUDA ON)
  endif()
  message(STATUS "kdprune: LibTorch from Torch_DIR=${Torch_DIR}")
endif()
