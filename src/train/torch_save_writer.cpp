// Writing torch.save files that torch.load(path, weights_only=True) accepts: a protocol-2 pickle
// of {"state_dict": OrderedDict(name -> tensor), meta...} whose tensors are persistent storages,
// in LibTorch's own zip container (PyTorchStreamWriter, as Python's torch.save uses).
#include <caffe2/serialize/inline_container.h>

#include <cstring>

#include "kdprune/io/atomic_file.h"
#include "kdprune/train/torch_save.h"
#include "kdprune/util/error.h"

namespace kdprune::train {
namespace {

// Protocol-2 pickle opcodes for the writer.
class Pickler {
 public:
  std::string out;
  void op(unsigned char c) { out.push_back(static_cast<char>(c)); }
  void global(const std::string& module, const std::string& name) { out += "c" + module + "\n" + name + "\n"; }
  void str(const std::string& s) {
    op('X');
    u32(static_cast<uint32_t>(s.size()));
    out += s;
  }
  void integer(int64_t v) {
    if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J');
      u32(static_cast<uint32_t>(static_cast<int32_t>(v)));
    } else {
      op(0x8a), op(8);
      for (int i = 0; i < 8; ++i) op(static_cast<unsigned char>(static_cast<uint64_t>(v) >> (8 * i)));
    }
  }
  void real(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    op('G');
    for (int i = 7; i >= 0; --i) op(static_cast<unsigned char>(bits >> (8 * i)));
  }
  void json(const nlohmann::json& j) {
    if (j.is_string()) str(j.get<std::string>());
    else if (j.is_boolean()) op(j.get<bool>() ? 0x88 : 0x89);
    else if (j.is_number_integer()) integer(j.get<int64_t>());
    else if (j.is_number()) real(j.get<double>());
    else if (j.is_array()) {
      op(']'), op('(');
      for (const auto& x : j) json(x);
      op('e');
    } else if (j.is_object()) {
      op('}'), op('(');
      for (const auto& [k, v] : j.items()) str(k), json(v);
      op('u');
    } else op('N');
  }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) op(static_cast<unsigned char>(v >> (8 * i)));
  }
};

std::string storage_name(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return "FloatStorage";
    case torch::kFloat64: return "DoubleStorage";
    case torch::kFloat16: return "HalfStorage";
    case torch::kBFloat16: return "BFloat16Storage";
    case torch::kInt64: return "LongStorage";
    case torch::kInt32: return "IntStorage";
    case torch::kInt16: return "ShortStorage";
    case torch::kInt8: return "CharStorage";
    case torch::kUInt8: return "ByteStorage";
    case torch::kBool: return "BoolStorage";
    default: throw Error(std::string("torch.save export: unsupported tensor type ") + c10::toString(t));
  }
}

}  // namespace

void write_torch_save(const std::string& path, const NamedTensors& tensors, const nlohmann::json& meta) {
  Pickler pk;
  std::vector<torch::Tensor> storages;
  pk.op(0x80), pk.op(2);
  pk.op('}'), pk.op('(');
  pk.str("state_dict");
  pk.global("collections", "OrderedDict"), pk.op(')'), pk.op('R'), pk.op('(');
  for (const auto& [name, t0] : tensors) {
    const torch::Tensor t = t0.detach().to(torch::kCPU).contiguous();
    const std::string key = std::to_string(storages.size());
    storages.push_back(t);
    pk.str(name);
    pk.global("torch._utils", "_rebuild_tensor_v2");
    pk.op('(');
    pk.op('('), pk.str("storage"), pk.global("torch", storage_name(t.scalar_type())), pk.str(key), pk.str("cpu"),
        pk.integer(t.numel()), pk.op('t'), pk.op('Q');
    pk.integer(0);
    pk.op('(');
    for (int64_t s : t.sizes()) pk.integer(s);
    pk.op('t'), pk.op('(');
    for (int64_t s : t.strides()) pk.integer(s);
    pk.op('t'), pk.op(0x89);
    pk.global("collections", "OrderedDict"), pk.op(')'), pk.op('R');
    pk.op('t'), pk.op('R');
  }
  pk.op('u');
  for (const auto& [k, v] : meta.items()) pk.str(k), pk.json(v);
  pk.op('u'), pk.op('.');

  std::string bytes;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* buf, size_t n) {
    bytes.append(static_cast<const char*>(buf), n);
    return n;
  });
  writer.writeRecord("data.pkl", pk.out.data(), pk.out.size());
  writer.writeRecord("byteorder", "little", 6);
  for (size_t i = 0; i < storages.size(); ++i)
    writer.writeRecord("data/" + std::to_string(i), storages[i].data_ptr(), storages[i].nbytes());
  writer.writeEndOfFile();
  io::write_file_atomic(path, bytes);
}

}  // namespace kdprune::train
