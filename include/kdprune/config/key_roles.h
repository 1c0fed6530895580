#pragma once
// What each config key is to a stage of `kdprune run`, declared once per key in the schema
// (src/config/schema.h). The stage fingerprint, the rules for which students may train together,
// and the key table of docs/config.md are all derived from these roles.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "kdprune/config/config.h"

namespace kdprune {

namespace key_role {
// Bits; a key with none of them is an identity key of the shared kind: it changes what a stage
// computes, and every student of one group has the same value.
inline constexpr unsigned run_only = 1u << 0;     // how or where a stage runs, not what it computes
                                                  // (threads, logging, checkpoint cadence): never in
                                                  // a fingerprint
inline constexpr unsigned path = 1u << 1;         // names a file or folder: a fingerprint holds what
                                                  // it names (the producing stage, the file's
                                                  // content), never how the path is spelled
inline constexpr unsigned per_student = 1u << 2;  // each student of a group sets its own
inline constexpr unsigned view = 1u << 3;         // chooses the training view out of the dataset
                                                  // (fraction, subset, split): may differ in a group
}  // namespace key_role

struct KeyInfo {
  std::string key;     // dotted, e.g. "train.epochs"
  unsigned roles = 0;  // key_role bits (a section's bits included)
};

// Every key of the schema, in schema order.
const std::vector<KeyInfo>& key_table();
// The roles of a dotted key (0 for an unknown one).
unsigned key_roles(const std::string& dotted);
// Sets every key of `to` that has any of the `roles` bits to its value in `from`.
void copy_keys(Config& to, const Config& from, unsigned roles);
// Every string key with the path role: the member of `c` and its dotted name, in schema order
// (run.root first, so the others may name it as ${run.root}).
std::vector<std::pair<std::string*, std::string>> path_members(Config& c);
// Passes every string key with the path role through `map(key, value)`.
void map_paths(Config& c, const std::function<std::string(const std::string& key, const std::string& value)>& map);

}  // namespace kdprune
