# shellcheck shell=bash disable=SC2034  # sourced; ccache_args is read by the sourcing script
# Sourced by build.sh and fuzz.sh at their first configure: ccache_args, the CMake arguments that
# compile through ccache (where installed and KDPRUNE_CCACHE is not 0). Paths under the clone are
# hashed relative to it (base_dir), so another clone of the same commit hits the same cache
# entries; the sloppiness lets the precompiled torch header be cached and used.
ccache_args=()
if [ "${KDPRUNE_CCACHE:-1}" != 0 ] && command -v ccache >/dev/null; then
  ccache_args=("-DCMAKE_CXX_COMPILER_LAUNCHER=env;CCACHE_BASEDIR=$root;CCACHE_NOHASHDIR=1;CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime;ccache")
fi
