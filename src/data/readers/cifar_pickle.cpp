// CIFAR-10/100 "python version" (cifar-10-batches-py, cifar-100-python), the files torchvision
// downloads: each a pickled dict {data: uint8 ndarray N×3072 (R, G, B planes), labels or
// fine_labels: list of ints, ...}, written by Python 2 (keys and raw bytes as byte strings).
// Read with kdprune's data-only pickle reader; the ndarray is taken from numpy's own pickle
// layout (_reconstruct + BUILD state, or _frombuffer under protocol 5).
#include "kdprune/io/pickle.h"
#include "kdprune/util/error.h"
#include "readers.h"

namespace kdprune::data {
namespace {

using io::pickle::Kind;
using io::pickle::Value;

bool text_is(const Value* v, const std::string& s) {
  return v && (v->kind == Kind::String || v->kind == Kind::Bytes) && v->text == s;
}

bool made_by_numpy(const Value* v, const std::string& module_tail, const std::string& name) {
  if (!v || v->kind != Kind::Object || !v->callable || v->callable->kind != Kind::Global) return false;
  const std::string& g = v->callable->text;
  return g == "numpy.core." + module_tail + "." + name || g == "numpy._core." + module_tail + "." + name;
}

// A numpy dtype object of unsigned bytes: numpy.dtype('u1', ...).
bool is_uint8_dtype(const Value* d) {
  return d && d->made_by("numpy.dtype") && d->args && !d->args->items.empty() && text_is(d->args->items[0], "u1");
}

// The uint8 ndarray's bytes and shape, or an error naming what differs.
std::string ndarray_u8(const Value* a, std::vector<int64_t>& shape, const std::string& where) {
  const Value* raw = nullptr;
  const Value* dims = nullptr;
  if (made_by_numpy(a, "multiarray", "_reconstruct")) {
    const Value* st = a->state;
    if (!st || st->kind != Kind::Tuple || st->items.size() != 5)
      throw Error(where + ": 'data' is an ndarray without the state numpy pickles");
    dims = st->items[1];
    if (!is_uint8_dtype(st->items[2])) throw Error(where + ": 'data' is not an array of uint8");
    const Value* fortran = st->items[3];
    if ((fortran->kind == Kind::Bool && fortran->boolean) || (fortran->kind == Kind::Int && fortran->integer != 0))
      throw Error(where + ": 'data' is stored in Fortran order");
    raw = st->items[4];
  } else if (made_by_numpy(a, "numeric", "_frombuffer")) {  // protocol 5
    const auto& it = a->args->items;
    if (it.size() != 4 || !is_uint8_dtype(it[1]) || !text_is(it[3], "C"))
      throw Error(where + ": 'data' is not a C-ordered uint8 array");
    raw = it[0], dims = it[2];
  } else {
    throw Error(where + ": 'data' is not a numpy array");
  }
  if (!dims || dims->kind != Kind::Tuple) throw Error(where + ": 'data' has no shape");
  uint64_t count = 1;
  for (const Value* d : dims->items) {
    if (d->kind != Kind::Int || d->integer < 0 || d->integer > (int64_t{1} << 32)) throw Error(where + ": 'data' has an invalid shape");
    shape.push_back(d->integer);
    count *= static_cast<uint64_t>(d->integer);
    if (count > (uint64_t{1} << 40)) throw Error(where + ": 'data' has an invalid shape");
  }
  if (!raw || raw->kind != Kind::Bytes) throw Error(where + ": 'data' holds no raw bytes");
  if (raw->text.size() != count)
    throw Error(where + ": 'data' holds " + std::to_string(raw->text.size()) + " bytes for a shape of " +
                std::to_string(count) + " elements");
  return raw->text;
}

}  // namespace

ImageSplit read_cifar_pickle(const std::vector<std::string>& files, const std::string& label_key, int64_t classes) {
  ImageSplit s;
  s.c = 3, s.h = 32, s.w = 32;
  for (const auto& path : files) {
    const std::string where = "'" + path + "'";
    const std::string b = read_whole_file(path);
    const auto doc = io::pickle::parse(reinterpret_cast<const unsigned char*>(b.data()), b.size(), where);
    if (doc.root->kind != Kind::Dict) throw Error(where + ": not a CIFAR python-version batch (a pickled dict)");
    const Value* data = doc.root->get("data");
    const Value* labels = doc.root->get(label_key);
    if (!data || !labels) throw Error(where + ": no '" + std::string(data ? label_key : "data") + "' entry (not a CIFAR python-version batch)");
    std::vector<int64_t> shape;
    const std::string pixels = ndarray_u8(data, shape, where);
    if (shape.size() != 2 || shape[1] != 3072)
      throw Error(where + ": 'data' has shape (" + (shape.empty() ? "" : std::to_string(shape[0])) +
                  (shape.size() > 1 ? ", " + std::to_string(shape[1]) : "") + "), expected (N, 3072)");
    if (labels->kind != Kind::List || labels->items.size() != static_cast<size_t>(shape[0]))
      throw Error(where + ": '" + label_key + "' is not a list of " + std::to_string(shape[0]) + " labels");
    for (size_t i = 0; i < labels->items.size(); ++i) {
      const Value* y = labels->items[i];
      if (y->kind != Kind::Int || y->integer < 0 || y->integer >= classes)
        throw Error(where + ": '" + label_key + "'[" + std::to_string(i) + "] is not a label 0.." + std::to_string(classes - 1));
      s.labels.push_back(y->integer);
    }
    s.images.insert(s.images.end(), pixels.begin(), pixels.end());
    s.n += shape[0];
  }
  return s;
}

std::vector<std::string> read_cifar_pickle_names(const std::string& path, const std::string& key) {
  const std::string b = read_whole_file(path);
  const auto doc = io::pickle::parse(reinterpret_cast<const unsigned char*>(b.data()), b.size(), "'" + path + "'");
  std::vector<std::string> names;
  const Value* list = doc.root->kind == Kind::Dict ? doc.root->get(key) : nullptr;
  if (list && list->kind == Kind::List)
    for (const Value* v : list->items)
      if (v->kind == Kind::String || v->kind == Kind::Bytes) names.push_back(v->text);
  return names;
}

}  // namespace kdprune::data
