#pragma once
// A config setting with a closed set of named values (train.amp, train.channels_last,
// train.cuda_graph), stored as an enum. Code compares and switches on the enum; the names are the
// YAML words. A Choice is made from its enum or from one of its names; any other name throws at
// once (a misspelt name in code is found where it is written, never at run time).
#include <array>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "kdprune/util/error.h"

namespace kdprune {

// Specialise with `static constexpr std::array<std::pair<E, std::string_view>, N> values` (the
// first name of a value is the one written back).
template <class E> struct ChoiceNames;

template <class E> class Choice {
 public:
  constexpr Choice() : v_(ChoiceNames<E>::values[0].first) {}
  constexpr Choice(E v) : v_(v) {}  // NOLINT: implicit, a value of its enum is a Choice
  Choice(std::string_view name) : v_(parse(name)) {}  // NOLINT: implicit, as a YAML word
  Choice(const char* name) : Choice(std::string_view(name)) {}  // NOLINT
  Choice(const std::string& name) : Choice(std::string_view(name)) {}  // NOLINT

  constexpr E value() const { return v_; }
  std::string name() const {
    for (const auto& [v, n] : ChoiceNames<E>::values)
      if (v == v_) return std::string(n);
    return "?";
  }
  // Whether `name` is one of the names (the config reader's check).
  static bool known(std::string_view name) {
    for (const auto& [v, n] : ChoiceNames<E>::values)
      if (n == name) return true;
    return false;
  }
  // "one of a, b, c": the words of a config error.
  static std::string expected() {
    std::string s = "one of";
    for (size_t i = 0; i < ChoiceNames<E>::values.size(); ++i) s += (i ? ", " : " ") + std::string(ChoiceNames<E>::values[i].second);
    return s;
  }

  friend constexpr bool operator==(Choice a, Choice b) { return a.v_ == b.v_; }
  friend std::ostream& operator<<(std::ostream& os, Choice c) { return os << c.name(); }

 private:
  static E parse(std::string_view name) {
    for (const auto& [v, n] : ChoiceNames<E>::values)
      if (n == name) return v;
    throw InternalError("'" + std::string(name) + "' is not " + expected());
  }
  E v_;
};

// train.amp: the autocast precision; auto is made concrete per device (train::resolve_precision).
enum class AmpSetting { automatic, off, bf16, fp16 };
template <> struct ChoiceNames<AmpSetting> {
  static constexpr std::array<std::pair<AmpSetting, std::string_view>, 4> values{
      {{AmpSetting::automatic, "auto"}, {AmpSetting::off, "off"}, {AmpSetting::bf16, "bf16"}, {AmpSetting::fp16, "fp16"}}};
};
using Amp = Choice<AmpSetting>;

// train.channels_last: store activations and conv weights NHWC; auto follows the precision.
enum class LayoutSetting { automatic, channels_last, contiguous };
template <> struct ChoiceNames<LayoutSetting> {
  static constexpr std::array<std::pair<LayoutSetting, std::string_view>, 3> values{
      {{LayoutSetting::automatic, "auto"}, {LayoutSetting::channels_last, "true"}, {LayoutSetting::contiguous, "false"}}};
};
using Layout = Choice<LayoutSetting>;

// train.cuda_graph: capture the training step as a CUDA graph; auto where it can be.
enum class CaptureSetting { automatic, on, off };
template <> struct ChoiceNames<CaptureSetting> {
  static constexpr std::array<std::pair<CaptureSetting, std::string_view>, 3> values{
      {{CaptureSetting::automatic, "auto"}, {CaptureSetting::on, "on"}, {CaptureSetting::off, "off"}}};
};
using Capture = Choice<CaptureSetting>;

}  // namespace kdprune
