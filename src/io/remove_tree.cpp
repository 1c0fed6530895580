#include "kdprune/io/remove_tree.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace kdprune::io {
namespace {

// nftw's callback takes no user pointer; one walk at a time per thread.
thread_local std::uintmax_t removed = 0;
thread_local int first_error = 0;

int remove_entry(const char* path, const struct stat*, int type, struct FTW*) {
  // A directory that could not be listed keeps its entries: report why (not rmdir's ENOTEMPTY).
  if (type == FTW_DNR && first_error == 0) first_error = EACCES;
  const bool directory = type == FTW_DP || type == FTW_DNR;
  if ((directory ? rmdir(path) : unlink(path)) == 0) ++removed;
  else if (errno != ENOENT && first_error == 0) first_error = errno;  // gone meanwhile: as remove_all
  return 0;  // go on: remove what can be removed
}

}  // namespace

std::uintmax_t remove_tree(const std::string& path, std::error_code& ec) {
  ec.clear();
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) ec.assign(errno, std::generic_category());
    return 0;
  }
  removed = 0, first_error = 0;
  // Depth first (children before their directory), physical (links themselves, not their targets).
  if (nftw(path.c_str(), remove_entry, 32, FTW_DEPTH | FTW_PHYS) != 0 && first_error == 0) first_error = errno;
  if (first_error != 0) ec.assign(first_error, std::generic_category());
  return removed;
}

}  // namespace kdprune::io
