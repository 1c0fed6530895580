#pragma once
// Datasets by name. Adding one: a reader file in src/data/readers/ and one line in
// src/data/readers/registry.cpp.
#include <string>
#include <vector>

#include "kdprune/config/config.h"
#include "kdprune/data/raw_dataset.h"

namespace kdprune::data {

struct DatasetEntry {
  std::string name;
  std::string description;
  RawDataset (*load)(const DataSection& data, int64_t seed);
};

const std::vector<DatasetEntry>& dataset_registry();

// Loads data.name from data.root (or the dataset's usual place). `seed` only matters for
// synthetic data. Throws kdprune::Error for an unknown name (listing the known ones) or bad files.
RawDataset load_dataset(const DataSection& data, int64_t seed);

}  // namespace kdprune::data
