// The unpickler's opcodes: Machine::step carries out one opcode (the state is in pickle_machine.h).
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "pickle_machine.h"

namespace kdprune::io::pickle::detail {
namespace {

uint64_t le(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Protocol 0's UNICODE line is Python's raw-unicode-escape: \uXXXX and \UXXXXXXXX escapes, every
// other byte a code point of its own (latin-1), which is how numpy's bytes travel through
// _codecs.encode(text, 'latin1'). Returned as UTF-8, like the other text opcodes.
std::string raw_unicode_escape(const std::string& line) {
  auto hex = [&](size_t at, size_t n, uint32_t& v) {
    if (at + n > line.size()) return false;
    v = 0;
    for (size_t k = at; k < at + n; ++k) {
      const char c = line[k];
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) return false;
      v = v * 16 + static_cast<uint32_t>(d);
    }
    return true;
  };
  std::string out;
  out.reserve(line.size());
  for (size_t i = 0; i < line.size(); ++i) {
    uint32_t cp = static_cast<unsigned char>(line[i]);
    if (line[i] == '\\' && i + 1 < line.size() && (line[i + 1] == 'u' || line[i + 1] == 'U')) {
      const size_t n = line[i + 1] == 'u' ? 4 : 8;
      uint32_t v = 0;
      if (hex(i + 2, n, v) && v <= 0x10FFFF) cp = v, i += 1 + n;
    }
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  return out;
}

}  // namespace

void Machine::step(unsigned char op) {
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
    case 'V': push(make_text(Kind::String, raw_unicode_escape(line()))); break;  // protocol 0 text
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

}  // namespace kdprune::io::pickle::detail
