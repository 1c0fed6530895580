#include "kdprune/train/archive.h"

#include <filesystem>
#include <set>
#include <sstream>

#include "kdprune/io/atomic_file.h"
#include "kdprune/io/zip_check.h"
#include "kdprune/util/error.h"

namespace kdprune::train {
namespace {

// LibTorch throws c10::Error and, from its TorchScript reader, torch::jit::ErrorReport (a plain
// std::exception): both become one line.
std::string first_line(const std::exception& e) {
  const auto* c10 = dynamic_cast<const c10::Error*>(&e);
  std::string s = c10 ? c10->what_without_backtrace() : e.what();
  const size_t start = s.find_first_not_of(" \n");
  s = start == std::string::npos ? std::string() : s.substr(start);
  return s.substr(0, std::min(s.find('\n'), size_t{200}));
}

// Checks one module level and recurses into its children, as Module::load walks them.
void check(torch::nn::Module& m, torch::serialize::InputArchive& a, const std::string& prefix, const std::string& what,
           const std::string& fits) {
  auto one = [&](const std::string& key, const torch::Tensor& want, bool buffer) {
    torch::Tensor have;
    if (!a.try_read(key, have, buffer))
      throw Error(what + ": no entry '" + prefix + key + "' (expected " + shape_text(want) + " for " + fits + ")");
    if (have.sizes() != want.sizes())
      throw Error(what + ": '" + prefix + key + "' has shape " + shape_text(have) + " in the file, but " + fits + " needs " +
                  shape_text(want));
  };
  std::set<std::string> known;
  for (const auto& p : m.named_parameters(false)) one(p.key(), p.value(), false), known.insert(p.key());
  for (const auto& b : m.named_buffers(false)) one(b.key(), b.value(), true), known.insert(b.key());
  for (const auto& c : m.named_children()) {
    torch::serialize::InputArchive child;
    if (!a.try_read(c.key(), child)) throw Error(what + ": no entry '" + prefix + c.key() + "' (a submodule of " + fits + ")");
    check(*c.value(), child, prefix + c.key() + ".", what, fits);
    known.insert(c.key());
  }
  // Entries the module lacks: a deeper network of the same family passes every check above (its
  // first layers have the same shapes) and failed later, inside the optimizer's state.
  for (const auto& key : a.keys()) {
    const bool metadata = prefix.empty() && key.rfind("kdprune_", 0) == 0;  // model.pt's own entries
    if (!known.count(key) && !metadata)
      throw Error(what + ": entry '" + prefix + key + "' is not part of " + fits + " (the file of another architecture?)");
  }
}

}  // namespace

std::string shape_text(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

torch::serialize::InputArchive read_archive(const std::string& path, const std::string& what, const torch::Device& device) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(what + ": not found (or not a regular file)");
  io::verify_zip_crcs(path, what);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path, device);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(what + ": damaged, or not a LibTorch archive (" + first_line(e) + ")");
  }
  return archive;
}

void write_archive(torch::serialize::OutputArchive& archive, const std::string& path) {
  std::ostringstream bytes;
  try {
    archive.save_to(bytes);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("cannot write '" + path + "': " + first_line(e));
  }
  io::write_file_atomic(path, bytes.str());
}

void refuse_non_finite(const torch::nn::Module& module, const std::string& what) {
  auto check_all = [&](const auto& named) {
    for (const auto& item : named) {
      const torch::Tensor& t = item.value();
      if (!t.defined() || !t.is_floating_point()) continue;
      if (!torch::isfinite(t).all().item<bool>())
        throw Error(what + ": tensor '" + item.key() + "' holds NaN or infinite values (a diverged run, or a damaged " +
                    "file); refusing to use it");
    }
  };
  check_all(module.named_parameters());
  check_all(module.named_buffers());
}

void load_weights_checked(torch::nn::Module& module, torch::serialize::InputArchive& archive, const std::string& what,
                          const std::string& fits) {
  try {
    check(module, archive, "", what, fits);
    module.load(archive);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(what + ": weights do not load into " + fits + " (" + first_line(e) + ")");
  }
  refuse_non_finite(module, what);
}

namespace {
c10::IValue read_value(torch::serialize::InputArchive& a, const std::string& key, const std::string& what) {
  c10::IValue v;
  bool found = false;
  try {
    found = a.try_read(key, v);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(what + ": entry '" + key + "' is unreadable (" + first_line(e) + ")");
  }
  if (!found) throw Error(what + ": no '" + key + "' entry");
  return v;
}
}  // namespace

bool has_entry(torch::serialize::InputArchive& a, const std::string& key) {
  try {
    c10::IValue v;
    return a.try_read(key, v);
  } catch (const std::exception&) {
    return false;
  }
}

int64_t read_int(torch::serialize::InputArchive& a, const std::string& key, const std::string& what) {
  const auto v = read_value(a, key, what);
  if (!v.isInt()) throw Error(what + ": entry '" + key + "' is a " + v.tagKind() + ", expected an integer");
  return v.toInt();
}

double read_double(torch::serialize::InputArchive& a, const std::string& key, const std::string& what) {
  const auto v = read_value(a, key, what);
  if (!v.isDouble()) throw Error(what + ": entry '" + key + "' is a " + v.tagKind() + ", expected a number");
  return v.toDouble();
}

std::string read_string(torch::serialize::InputArchive& a, const std::string& key, const std::string& what) {
  const auto v = read_value(a, key, what);
  if (!v.isString()) throw Error(what + ": entry '" + key + "' is a " + v.tagKind() + ", expected a string");
  return v.toStringRef();
}

}  // namespace kdprune::train
