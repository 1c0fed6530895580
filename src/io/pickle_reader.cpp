// The data-only unpickler's driver and the values it builds (containers, globals, REDUCE, text);
// the opcodes themselves are in pickle_opcodes.cpp.
#include "kdprune/io/pickle.h"

#include <exception>
#include <string>
#include <vector>

#include "kdprune/util/error.h"
#include "pickle_machine.h"

namespace kdprune::io::pickle {
namespace detail {

Document Machine::run() {
  for (;;) {
    if (at_ >= n_) fail("no STOP opcode (truncated?)");
    op_at_ = at_;
    const unsigned char op = p_[at_++];
    if (op == '.') break;
    step(op);
  }
  if (stack_.size() != 1 || !marks_.empty()) fail("the pickle does not end with exactly one value");
  doc_.root = stack_.back();
  doc_.end = at_;
  return std::move(doc_);
}

void Machine::append(Value* list, const std::vector<Value*>& items) {
  if (list->kind != Kind::List && list->kind != Kind::Object) fail(std::string("APPEND to a ") + list->kind_name());
  list->items.insert(list->items.end(), items.begin(), items.end());
}

void Machine::set_items(Value* dict, const std::vector<Value*>& kv) {
  if (dict->kind != Kind::Dict && dict->kind != Kind::Object) fail(std::string("SETITEM on a ") + dict->kind_name());
  if (kv.size() % 2) fail("SETITEMS with an odd number of values");
  for (size_t i = 0; i < kv.size(); i += 2) {
    bool replaced = false;
    if (kv[i]->kind == Kind::String)
      for (auto& [k, v] : dict->pairs)
        if (k->kind == Kind::String && k->text == kv[i]->text) v = kv[i + 1], replaced = true;
    if (!replaced) dict->pairs.emplace_back(kv[i], kv[i + 1]);
  }
}

Value* Machine::global(std::string module, const std::string& name) {
  // Python 2 pickles (torchvision's CIFAR files) name the Python 3 modules differently.
  if (module == "__builtin__") module = "builtins";
  if (module == "copy_reg") module = "copyreg";
  return make_text(Kind::Global, module + "." + name);
}

Value* Machine::reduce(Value* f, Value* args) {
  if (args->kind != Kind::Tuple) fail(std::string("REDUCE with ") + args->kind_name() + " arguments");
  const std::string name = f->kind == Kind::Global ? f->text : "";
  if (name == "collections.OrderedDict" || name == "builtins.dict") {
    Value* d = make(Kind::Dict);
    if (!args->items.empty() && args->items[0]->kind == Kind::List)
      for (Value* pair : args->items[0]->items)
        if (pair->kind == Kind::Tuple && pair->items.size() == 2) set_items(d, pair->items);
    return d;
  }
  if (name == "builtins.set" || name == "builtins.frozenset" || name == "builtins.list") {
    Value* l = make(Kind::List);
    if (!args->items.empty() && (args->items[0]->kind == Kind::List || args->items[0]->kind == Kind::Tuple))
      l->items = args->items[0]->items;
    return l;
  }
  if (name == "_codecs.encode" && args->items.size() == 2 && args->items[0]->kind == Kind::String) {
    // Python 3 writes bytes as _codecs.encode(text, 'latin1') under protocol 2.
    return make_text(Kind::Bytes, latin1(args->items[0]->text));
  }
  Value* o = make(Kind::Object);
  o->callable = f;
  o->args = args;
  return o;
}

std::string Machine::latin1(const std::string& utf8) {
  std::string out;
  out.reserve(utf8.size());
  for (size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if ((c == 0xC2 || c == 0xC3) && i + 1 < utf8.size()) {
      out.push_back(static_cast<char>(((c & 0x03) << 6) | (static_cast<unsigned char>(utf8[++i]) & 0x3F)));
    } else {
      fail("_codecs.encode of text that is not latin-1");
    }
  }
  return out;
}

int64_t Machine::text_int(std::string s) {
  if (!s.empty() && s.back() == 'L') s.pop_back();
  try {
    size_t used = 0;
    const long long v = std::stoll(s, &used);
    if (used != s.size()) fail("malformed integer '" + s.substr(0, 40) + "'");
    return v;
  } catch (const std::exception&) {
    fail("malformed or too large integer '" + s.substr(0, 40) + "'");
  }
}

std::string Machine::unquote(const std::string& s) {
  if (s.size() < 2 || (s[0] != '\'' && s[0] != '"') || s.back() != s[0]) fail("malformed STRING");
  std::string out;
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    if (s[i] != '\\') {
      out.push_back(s[i]);
      continue;
    }
    if (++i + 1 > s.size() - 1) fail("malformed STRING escape");
    const char e = s[i];
    if (e == 'n') out.push_back('\n');
    else if (e == 't') out.push_back('\t');
    else if (e == 'r') out.push_back('\r');
    else if (e == 'x' && i + 2 < s.size() - 1) out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16))), i += 2;
    else out.push_back(e);
  }
  return out;
}

}  // namespace detail

Document parse(const unsigned char* data, size_t size, const std::string& what, size_t offset) {
  if (offset > size) throw Error(what + ": pickle offset beyond the data");
  return detail::Machine(data, size, what, offset).run();
}

}  // namespace kdprune::io::pickle
