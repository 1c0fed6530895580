#include "kdprune/train/torch_save.h"

#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include "kdprune/io/atomic_file.h"
#include "kdprune/io/pickle.h"
#include "kdprune/io/zip_reader.h"
#include "kdprune/util/error.h"

namespace kdprune::train {
namespace {

using io::pickle::Kind;
using io::pickle::Value;

// The legacy format (torch < 1.6) begins with this pickled magic number (an 80-bit integer).
constexpr unsigned char kLegacyMagic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                          0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};

bool is_global_storage(const std::string& name, torch::ScalarType* type) {
  static const std::map<std::string, torch::ScalarType> types = {
      {"FloatStorage", torch::kFloat32}, {"DoubleStorage", torch::kFloat64}, {"HalfStorage", torch::kFloat16},
      {"BFloat16Storage", torch::kBFloat16}, {"LongStorage", torch::kInt64}, {"IntStorage", torch::kInt32},
      {"ShortStorage", torch::kInt16}, {"CharStorage", torch::kInt8}, {"ByteStorage", torch::kUInt8},
      {"BoolStorage", torch::kBool}};
  std::string n = name;
  for (const char* prefix : {"torch.cuda.", "torch."})
    if (n.rfind(prefix, 0) == 0) {
      n = n.substr(std::strlen(prefix));
      break;
    }
  const auto it = types.find(n);
  if (it == types.end()) return false;
  *type = it->second;
  return true;
}

struct StorageRef {
  std::string key;
  torch::ScalarType type;
  int64_t numel;
};

class Rebuilder {
 public:
  // `load` returns a 1-D tensor of the storage's elements.
  Rebuilder(std::string what, std::function<torch::Tensor(const StorageRef&)> load)
      : what_(std::move(what)), load_(std::move(load)) {}

  [[noreturn]] void fail(const std::string& why) const { throw Error(what_ + ": " + why); }

  static StorageRef storage_ref(const Value* pid, const std::string& what) {
    const auto bad = [&] { return Error(what + ": a tensor storage reference this reader does not understand"); };
    if (!pid || pid->kind != Kind::Tuple || pid->items.size() < 5) throw bad();
    const auto& it = pid->items;
    if (it[0]->kind != Kind::String || it[0]->text != "storage" || it[1]->kind != Kind::Global ||
        it[2]->kind != Kind::String || it[4]->kind != Kind::Int || it[4]->integer < 0)
      throw bad();
    StorageRef ref{it[2]->text, torch::kFloat32, it[4]->integer};
    if (!is_global_storage(it[1]->text, &ref.type))
      throw Error(what + ": tensor storage of type " + it[1]->text + " is not supported");
    return ref;
  }

  bool is_tensor(const Value* v) const {
    return v && (v->made_by("torch._utils._rebuild_tensor_v2") || v->made_by("torch._utils._rebuild_parameter") ||
                 v->made_by("torch._utils._rebuild_parameter_with_state") || v->made_by("torch._utils._rebuild_tensor"));
  }

  torch::Tensor tensor(const Value* v, const std::string& name) {
    if (v->made_by("torch._utils._rebuild_parameter") || v->made_by("torch._utils._rebuild_parameter_with_state")) {
      if (v->args->items.empty() || !is_tensor(v->args->items[0]) || v->args->items[0]->made_by("torch._utils._rebuild_parameter"))
        fail("'" + name + "': a parameter without its tensor");
      return tensor(v->args->items[0], name);
    }
    const auto& a = v->args->items;
    if (a.size() < 4 || a[0]->kind != Kind::Persistent || a[1]->kind != Kind::Int || a[2]->kind != Kind::Tuple ||
        a[3]->kind != Kind::Tuple || a[2]->items.size() != a[3]->items.size() || a[2]->items.size() > 8)
      fail("'" + name + "': a tensor record this reader does not understand");
    const StorageRef ref = storage_ref(a[0]->args, what_);
    std::vector<int64_t> size, stride;
    int64_t last = a[1]->integer, empty = 0;
    for (size_t d = 0; d < a[2]->items.size(); ++d) {
      const Value* s = a[2]->items[d];
      const Value* st = a[3]->items[d];
      if (s->kind != Kind::Int || st->kind != Kind::Int || s->integer < 0 || st->integer < 0 || s->integer > (int64_t{1} << 40) ||
          st->integer > (int64_t{1} << 40))
        fail("'" + name + "': a tensor with an invalid size or stride");
      size.push_back(s->integer), stride.push_back(st->integer);
      if (s->integer == 0) empty = 1;
      else last += (s->integer - 1) * st->integer;
    }
    if (a[1]->integer < 0) fail("'" + name + "': a negative storage offset");
    const torch::Tensor storage = cached(ref);
    if (!empty && last >= storage.numel())
      fail("'" + name + "' reaches element " + std::to_string(last) + " of a storage of " + std::to_string(storage.numel()));
    if (empty) return torch::empty(size, storage.options());
    return storage.as_strided(size, stride, a[1]->integer).clone(at::MemoryFormat::Contiguous);
  }

