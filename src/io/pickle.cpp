#include "kdprune/io/pickle.h"

#include <cstring>
#include <unordered_map>

#include "kdprune/util/error.h"

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

namespace {

constexpr size_t kMaxValues = size_t{1} << 22;  // bounds memory on hostile input (~0.5 GB)

uint64_t le(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

class Machine {
 public:
  Machine(const unsigned char* data, size_t size, const std::string& what, size_t offset)
      : p_(data), n_(size), at_(offset), what_(what) {}

  Document run() {
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
  void append(Value* list, const std::vector<Value*>& items) {
    if (list->kind != Kind::List && list->kind != Kind::Object) fail(std::string("APPEND to a ") + list->kind_name());
    list->items.insert(list->items.end(), items.begin(), items.end());
  }
  void set_items(Value* dict, const std::vector<Value*>& kv) {
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
  Value* global(std::string module, const std::string& name) {
    // Python 2 pickles (torchvision's CIFAR files) name the Python 3 modules differently.
    if (module == "__builtin__") module = "builtins";
    if (module == "copy_reg") module = "copyreg";
    return make_text(Kind::Global, module + "." + name);
  }
  // Python's REDUCE calls `f(*args)`. Only containers and byte strings are made here; any other
  // global becomes an Object for the caller to interpret.
  Value* reduce(Value* f, Value* args) {
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
  // UTF-8 text whose code points are all < 256, back to those bytes.
  std::string latin1(const std::string& utf8) {
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
  int64_t text_int(std::string s) {
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
  // Protocol 0 STRING: a quoted Python literal with backslash escapes.
  std::string unquote(const std::string& s) {
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

  void step(unsigned char op) {
    switch (op) {
      case 0x80: take(1); break;  // PROTO
      case 0x95: take(8); break;  // FRAME: a length hint only
      case '(': marks_.push_back(stack_.size()); break;
      case '0': pop(); break;
      case '1': pop_mark(); break;
      case '2': push(top()); break;
      case 'N': push(make(Kind::None)); break;
      case 0x88: case 0x89: {
        Value* b = make(Kind::Bool);
        b->boolean = op == 0x88;
        push(b);
        break;
      }
      case 'I': {
        const std::string s = line();
        if (s == "01" || s == "00") {
          Value* b = make(Kind::Bool);
          b->boolean = s == "01";
          push(b);
        } else {
          push(make_int(text_int(s)));
        }
        break;
      }
      case 'L': push(make_int(text_int(line()))); break;
      case 'J': push(make_int(static_cast<int32_t>(le(take(4), 4)))); break;
      case 'K': push(make_int(*take(1))); break;
      case 'M': push(make_int(static_cast<int64_t>(le(take(2), 2)))); break;
      case 0x8a: case 0x8b: {  // LONG1, LONG4: little-endian two's complement
        const uint64_t k = op == 0x8a ? *take(1) : le(take(4), 4);
        if (k > 8) fail("an integer wider than 64 bits");
        const unsigned char* b = take(k);
        uint64_t v = k ? le(b, static_cast<int>(k)) : 0;
        if (k > 0 && k < 8 && (b[k - 1] & 0x80)) v |= ~uint64_t{0} << (8 * k);  // sign-extend
        push(make_int(static_cast<int64_t>(v)));
        break;
      }
      case 'F': {
        const std::string s = line();
        try {
          Value* f = make(Kind::Float);
          f->real = std::stod(s);
          push(f);
        } catch (const std::exception&) {
          fail("malformed float '" + s.substr(0, 40) + "'");
        }
        break;
      }
      case 'G': {  // BINFLOAT: big-endian double
        const unsigned char* b = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | b[i];
        Value* f = make(Kind::Float);
        std::memcpy(&f->real, &bits, 8);
        push(f);
        break;
      }
      case 'S': push(make_text(Kind::Bytes, unquote(line()))); break;
      case 'T': case 'U': case 'B': case 'C': case 0x8e: case 0x96: {  // byte strings (Python 2 str, bytes, bytearray)
        const int w = op == 'U' || op == 'C' ? 1 : op == 'T' || op == 'B' ? 4 : 8;
        const uint64_t k = le(take(static_cast<uint64_t>(w)), w);
        if (op == 'T' && k >= (uint64_t{1} << 31)) fail("negative BINSTRING length");
        const unsigned char* b = take(k);
        push(make_text(Kind::Bytes, std::string(reinterpret_cast<const char*>(b), k)));
        break;
      }
      case 'V': push(make_text(Kind::String, line())); break;
      case 'X': case 0x8c: case 0x8d: {
        const int w = op == 0x8c ? 1 : op == 'X' ? 4 : 8;
        const uint64_t k = le(take(static_cast<uint64_t>(w)), w);
        const unsigned char* b = take(k);
        push(make_text(Kind::String, std::string(reinterpret_cast<const char*>(b), k)));
        break;
      }
      case ']': push(make(Kind::List)); break;
      case 'l': {
        Value* l = make(Kind::List);
        l->items = pop_mark();
        push(l);
        break;
      }
      case 'a': {
        Value* v = pop();
        append(top(), {v});
        break;
      }
      case 'e': case 0x90: {  // APPENDS, ADDITEMS
        auto items = pop_mark();
        append(top(), items);
        break;
      }
      case 0x8f: push(make(Kind::List)); break;  // EMPTY_SET
      case 0x91: {                                // FROZENSET
        Value* l = make(Kind::List);
        l->items = pop_mark();
        push(l);
        break;
      }
      case ')': push(tuple({})); break;
      case 't': push(tuple(pop_mark())); break;
      case 0x85: case 0x86: case 0x87: {
        std::vector<Value*> items(static_cast<size_t>(op - 0x84));
        for (size_t i = items.size(); i-- > 0;) items[i] = pop();
        push(tuple(std::move(items)));
        break;
      }
      case '}': push(make(Kind::Dict)); break;
      case 'd': {
        Value* d = make(Kind::Dict);
        set_items(d, pop_mark());
        push(d);
        break;
      }
      case 's': {
        Value* v = pop();
        Value* k = pop();
        set_items(top(), {k, v});
        break;
      }
      case 'u': {
        auto kv = pop_mark();
        set_items(top(), kv);
        break;
      }
      case 'c': {
        std::string module = line();
        push(global(std::move(module), line()));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        Value* name = pop();
        Value* module = pop();
        if (module->kind != Kind::String || name->kind != Kind::String) fail("STACK_GLOBAL of non-strings");
        push(global(module->text, name->text));
        break;
      }
      case 'R': {
        Value* args = pop();
        Value* f = pop();
        push(reduce(f, args));
        break;
      }
      case 0x81: case 0x92: {  // NEWOBJ, NEWOBJ_EX (kwargs dropped)
        if (op == 0x92) pop();
        Value* args = pop();
        Value* cls = pop();
        Value* o = make(Kind::Object);
        o->callable = cls, o->args = args;
        push(o);
        break;
      }
      case 'i': {  // INST module\nname\n with the arguments since MARK
        std::string module = line();
        Value* cls = global(std::move(module), line());
        Value* o = make(Kind::Object);
        o->callable = cls, o->args = tuple(pop_mark());
        push(o);
        break;
      }
      case 'o': {  // OBJ: class and arguments since MARK
        auto items = pop_mark();
        if (items.empty()) fail("OBJ without a class");
        Value* o = make(Kind::Object);
        o->callable = items[0];
        o->args = tuple(std::vector<Value*>(items.begin() + 1, items.end()));
        push(o);
        break;
      }
      case 'b': {
        Value* state = pop();
        Value* target = top();
        if (target->kind != Kind::Object && target->kind != Kind::Dict) fail(std::string("BUILD on a ") + target->kind_name());
        target->state = state;
        break;
      }
      case 'P': case 'Q': {
        Value* p = make(Kind::Persistent);
        p->args = op == 'P' ? make_text(Kind::String, line()) : pop();
        push(p);
        break;
      }
      case 'p': memo_put(static_cast<uint64_t>(text_int(line()))); break;
      case 'q': memo_put(*take(1)); break;
      case 'r': memo_put(le(take(4), 4)); break;
      case 0x94: memo_put(memo_.size()); break;
      case 'g': memo_get(static_cast<uint64_t>(text_int(line()))); break;
      case 'h': memo_get(*take(1)); break;
      case 'j': memo_get(le(take(4), 4)); break;
      default:
        fail("unsupported pickle opcode 0x" + std::string(1, "0123456789abcdef"[op >> 4]) +
             std::string(1, "0123456789abcdef"[op & 15]));
    }
  }

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

}  // namespace

Document parse(const unsigned char* data, size_t size, const std::string& what, size_t offset) {
  if (offset > size) throw Error(what + ": pickle offset beyond the data");
  return Machine(data, size, what, offset).run();
}

}  // namespace kdprune::io::pickle
