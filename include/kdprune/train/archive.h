#pragma once
// Reading and writing LibTorch archives (model.pt, checkpoint.pt) so that every failure is one
// kdprune::Error naming the file: CRC-checked reads, weights checked name by name and shape by
// shape before any is copied, writes through memory and an atomic rename.
#include <torch/torch.h>

#include <string>

namespace kdprune::train {

// `what` names the file in messages, e.g. "checkpoint '/runs/a/checkpoint.pt'".
torch::serialize::InputArchive read_archive(const std::string& path, const std::string& what, const torch::Device& device);
void write_archive(torch::serialize::OutputArchive& archive, const std::string& path);

// Throws kdprune::Error naming the first parameter or buffer with a NaN or infinite value.
void refuse_non_finite(const torch::nn::Module& module, const std::string& what);
// Loads `module`'s parameters and buffers from `archive` after checking that every one is there
// with the module's shape; otherwise names the first missing or mis-shaped entry and both shapes.
// Then refuses non-finite values (refuse_non_finite).
void load_weights_checked(torch::nn::Module& module, torch::serialize::InputArchive& archive, const std::string& what,
                          const std::string& fits);

// A tensor's shape as "[a, b, c]", for messages.
std::string shape_text(const torch::Tensor& t);

// Whether the archive has an entry `key` (of any kind); never throws.
bool has_entry(torch::serialize::InputArchive& archive, const std::string& key);

// Typed reads of plain values: a missing entry or one of another type is a one-line error.
int64_t read_int(torch::serialize::InputArchive& archive, const std::string& key, const std::string& what);
double read_double(torch::serialize::InputArchive& archive, const std::string& key, const std::string& what);
std::string read_string(torch::serialize::InputArchive& archive, const std::string& key, const std::string& what);

}  // namespace kdprune::train