 private:
  torch::Tensor cached(const StorageRef& ref) {
    auto it = storages_.find(ref.key);
    if (it != storages_.end()) {
      if (it->second.scalar_type() != ref.type) fail("storage '" + ref.key + "' is used with two element types");
      return it->second;
    }
    torch::Tensor t = load_(ref);
    storages_.emplace(ref.key, t);
    return t;
  }

  std::string what_;
  std::function<torch::Tensor(const StorageRef&)> load_;
  std::map<std::string, torch::Tensor> storages_;
};

torch::Tensor from_bytes(const unsigned char* bytes, uint64_t nbytes, const StorageRef& ref, const std::string& what) {
  const uint64_t element = c10::elementSize(ref.type);
  if (nbytes != static_cast<uint64_t>(ref.numel) * element)
    throw Error(what + ": storage '" + ref.key + "' holds " + std::to_string(nbytes) + " bytes, expected " +
                std::to_string(ref.numel) + " elements of " + std::to_string(element));
  torch::Tensor t = torch::empty({ref.numel}, torch::TensorOptions().dtype(ref.type));
  if (nbytes) std::memcpy(t.data_ptr(), bytes, nbytes);
  return t;
}

// A plain value as JSON (numbers, strings, lists of them, numpy scalars); null if it is not one.
nlohmann::json plain(const Value* v, int depth = 0) {
  if (!v || depth > 4) return nullptr;
  switch (v->kind) {
    case Kind::Bool: return v->boolean;
    case Kind::Int: return v->integer;
    case Kind::Float: return v->real;
    case Kind::String: return v->text;
    case Kind::List: case Kind::Tuple: {
      nlohmann::json a = nlohmann::json::array();
      for (const Value* x : v->items) {
        nlohmann::json j = plain(x, depth + 1);
        if (j.is_null()) return nullptr;
        a.push_back(std::move(j));
      }
      return a;
    }
    case Kind::Object: {
      // numpy.core.multiarray.scalar(dtype, bytes), as RepDistiller's best_acc under numpy 2.
      if (!v->callable || v->callable->kind != Kind::Global || !v->callable->text.ends_with("multiarray.scalar") ||
          v->args->items.size() != 2 || v->args->items[1]->kind != Kind::Bytes)
        return nullptr;
      const Value* dtype = v->args->items[0];
      if (!dtype->made_by("numpy.dtype") || dtype->args->items.empty() || dtype->args->items[0]->kind != Kind::String) return nullptr;
      const std::string& code = dtype->args->items[0]->text;
      const std::string& b = v->args->items[1]->text;
      if (code == "f8" && b.size() == 8) { double d; std::memcpy(&d, b.data(), 8); return d; }
      if (code == "f4" && b.size() == 4) { float f; std::memcpy(&f, b.data(), 4); return f; }
      if (code == "i8" && b.size() == 8) { int64_t i; std::memcpy(&i, b.data(), 8); return i; }
      return nullptr;
    }
    default: return nullptr;
  }
}

PyTorchStateDict extract(const io::pickle::Document& doc, Rebuilder& rb, const std::string& what) {
  const Value* root = doc.root;
  auto is_state_dict = [&](const Value* d) {
    if (!d || d->kind != Kind::Dict || d->pairs.empty()) return false;
    for (const auto& [k, v] : d->pairs)
      if (k->kind != Kind::String || !rb.is_tensor(v)) return false;
    return true;
  };
  PyTorchStateDict out;
  const Value* sd = nullptr;
  if (is_state_dict(root)) {
    sd = root;
  } else if (root->kind == Kind::Dict) {
    for (const char* key : {"state_dict", "model", "net", "model_state_dict"})
      if (is_state_dict(root->get(key))) {
        sd = root->get(key), out.found_under = key;
        break;
      }
    out.meta = nlohmann::json::object();
    for (const auto& [k, v] : root->pairs)
      if (k->kind == Kind::String && k->text != out.found_under)
        if (nlohmann::json j = plain(v); !j.is_null()) out.meta[k->text] = std::move(j);
  }
  if (!sd) {
    std::string keys;
    if (root->kind == Kind::Dict)
      for (const auto& [k, v] : root->pairs)
        if (k->kind == Kind::String && keys.size() < 200) keys += (keys.empty() ? "" : ", ") + k->text;
    throw Error(what + ": no state_dict in this torch.save file (expected a dict of tensors, or one under 'state_dict', "
                "'model', 'net' or 'model_state_dict'; " +
                (root->kind == Kind::Dict ? "top-level keys: " + keys : std::string("the file holds a ") + root->kind_name()) + ")");
  }
  for (const auto& [k, v] : sd->pairs) out.tensors.emplace_back(k->text, rb.tensor(v, k->text));
  return out;
}

PyTorchStateDict read_zip_format(const std::string& path, const std::string& what) {
  io::ZipReader zip(path, what);
  const io::ZipEntry* pkl = zip.find("data.pkl");
  if (!pkl) zip.fail("not a torch.save file (no data.pkl record)");
  if (const io::ZipEntry* order = zip.find("byteorder")) {
    const auto b = zip.read(*order, 16);
    if (std::string(b.begin(), b.end()) != "little") zip.fail("written on a big-endian machine (byteorder record)");
  }
  const std::string prefix = pkl->name.substr(0, pkl->name.size() - std::string("data.pkl").size());
  const auto bytes = zip.read(*pkl, uint64_t{256} << 20);
  const auto doc = io::pickle::parse(bytes.data(), bytes.size(), what + " (data.pkl)");
  std::set<std::string> checked = {pkl->name, prefix + "byteorder"};
  Rebuilder rb(what, [&](const StorageRef& ref) {
    const io::ZipEntry* e = nullptr;
    for (const auto& x : zip.entries())
      if (x.name == prefix + "data/" + ref.key) e = &x;
    if (!e) zip.fail("no record for tensor storage '" + ref.key + "'");
    const auto data = zip.read(*e);
    checked.insert(e->name);
    return from_bytes(data.data(), data.size(), ref, what);
  });
  PyTorchStateDict out = extract(doc, rb, what);
  // The records not read (version, ids, tensors outside the state_dict) are CRC-checked too: a
  // damaged file is refused whole, as model.pt is.
  for (const auto& e : zip.entries())
    if (!checked.count(e.name)) zip.verify(e);
  return out;
}

// Legacy: pickles of the magic number, protocol version, system info, the object, the storage
// keys; then each storage as an 8-byte element count and its bytes, in the keys' order.
PyTorchStateDict read_legacy_format(const std::string& path, const std::string& what) {
  const std::string file = io::read_file(path);
  const auto* p = reinterpret_cast<const unsigned char*>(file.data());
  size_t at = sizeof(kLegacyMagic);
  const auto version = io::pickle::parse(p, file.size(), what, at);
  if (version.root->kind != Kind::Int || version.root->integer != 1001)
    throw Error(what + ": legacy torch.save format with an unknown protocol version");
  const auto sys_info = io::pickle::parse(p, file.size(), what, version.end);
  if (sys_info.root->kind == Kind::Dict)
    if (const Value* little = sys_info.root->get("little_endian"); little && little->kind == Kind::Bool && !little->boolean)
      throw Error(what + ": written on a big-endian machine");
  const auto doc = io::pickle::parse(p, file.size(), what, sys_info.end);
  const auto keys = io::pickle::parse(p, file.size(), what, doc.end);
  if (keys.root->kind != Kind::List) throw Error(what + ": legacy torch.save format without its storage list");
  // Element types and counts of every storage, from the object's persistent ids.
  std::map<std::string, StorageRef> refs;
  for (const Value& v : doc.values)
    if (v.kind == Kind::Persistent) {
      const StorageRef r = Rebuilder::storage_ref(v.args, what);
      refs.emplace(r.key, r);
    }
  std::map<std::string, std::pair<size_t, uint64_t>> where;  // key -> (offset, bytes)
  size_t off = keys.end;
  for (const Value* k : keys.root->items) {
    if (k->kind != Kind::String) throw Error(what + ": legacy storage key is not a string");
    if (file.size() - off < 8) throw Error(what + ": truncated (storage '" + k->text + "')");
    uint64_t count = 0;
    std::memcpy(&count, p + off, 8);
    off += 8;
    const auto r = refs.find(k->text);
    const uint64_t element = r == refs.end() ? 1 : c10::elementSize(r->second.type);
    if (count > (file.size() - off) / element) throw Error(what + ": truncated (storage '" + k->text + "')");
    where[k->text] = {off, count * element};
    off += count * element;
  }
  Rebuilder rb(what, [&](const StorageRef& ref) {
    const auto w = where.find(ref.key);
    if (w == where.end()) throw Error(what + ": no data for tensor storage '" + ref.key + "'");
    return from_bytes(p + w->second.first, w->second.second, ref, what);
  });
  return extract(doc, rb, what);
}

}  // namespace

bool is_torch_save_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char head[sizeof(kLegacyMagic)] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  if (in.gcount() == static_cast<std::streamsize>(sizeof head) && std::memcmp(head, kLegacyMagic, sizeof head) == 0) return true;
  if (in.gcount() < 4 || head[0] != 'P' || head[1] != 'K') return false;
  try {
    io::ZipReader zip(path, path);
    return zip.find("data.pkl") && !zip.find("constants.pkl");
  } catch (const Error&) {
    return false;
  }
}

PyTorchStateDict read_torch_save_state_dict(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(what + ": cannot open");
  unsigned char head[sizeof(kLegacyMagic)] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  in.close();
  try {
    if (std::memcmp(head, kLegacyMagic, sizeof head) == 0) return read_legacy_format(path, what);
    return read_zip_format(path, what);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {  // LibTorch (e.g. a huge tensor allocation) or std
    throw Error(what + ": " + std::string(e.what()).substr(0, 200));
  }
}

}  // namespace kdprune::train
