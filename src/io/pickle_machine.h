#pragma once
// The unpickler's state: its stack, marks, memo and the values it owns. pickle_reader.cpp runs it
// and builds values (containers, globals, REDUCE); pickle_opcodes.cpp carries out each opcode.
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kdprune/io/pickle.h"
#include "kdprune/util/error.h"

namespace kdprune::io::pickle::detail {

inline constexpr size_t kMaxValues = size_t{1} << 22;  // bounds memory on hostile input (~0.5 GB)

class Machine {
 public:
  Machine(const unsigned char* data, size_t size, const std::string& what, size_t offset)
      : p_(data), n_(size), at_(offset), what_(what) {}

  Document run();

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw Error(what_ + ": " + why + " (pickle byte " + std::to_string(op_at_) + ")");
  }
  const unsigned char* take(uint64_t k) {
    if (k > n_ - at_) fail("truncated pickle (an argument runs past the end)");
    const unsigned char* q = p_ + at_;
    at_ += k;
    return q;
  }
  std::string line() {
    const size_t start = at_;
    while (at_ < n_ && p_[at_] != '\n') ++at_;
    if (at_ == n_) fail("truncated pickle (no end of line)");
    return std::string(reinterpret_cast<const char*>(p_ + start), at_++ - start);
  }
  Value* make(Kind k) {
    if (doc_.values.size() >= kMaxValues) fail("more values than a checkpoint or dataset pickle holds");
    doc_.values.emplace_back();
    doc_.values.back().kind = k;
    return &doc_.values.back();
  }
  Value* make_int(int64_t v) {
    Value* x = make(Kind::Int);
    x->integer = v;
    return x;
  }
  Value* make_text(Kind k, std::string s) {
    Value* x = make(k);
    x->text = std::move(s);
    return x;
  }
  void push(Value* v) { stack_.push_back(v); }
  Value* pop() {
    if (stack_.size() <= floor()) fail("stack underflow");
    Value* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Value* top() {
    if (stack_.size() <= floor()) fail("stack underflow");
    return stack_.back();
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<Value*> pop_mark() {
    if (marks_.empty()) fail("no MARK for an opcode that needs one");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Value*> out(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return out;
  }
  Value* tuple(std::vector<Value*> items) {
    Value* t = make(Kind::Tuple);
    t->items = std::move(items);
    return t;
  }
  void memo_put(uint64_t key) { memo_[key] = top(); }
  void memo_get(uint64_t key) {
    const auto it = memo_.find(key);
    if (it == memo_.end()) fail("memo key " + std::to_string(key) + " was never stored");
    push(it->second);
  }
  void append(Value* list, const std::vector<Value*>& items);
  void set_items(Value* dict, const std::vector<Value*>& kv);
  Value* global(std::string module, const std::string& name);
  // Python's REDUCE calls `f(*args)`. Only containers and byte strings are made here; any other
  // global becomes an Object for the caller to interpret.
  Value* reduce(Value* f, Value* args);
  // UTF-8 text whose code points are all < 256, back to those bytes.
  std::string latin1(const std::string& utf8);
  int64_t text_int(std::string s);
  // Protocol 0 STRING: a quoted Python literal with backslash escapes.
  std::string unquote(const std::string& s);
  void step(unsigned char op);  // pickle_opcodes.cpp

  const unsigned char* p_;
  size_t n_;
  size_t at_;
  size_t op_at_ = 0;
  std::string what_;
  std::vector<Value*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Value*> memo_;
  Document doc_;
};

}  // namespace kdprune::io::pickle::detail
