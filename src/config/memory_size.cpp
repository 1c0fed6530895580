// Memory sizes in config values (train.group_max): a number with an optional binary unit.
#include <cctype>
#include <cmath>
#include <string>

#include "kdprune/config/config.h"

namespace kdprune {

int64_t parse_memory_size(const std::string& text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    return -1;
  }
  std::string unit;
  for (size_t i = used; i < text.size(); ++i)
    if (!std::isspace(static_cast<unsigned char>(text[i]))) unit += static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
  double scale = 0;
  for (const auto& [names, s] : {std::pair{"", 1.0}, {"B", 1.0}, {"K", 0x1p10}, {"M", 0x1p20}, {"G", 0x1p30}, {"T", 0x1p40}}) {
    const std::string n = names;
    if (unit == n || (!n.empty() && n != "B" && (unit == n + "B" || unit == n + "I" || unit == n + "IB"))) scale = s;
  }
  const double bytes = value * scale;
  if (scale == 0 || !(bytes >= 1) || bytes > 0x1p62) return -1;
  return static_cast<int64_t>(std::llround(bytes));
}

}  // namespace kdprune
