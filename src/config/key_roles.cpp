// The role table and the role-driven copies, all by walking the schema (schema.h), so a key's
// role is declared in exactly one place.
#include "kdprune/config/key_roles.h"

#include <map>
#include <type_traits>

#include "schema.h"

namespace kdprune {
namespace {

// Collects each key's dotted name and roles (a section's roles apply to its keys).
class RoleTable {
 public:
  template <class T> void field(const char* key, T&, const config_rules::Rule<T>& = {}, unsigned roles = 0) {
    add(key, roles);
  }
  void field(const char* key, AlphaSpec&, unsigned roles = 0) { add(key, roles); }
  template <class S> void section(const char* key, S& sub, unsigned roles = 0) {
    const std::string saved = prefix_;
    const unsigned saved_roles = inherited_;
    prefix_ += key + std::string(".");
    inherited_ |= roles;
    config_schema::describe(*this, sub);
    prefix_ = saved, inherited_ = saved_roles;
  }
  std::vector<KeyInfo> keys;

 private:
  void add(const char* key, unsigned roles) { keys.push_back({prefix_ + key, roles | inherited_}); }
  std::string prefix_;
  unsigned inherited_ = 0;
};

// Two walks over the schema visit the same fields in the same order: the first records where
// each field of `from` is, the second assigns the selected ones of `to` from there.
class Addresses {
 public:
  template <class T> void field(const char*, T& member, const config_rules::Rule<T>& = {}, unsigned = 0) {
    at.push_back(&member);
  }
  void field(const char*, AlphaSpec& member, unsigned = 0) { at.push_back(&member); }
  template <class S> void section(const char*, S& sub, unsigned = 0) { config_schema::describe(*this, sub); }
  std::vector<const void*> at;
};

class Assign {
 public:
  Assign(const std::vector<const void*>& from, unsigned mask) : from_(from), mask_(mask) {}
  template <class T> void field(const char*, T& member, const config_rules::Rule<T>& = {}, unsigned = 0) {
    take(member);
  }
  void field(const char*, AlphaSpec& member, unsigned = 0) { take(member); }
  template <class S> void section(const char*, S& sub, unsigned = 0) { config_schema::describe(*this, sub); }

 private:
  template <class T> void take(T& member) {
    const size_t i = next_++;
    if (key_table()[i].roles & mask_) member = *static_cast<const T*>(from_[i]);
  }
  const std::vector<const void*>& from_;
  unsigned mask_;
  size_t next_ = 0;
};

class PathMembers {
 public:
  template <class T> void field(const char*, T& member, const config_rules::Rule<T>& = {}, unsigned = 0) {
    const KeyInfo& k = key_table()[next_++];
    if constexpr (std::is_same_v<T, std::string>)
      if (k.roles & key_role::path) out.emplace_back(&member, k.key);
  }
  void field(const char*, AlphaSpec&, unsigned = 0) { ++next_; }
  template <class S> void section(const char*, S& sub, unsigned = 0) { config_schema::describe(*this, sub); }
  std::vector<std::pair<std::string*, std::string>> out;

 private:
  size_t next_ = 0;
};

}  // namespace

const std::vector<KeyInfo>& key_table() {
  static const std::vector<KeyInfo> table = [] {
    RoleTable t;
    Config c;
    config_schema::describe(t, c);
    return t.keys;
  }();
  return table;
}

unsigned key_roles(const std::string& dotted) {
  static const std::map<std::string, unsigned> by_name = [] {
    std::map<std::string, unsigned> m;
    for (const auto& k : key_table()) m[k.key] = k.roles;
    return m;
  }();
  const auto it = by_name.find(dotted);
  return it == by_name.end() ? 0u : it->second;
}

void copy_keys(Config& to, const Config& from, unsigned roles) {
  Addresses where;
  config_schema::describe(where, const_cast<Config&>(from));  // only read: Assign copies from it
  Assign assign(where.at, roles);
  config_schema::describe(assign, to);
}

std::vector<std::pair<std::string*, std::string>> path_members(Config& c) {
  PathMembers m;
  config_schema::describe(m, c);
  return m.out;
}

void map_paths(Config& c, const std::function<std::string(const std::string&, const std::string&)>& map) {
  for (auto& [member, key] : path_members(c)) *member = map(key, *member);
}

}  // namespace kdprune
