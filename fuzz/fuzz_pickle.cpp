// libFuzzer harness: the data-only pickle reader (src/io/pickle_*.cpp) and the CIFAR python-version
// reader on top of it (src/data/readers/cifar_pickle.cpp).
//
// Input: byte 0 is the mode, the rest one file.
//   mode % 3 == 0: read_cifar_pickle({file}, "labels", 10)   (a CIFAR-10 batch)
//   mode % 3 == 1: read_cifar_pickle_names(file, "label_names")  (batches.meta)
//   mode % 3 == 2: io::pickle::parse of the bytes, then a walk of the values it returns
#include <cstdint>
#include <set>
#include <string>

#include "../src/data/readers/readers.h"
#include "fuzz_common.h"
#include "kdprune/io/pickle.h"
#include "kdprune/util/error.h"

using namespace kdprune;
using io::pickle::Kind;
using io::pickle::Value;

namespace {

// Every reference the parser hands out points into the document's own values (cycles allowed).
void walk(const Value* v, const io::pickle::Document& doc, std::set<const Value*>& seen) {
  if (!v || !seen.insert(v).second) return;
  bool owned = false;
  for (const Value& x : doc.values) owned = owned || &x == v;
  FUZZ_CHECK(owned, "a value outside the document");
  FUZZ_CHECK(v->kind != Kind::Mark, "a MARK left in the result");
  for (const Value* x : v->items) walk(x, doc, seen);
  for (const auto& [k, x] : v->pairs) walk(k, doc, seen), walk(x, doc, seen);
  walk(v->callable, doc, seen), walk(v->args, doc, seen), walk(v->state, doc, seen);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  kdprune_fuzz::scratch_dir("pickle");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const unsigned mode = data[0] % 3;
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (mode == 0) {
      const data::ImageSplit s = data::read_cifar_pickle({kdprune_fuzz::write_file("data_batch_1", bytes)}, "labels", 10);
      FUZZ_CHECK(s.c == 3 && s.h == 32 && s.w == 32, "CIFAR images are 3x32x32");
      FUZZ_CHECK(s.labels.size() == static_cast<size_t>(s.n), "label count != n");
      FUZZ_CHECK(s.images.size() == static_cast<size_t>(s.n) * 3072, "image bytes != n*3072");
      for (int64_t y : s.labels) FUZZ_CHECK(y >= 0 && y < 10, "label out of range");
      kdprune_fuzz::accepted("read_cifar_pickle: " + std::to_string(s.n) + " images");
    } else if (mode == 1) {
      const auto names = data::read_cifar_pickle_names(kdprune_fuzz::write_file("batches.meta", bytes), "label_names");
      kdprune_fuzz::accepted("read_cifar_pickle_names: " + std::to_string(names.size()));
    } else {
      const auto doc = io::pickle::parse(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), "fuzz");
      FUZZ_CHECK(doc.end <= bytes.size(), "end beyond the input");
      if (doc.values.size() <= 2000) {  // the ownership walk is quadratic
        std::set<const Value*> seen;
        walk(doc.root, doc, seen);
      }
      kdprune_fuzz::accepted(std::string("parse: a ") + doc.root->kind_name());
    }
  } catch (const Error& e) {
    kdprune_fuzz::refused(e);
  }
  return 0;
}
