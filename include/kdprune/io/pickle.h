#pragma once
// A Python pickle reader for data, not code: it builds a tree of values and never calls anything.
// A global (`module.name`) applied to arguments (REDUCE, NEWOBJ) becomes an Object that records the
// global, its arguments and its BUILD state, so callers interpret exactly the objects they expect
// (torch's tensor rebuild, numpy's ndarray) and carry others (numpy scalars, argparse Namespaces)
// without understanding them. Used for torch.save files and torchvision's CIFAR pickles.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kdprune::io::pickle {

enum class Kind { None, Bool, Int, Float, String, Bytes, List, Tuple, Dict, Global, Object, Persistent, Mark };

struct Value {
  Kind kind = Kind::None;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0;
  std::string text;                                   // String (UTF-8), Bytes, Global ("module.name")
  std::vector<Value*> items;                          // List, Tuple (sets become Lists)
  std::vector<std::pair<Value*, Value*>> pairs;       // Dict, in insertion order
  Value* callable = nullptr;                          // Object: the global that made it
  Value* args = nullptr;                              // Object: its arguments; Persistent: the persistent id
  Value* state = nullptr;                             // Object, Dict: BUILD's argument

  // The value under string (or Python 2 byte-string) key `key` of a Dict, or nullptr.
  const Value* get(std::string_view key) const;
  // Whether this is an Object made by the global `name` (e.g. "torch._utils._rebuild_tensor_v2").
  bool made_by(std::string_view name) const;
  const char* kind_name() const;
};

struct Document {
  const Value* root = nullptr;
  size_t end = 0;  // the offset just after the STOP opcode
  std::deque<Value> values;  // owns every value (references may form cycles)
};

// Parses the pickle that starts at `offset`. Throws kdprune::Error "<what>: <why> (at byte N)" for
// anything malformed or outside the subset understood (out-of-band buffers, extension codes).
Document parse(const unsigned char* data, size_t size, const std::string& what, size_t offset = 0);

}  // namespace kdprune::io::pickle
