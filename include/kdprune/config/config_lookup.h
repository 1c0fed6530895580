#pragma once
// `--config NAME` as the design's usage line writes it (`kdprune distill --config cifar100_f0.1.yaml`):
// a name that is not a file is looked up among the shipped configs.
#include <string>
#include <vector>

namespace kdprune {

// The folders holding shipped configs, in lookup order: $KDPRUNE_CONFIGS, the installed
// <prefix>/share/kdprune/configs (beside the binary, then the configured prefix), the checkout the
// binary was built from.
std::vector<std::string> shipped_config_dirs();

// NAME if it is a file; else the first of, in each shipped folder: NAME, and for NAME =
// <folder>_<file> (cifar100_f0.1.yaml, fashion_mnist_quickstart) <folder>/<file>; ".yaml" may
// be left out. Logs which file it used. Throws kdprune::Error listing every path tried.
std::string resolve_config_path(const std::string& name);

// The folder holding README.md and docs/ for this kdprune: the installed <prefix>/share/doc/kdprune
// (beside the binary, then the configured prefix), else the checkout it was built from; "" if none
// is there. --help names the docs by their paths under it.
std::string docs_dir();

}  // namespace kdprune
