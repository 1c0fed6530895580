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
    # CUDA graphs (src/train/cuda_graph.cpp) include ATen/cuda headers, which need the CUDA
    # runtime headers: the wheel's own (nvidia/cu*/include) first, else the system toolkit's.
    file(GLOB _cuda_inc LIST_DIRECTORIES true "${TORCH_PKG_DIR}/../nvidia/cu*/include" "${TORCH_PKG_DIR}/../nvidia/cuda_runtime/include")
    # Some wheels carry only part of the headers (no crt/host_config.h): take a complete set.
    unset(KDPRUNE_CUDA_INCLUDE)
    unset(KDPRUNE_CUDA_INCLUDE CACHE)
    foreach(_d ${_cuda_inc} "$ENV{CUDA_HOME}/include" /usr/local/cuda/include)
      if(EXISTS "${_d}/cuda_runtime_api.h" AND EXISTS "${_d}/crt/host_config.h")
        set(KDPRUNE_CUDA_INCLUDE "${_d}")
        break()
      endif()
    endforeach()
    # Only the wheel's cudart: a second CUDA runtime in the process would not share torch's state.
    file(GLOB _cudart "${TORCH_PKG_DIR}/../nvidia/cu*/lib/libcudart.so.*" "${TORCH_PKG_DIR}/../nvidia/cuda_runtime/lib/libcudart.so.*")
    if(NOT _cudart)
      # Fallback (a torch that takes CUDA from the system): the toolkit's runtime.
      find_library(KDPRUNE_CUDART cudart HINTS "$ENV{CUDA_HOME}/lib64" /usr/local/cuda/lib64)
      if(KDPRUNE_CUDART)
        set(_cudart "${KDPRUNE_CUDART}")
        message(WARNING "kdprune: no libcudart in the torch wheel; linking ${KDPRUNE_CUDART}")
      endif()
    endif()
    if(KDPRUNE_CUDA_INCLUDE AND _cudart)
      list(GET _cudart 0 _cudart)
      target_include_directories(kdprune_torch SYSTEM INTERFACE "${KDPRUNE_CUDA_INCLUDE}")
      target_compile_definitions(kdprune_torch INTERFACE KDPRUNE_WITH_CUDA=1)
      list(APPEND _libs "${_cudart}")
      message(STATUS "kdprune: CUDA graphs on (headers ${KDPRUNE_CUDA_INCLUDE}, runtime ${_cudart})")
    else()
      message(STATUS "kdprune: CUDA graphs off (no CUDA runtime headers or no libcudart in the torch wheel)")
    endif()
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

# libstdc++ first among the programs' shared libraries. The torch 2.11 wheels (those of the GPU
# machines) carry a static copy of libstdc++'s std::filesystem and export it from libtorch.so and
# libtorch_cpu.so; a program that needs libtorch before libstdc++ resolves std::filesystem::remove_all
# to libtorch.so's copy, which calls a weak symbol the loader leaves null (SIGSEGV). Named first,
# libstdc++ is searched first, so every std:: function is the real one (tests/core/test_link_order.cpp).
# One linker item (CMake de-duplicates link options one by one); not with libc++ or a static
# libstdc++ asked for in the flags.
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang" AND NOT "${CMAKE_CXX_FLAGS} ${CMAKE_EXE_LINKER_FLAGS}" MATCHES "stdlib=libc\\+\\+|static-libstdc")
  target_link_options(kdprune_torch INTERFACE "LINKER:--push-state,--no-as-needed,-lstdc++,--pop-state")
endif()
