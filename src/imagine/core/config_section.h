#pragma once
// Implementation detail of config.h: finds one section of a config by name.
#include <string>
#include <vector>

#include "imagine/core/error.h"

namespace imagine::config {

namespace detail {
// Visits only sections; renders the one called `name` as a TOML table.
class SectionFinder {
 public:
  explicit SectionFinder(std::string name) : name_(std::move(name)) {}
  template <class T>
  void field(std::string_view, const T&, const FieldInfo&) {}
  template <class S>
  void section(std::string_view key, S& sub, std::string_view doc) {
    names_.emplace_back(key);
    if (key != name_) return;
    TomlWriter root;
    root.section(key, sub, doc);
    found_ = root.str();
  }
  std::string name_;
  std::vector<std::string> names_;
  std::string found_;
};
}  // namespace detail

template <class C>
std::string section_to_toml(C& value, const std::string& name) {
  detail::SectionFinder finder(name);
  value.visit(finder);
  if (finder.found_.empty()) {
    std::string list;
    for (const auto& n : finder.names_) list += (list.empty() ? "" : ", ") + n;
    throw UserError("unknown config section '" + name + "' (sections: " + list + ")");
  }
  return finder.found_;
}

}  // namespace imagine::config
