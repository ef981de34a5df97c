#pragma once
// Configuration binding. Every options struct lists its fields once, in a member
//
//   template <class V> void visit(V& v) {
//     v.field("image_size", image_size, {"RGB side length", config::Range{8, 1024}});
//     v.section("env", env, "Environment");
//   }
//
// and that one list drives TOML parsing (with `--set a.b=value` overrides), the resolved
// config.toml of a run, `imagine config defaults` and docs/configuration.md.
// Supported field types: bool, int, int64_t, float, double, std::string, std::vector<int64_t>,
// and enums with a names table (below): a fixed set of choices is parsed once, at config time.
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace imagine::config {

// An option with a fixed set of values is an enum class whose names table is found by
// argument-dependent lookup, next to the enum:
//
//   enum class Obs { kSymbolic, kRgb };
//   constexpr config::EnumNames<Obs, 2> enum_names(Obs) { return {{{Obs::kSymbolic, "symbolic"}, {Obs::kRgb, "rgb"}}}; }
//
// TOML, `--set`, error messages and the docs use the names; the code uses the enum.
template <class E, std::size_t N>
using EnumNames = std::array<std::pair<E, std::string_view>, N>;

template <class E>
std::string enum_name(E value) {
  for (const auto& [e, name] : enum_names(E{}))
    if (e == value) return std::string(name);
  return "<invalid " + std::to_string(static_cast<long long>(value)) + ">";
}

template <class E>
std::optional<E> enum_from_name(std::string_view name) {
  for (const auto& [e, n] : enum_names(E{}))
    if (n == name) return e;
  return std::nullopt;
}

template <class E>
std::vector<std::string> enum_choices() {
  std::vector<std::string> out;
  for (const auto& [e, name] : enum_names(E{})) out.emplace_back(name);
  return out;
}

struct Range {
  double lo;
  double hi;
};

struct FieldInfo {
  std::string doc;
  std::optional<Range> range = std::nullopt;
  std::vector<std::string> choices = {};
};

// `info` with the enum's names as its choices.
template <class E>
FieldInfo with_choices(const FieldInfo& info) {
  FieldInfo out = info;
  out.choices = enum_choices<E>();
  return out;
}

class Document;

// Reads fields from a parsed TOML table; unknown keys, wrong types and out-of-range values
// raise UserError naming the key, the expectation and file:line:column.
class TomlReader {
 public:
  TomlReader(const Document& doc, const void* table, std::string prefix);
  ~TomlReader();
  TomlReader(TomlReader&&) noexcept;

  template <class T>
  void field(std::string_view key, T& value, const FieldInfo& info) {
    if constexpr (std::is_enum_v<T>) {
      std::string name = enum_name(value);
      read(key, name, with_choices<T>(info));
      value = *enum_from_name<T>(name);  // read() accepts only the choices
    } else {
      read(key, value, info);
    }
  }
  template <class S>
  void section(std::string_view key, S& sub, std::string_view /*doc*/) {
    if (auto child = enter(key)) {
      sub.visit(*child);
      child->finish();
    }
  }
  // Raises UserError for keys of this table that no field or section consumed.
  void finish();

 private:
  std::optional<TomlReader> enter(std::string_view key);
  void read(std::string_view key, bool& value, const FieldInfo& info);
  void read(std::string_view key, int& value, const FieldInfo& info);
  void read(std::string_view key, int64_t& value, const FieldInfo& info);
  void read(std::string_view key, float& value, const FieldInfo& info);
  void read(std::string_view key, double& value, const FieldInfo& info);
  void read(std::string_view key, std::string& value, const FieldInfo& info);
  void read(std::string_view key, std::vector<int64_t>& value, const FieldInfo& info);

  const Document* doc_;
  const void* table_;  // toml::table, kept out of this header
  std::string prefix_;
  std::vector<std::string> seen_;
};

// Writes a struct as TOML, each key preceded by its documentation as a comment.
class TomlWriter {
 public:
  explicit TomlWriter(std::string prefix = "", bool comments = true)
      : prefix_(std::move(prefix)), comments_(comments) {}

  template <class T>
  void field(std::string_view key, const T& value, const FieldInfo& info) {
    if constexpr (std::is_enum_v<T>)
      write(key, format_value(enum_name(value)), with_choices<T>(info));
    else
      write(key, format_value(value), info);
  }
  template <class S>
  void section(std::string_view key, S& sub, std::string_view doc) {
    TomlWriter child(prefix_ + std::string(key) + ".", comments_);
    sub.visit(child);
    add_section(key, doc, child);
  }
  std::string str() const { return keys_ + sections_; }

  static std::string format_value(bool v);
  static std::string format_value(int v);
  static std::string format_value(int64_t v);
  static std::string format_value(float v);
  static std::string format_value(double v);
  static std::string format_value(const std::string& v);
  static std::string format_value(const std::vector<int64_t>& v);

 private:
  void write(std::string_view key, const std::string& value, const FieldInfo& info);
  void add_section(std::string_view key, std::string_view doc, const TomlWriter& child);
  std::string prefix_;
  bool comments_;
  std::string keys_;
  std::string sections_;
};

// Collects every field as "section.key" -> its TOML text, to compare two configs key by key.
class FlatWriter {
 public:
  explicit FlatWriter(std::map<std::string, std::string>& out, std::string prefix = "")
      : out_(out), prefix_(std::move(prefix)) {}
  template <class T>
  void field(std::string_view key, const T& value, const FieldInfo&) {
    if constexpr (std::is_enum_v<T>)
      out_[prefix_ + std::string(key)] = TomlWriter::format_value(enum_name(value));
    else
      out_[prefix_ + std::string(key)] = TomlWriter::format_value(value);
  }
  template <class S>
  void section(std::string_view key, S& sub, std::string_view) {
    FlatWriter child(out_, prefix_ + std::string(key) + ".");
    sub.visit(child);
  }

 private:
  std::map<std::string, std::string>& out_;
  std::string prefix_;
};

template <class C>
std::map<std::string, std::string> flatten(C& value) {
  std::map<std::string, std::string> out;
  FlatWriter writer(out);
  value.visit(writer);
  return out;
}

// Writes a markdown reference (one table per section) for docs/configuration.md.
class MarkdownWriter {
 public:
  explicit MarkdownWriter(std::string prefix = "", std::string title = "") : prefix_(std::move(prefix)) {
    if (!title.empty()) rows_ = "| key | type | default | description |\n|---|---|---|---|\n";
    title_ = std::move(title);
  }
  template <class T>
  void field(std::string_view key, const T& value, const FieldInfo& info) {
    if constexpr (std::is_enum_v<T>)
      row(key, "string", TomlWriter::format_value(enum_name(value)), with_choices<T>(info));
    else
      row(key, type_name(value), TomlWriter::format_value(value), info);
  }
  template <class S>
  void section(std::string_view key, S& sub, std::string_view doc) {
    MarkdownWriter child(prefix_ + std::string(key) + ".", std::string(doc));
    sub.visit(child);
    add_section(key, child);
  }
  std::string str() const;

 private:
  static const char* type_name(bool) { return "bool"; }
  static const char* type_name(int) { return "integer"; }
  static const char* type_name(int64_t) { return "integer"; }
  static const char* type_name(float) { return "float"; }
  static const char* type_name(double) { return "float"; }
  static const char* type_name(const std::string&) { return "string"; }
  static const char* type_name(const std::vector<int64_t>&) { return "integer array"; }
  void row(std::string_view key, const char* type, const std::string& value, const FieldInfo& info);
  void add_section(std::string_view key, const MarkdownWriter& child);
  std::string prefix_;
  std::string title_;
  std::string rows_;
  std::string sections_;
};

// A parsed TOML document: a file (optional) with `key.path=value` overrides applied on top.
class Document {
 public:
  // `file` may be empty (defaults only). Raises UserError on a missing file, a TOML syntax
  // error (file:line:column) or a malformed override.
  static Document parse(const std::string& file, const std::vector<std::string>& overrides);
  // Several files, each later one overriding the keys it sets (tables merge key by key),
  // then the overrides.
  static Document parse(const std::vector<std::string>& files, const std::vector<std::string>& overrides);
  static Document parse_string(const std::string& text, const std::string& source_name);
  ~Document();
  Document(Document&&) noexcept;

  TomlReader reader() const;
  // Position of the node at `key_path` as "file:line:column" (or "--set key=value").
  std::string where(const void* node) const;
  // Value of a top-level string key, if present (lets the CLI pick a preset by `kind`).
  std::optional<std::string> get_string(const std::string& key_path) const;

 private:
  Document();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads `C` from a document: defaults, then the document's values; checks every key.
template <class C>
C read(const Document& doc, C value = C{}) {
  TomlReader reader = doc.reader();
  value.visit(reader);
  reader.finish();
  return value;
}

template <class C>
std::string to_toml(C& value, bool comments = true) {
  TomlWriter writer("", comments);
  value.visit(writer);
  return writer.str();
}

// Renders one named section of `value` (e.g. "env") as TOML, or raises UserError listing
// the sections when there is none of that name.
template <class C>
std::string section_to_toml(C& value, const std::string& name);

}  // namespace imagine::config

#include "imagine/core/config_section.h"
