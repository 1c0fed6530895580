#include "kdprune/io/zip_check.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "kdprune/io/zip_reader.h"
#include "kdprune/util/error.h"

namespace kdprune::io {
namespace {

uint64_t le(const unsigned char* p, int bytes) { return read_le(p, bytes); }

// LibTorch's unpickler allocates the length a string or bytes opcode claims before it reads the
// bytes (found by fuzzing: a 4 GiB string in data.pkl). Walks the opcodes of a pickle and returns
// "" if every length fits in what is left, else what is wrong.
std::string check_pickle_lengths(const std::vector<unsigned char>& p) {
  size_t i = 0;
  auto left = [&] { return p.size() - i; };
  auto need = [&](uint64_t n) { return n <= left(); };
  while (i < p.size()) {
    const unsigned char op = p[i++];
    uint64_t len = 0;
    switch (op) {
      case '.': return "";  // STOP
      // no argument
      case '(': case '0': case '1': case '2': case 'N': case ')': case ']': case '}': case 'a': case 'e': case 's':
      case 'u': case 'b': case 'R': case 't': case 'l': case 'd': case 'o': case 0x85: case 0x86: case 0x87: case 0x88:
      case 0x89: case 0x81: case 0x92: case 0x93: case 0x94: case 'Q': case 0x8f: case 0x90: case 0x91: case 0x97:
      case 0x98:
        break;
      case 'K': case 'q': case 'h': case 0x80: case 0x82: i += 1; break;
      case 'M': case 0x83: i += 2; break;
      case 'J': case 'j': case 0x84: i += 4; break;
      case 'r':  // LONG_BINPUT: LibTorch's unpickler grows its memo table to the index it names
        // (found by fuzzing: 25 GB); a pickler's indices count the objects before, fewer than the bytes.
        if (!need(4)) return "truncated pickle";
        if (le(&p[i], 4) > p.size())
          return "a pickle memo index of " + std::to_string(le(&p[i], 4)) + " in a record of " + std::to_string(p.size()) + " bytes";
        i += 4;
        break;
      case 'G': case 0x95: i += 8; break;
      case 'C': case 'U': case 0x8c: case 0x8a:  // 1-byte length, then the bytes
        if (!need(1)) return "truncated pickle";
        len = p[i], i += 1;
        if (!need(len)) return "a pickle string of " + std::to_string(len) + " bytes runs past the end of its record";
        i += len;
        break;
      case 'T': case 'X': case 'B': case 0x8b:  // 4-byte length
        if (!need(4)) return "truncated pickle";
        len = le(&p[i], 4), i += 4;
        if (!need(len)) return "a pickle string of " + std::to_string(len) + " bytes runs past the end of its record";
        i += len;
        break;
      case 0x8d: case 0x8e: case 0x96:  // 8-byte length
        if (!need(8)) return "truncated pickle";
        len = le(&p[i], 8), i += 8;
        if (!need(len)) return "a pickle string of " + std::to_string(len) + " bytes runs past the end of its record";
        i += len;
        break;
      case 'I': case 'L': case 'F': case 'S': case 'V': case 'P': case 'g': case 'p': case 'c': case 'i': {
        if (op == 'p') {  // PUT: the memo index in decimal, bounded as LONG_BINPUT's
          size_t j = i;
          uint64_t index = 0;
          while (j < p.size() && p[j] >= '0' && p[j] <= '9' && index <= p.size()) index = index * 10 + (p[j++] - '0');
          if (index > p.size())
            return "a pickle memo index past what a record of " + std::to_string(p.size()) + " bytes can hold";
        }
        const int lines = op == 'c' || op == 'i' ? 2 : 1;
        for (int k = 0; k < lines; ++k) {
          while (i < p.size() && p[i] != '\n') ++i;
          if (i == p.size()) return "truncated pickle";
          ++i;
        }
        break;
      }
      default: return "unknown pickle opcode " + std::to_string(op);
    }
    if (i > p.size()) return "truncated pickle";
  }
  return "a pickle without its STOP opcode";
}

}  // namespace

void verify_zip_crcs(const std::string& path, const std::string& what) {
  ZipReader zip(path, what);
  for (const ZipEntry& e : zip.entries()) {
    const bool pickle = e.name.size() > 4 && e.name.compare(e.name.size() - 4, 4, ".pkl") == 0 && e.size <= (64u << 20);
    if (!pickle) {
      zip.verify(e);
      continue;
    }
    if (const std::string bad = check_pickle_lengths(zip.read(e)); !bad.empty()) zip.fail("record '" + e.name + "': " + bad);
  }
}

}  // namespace kdprune::io
