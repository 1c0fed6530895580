// The value tree of a parsed pickle: lookups by key, the global that made an Object, kind names.
#include "kdprune/io/pickle.h"

namespace kdprune::io::pickle {

const Value* Value::get(std::string_view key) const {
  if (kind != Kind::Dict) return nullptr;
  for (const auto& [k, v] : pairs)  // Python 2 pickles' str keys arrive as bytes
    if ((k->kind == Kind::String || k->kind == Kind::Bytes) && k->text == key) return v;
  return nullptr;
}

bool Value::made_by(std::string_view name) const {
  return kind == Kind::Object && callable && callable->kind == Kind::Global && callable->text == name;
}

const char* Value::kind_name() const {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::List: return "list";
    case Kind::Tuple: return "tuple";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::Object: return "object";
    case Kind::Persistent: return "persistent id";
    case Kind::Mark: return "mark";
  }
  return "?";
}

}  // namespace kdprune::io::pickle
