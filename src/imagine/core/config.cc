#include "imagine/core/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <toml++/toml.h>

#include "imagine/core/error.h"
#include "imagine/core/files.h"

namespace imagine::config {

namespace {
constexpr std::string_view kOverridePrefix = "--set ";

const toml::table& as_table(const void* p) { return *static_cast<const toml::table*>(p); }

std::string describe_range(const FieldInfo& info) {
  if (info.range) return fmt::format("in [{}, {}]", info.range->lo, info.range->hi);
  if (!info.choices.empty()) {
    std::string s;
    for (const auto& c : info.choices) s += (s.empty() ? "" : ", ") + ("\"" + c + "\"");
    return "one of " + s;
  }
  return "";
}

const char* toml_type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::array: return "array";
    case toml::node_type::table: return "table";
    default: return "date/time";
  }
}
}  // namespace

struct Document::Impl {
  toml::table root;
};

Document::Document() : impl_(std::make_unique<Impl>()) {}
Document::~Document() = default;
Document::Document(Document&&) noexcept = default;

std::string Document::where(const void* node_ptr) const {
  const auto& node = *static_cast<const toml::node*>(node_ptr);
  const auto& src = node.source();
  const std::string path = src.path ? *src.path : std::string("<config>");
  if (path.rfind(kOverridePrefix, 0) == 0) return path;
  return fmt::format("{}:{}:{}", path, src.begin.line, src.begin.column);
}

Document Document::parse_string(const std::string& text, const std::string& source_name) {
  Document doc;
  try {
    doc.impl_->root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    throw UserError(fmt::format("{}:{}:{}: TOML syntax error: {}", source_name, src.begin.line,
                                src.begin.column, e.description()));
  }
  return doc;
}

// Puts every key of `top` into `base`: tables merge key by key, anything else replaces. Moved
// nodes keep their source, so positions name the file (or --set) that gave each value.
static void merge_into(toml::table& base, toml::table&& top) {
  for (auto&& [key, node] : top) {
    toml::node* existing = base.get(key);
    if (existing && existing->is_table() && node.is_table()) {
      merge_into(*existing->as_table(), std::move(*node.as_table()));
    } else {
      base.insert_or_assign(key, std::move(node));
    }
  }
}

// Applies `a.b.c=value` on top of `root`. The value is parsed as a TOML value; if that
// fails it is taken as a bare string, so `--set env.id=minatar/breakout` works unquoted.
static void apply_override(toml::table& root, const std::string& assignment) {
  const std::string shown = printable(assignment);
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) throw UserError("--set '" + shown + "': expected key.path=value");
  const std::string key_path = assignment.substr(0, eq);
  const std::string value_text = assignment.substr(eq + 1);
  size_t start = 0;
  while (true) {  // bare TOML keys only, so the dotted path below parses as written
    const auto dot = key_path.find('.', start);
    const std::string part = key_path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) throw UserError("--set '" + shown + "': empty key component");
    if (part.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos)
      throw UserError("--set '" + shown + "': '" + printable(part) + "' is not a key (letters, digits, _ and -)");
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (value_text.find_first_of(std::string("\0\r\n", 3)) != std::string::npos ||
      std::any_of(value_text.begin(), value_text.end(), [](char c) { return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f; }))
    throw UserError("--set '" + shown + "': the value holds a control character");
  const std::string source = std::string(kOverridePrefix) + shown;
  // Parsed as one dotted assignment, so the tables it creates carry the --set as their source.
  toml::table parsed;
  try {
    parsed = toml::parse(key_path + " = " + value_text, source);
  } catch (const toml::parse_error&) {
    // Not a TOML value: take the text as a string.
    try {
      parsed = toml::parse(key_path + " = " + TomlWriter::format_value(value_text), source);
    } catch (const toml::parse_error& e) {
      throw UserError("--set '" + shown + "': " + std::string(e.description()));
    }
  }
  // A scalar may not be replaced by a section or the other way round on the way down.
  toml::table* table = &root;
  start = 0;
  while (true) {
    const auto dot = key_path.find('.', start);
    if (dot == std::string::npos) break;
    const std::string part = key_path.substr(start, dot - start);
    toml::node* next = table->get(part);
    if (!next) break;
    if (!next->is_table()) throw UserError("--set '" + shown + "': '" + part + "' is not a section");
    table = next->as_table();
    start = dot + 1;
  }
  merge_into(root, std::move(parsed));
}

static toml::table parse_file(const std::string& file) {
  if (!std::filesystem::is_regular_file(file))
    throw UserError("config file '" + file + "' does not exist or is not a file");
  try {
    return toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    throw UserError(fmt::format("{}:{}:{}: TOML syntax error: {}", file, src.begin.line, src.begin.column,
                                e.description()));
  }
}

Document Document::parse(const std::vector<std::string>& files, const std::vector<std::string>& overrides) {
  Document doc;
  for (const auto& file : files) merge_into(doc.impl_->root, parse_file(file));
  for (const auto& o : overrides) apply_override(doc.impl_->root, o);
  return doc;
}

Document Document::parse(const std::string& file, const std::vector<std::string>& overrides) {
  return parse(file.empty() ? std::vector<std::string>{} : std::vector<std::string>{file}, overrides);
}

TomlReader Document::reader() const { return TomlReader(*this, &impl_->root, ""); }

std::optional<std::string> Document::get_string(const std::string& key_path) const {
  auto node = impl_->root.at_path(key_path);
  if (auto s = node.value<std::string>()) return *s;
  return std::nullopt;
}

// ---------------------------------------------------------------- reader

TomlReader::TomlReader(const Document& doc, const void* table, std::string prefix)
    : doc_(&doc), table_(table), prefix_(std::move(prefix)) {}
TomlReader::~TomlReader() = default;
TomlReader::TomlReader(TomlReader&&) noexcept = default;

std::optional<TomlReader> TomlReader::enter(std::string_view key) {
  seen_.emplace_back(key);
  const toml::node* node = as_table(table_).get(key);
  if (!node) return std::nullopt;
  if (!node->is_table())
    throw UserError(fmt::format("{}: '{}{}' must be a table (section), got {}", doc_->where(node),
                                prefix_, key, toml_type_name(*node)));
  return TomlReader(*doc_, node->as_table(), prefix_ + std::string(key) + ".");
}

void TomlReader::finish() {
  for (const auto& [key, node] : as_table(table_)) {
    if (std::find(seen_.begin(), seen_.end(), key.str()) != seen_.end()) continue;
    std::string valid;
    for (const auto& s : seen_) valid += (valid.empty() ? "" : ", ") + s;
    throw UserError(fmt::format("{}: unknown key '{}{}' (valid keys here: {})", doc_->where(&node), prefix_,
                                key.str(), valid));
  }
}

namespace {
template <class Fn>
void read_scalar(const Document& doc, const toml::table& table, const std::string& prefix,
                 std::vector<std::string>& seen, std::string_view key, const char* expected, Fn&& convert) {
  seen.emplace_back(key);
  const toml::node* node = table.get(key);
  if (!node) return;
  if (!convert(*node))
    throw UserError(fmt::format("{}: '{}{}' must be {}, got {}", doc.where(node), prefix, key, expected,
                                toml_type_name(*node)));
}

void check_range(const Document& doc, const toml::table& table, const std::string& prefix, std::string_view key,
                 double v, const FieldInfo& info) {
  if (info.range && !(v >= info.range->lo && v <= info.range->hi))
    throw UserError(fmt::format("{}: '{}{}' = {} is out of range: expected a value {}",
                                doc.where(table.get(key)), prefix, key, v, describe_range(info)));
}
}  // namespace

void TomlReader::read(std::string_view key, bool& value, const FieldInfo&) {
  read_scalar(*doc_, as_table(table_), prefix_, seen_, key, "a boolean (true or false)", [&](const toml::node& n) {
    if (auto v = n.as_boolean()) return value = v->get(), true;
    return false;
  });
}

void TomlReader::read(std::string_view key, int64_t& value, const FieldInfo& info) {
  read_scalar(*doc_, as_table(table_), prefix_, seen_, key, "an integer", [&](const toml::node& n) {
    if (auto v = n.as_integer()) return value = v->get(), true;
    return false;
  });
  check_range(*doc_, as_table(table_), prefix_, key, static_cast<double>(value), info);
}

void TomlReader::read(std::string_view key, int& value, const FieldInfo& info) {
  int64_t wide = value;
  read(key, wide, FieldInfo{info.doc, info.range ? info.range : Range{double(std::numeric_limits<int>::min()),
                                                                        double(std::numeric_limits<int>::max())}});
  value = static_cast<int>(wide);
}

void TomlReader::read(std::string_view key, double& value, const FieldInfo& info) {
  read_scalar(*doc_, as_table(table_), prefix_, seen_, key, "a number", [&](const toml::node& n) {
    if (auto v = n.as_floating_point()) return value = v->get(), true;
    if (auto v = n.as_integer()) return value = static_cast<double>(v->get()), true;
    return false;
  });
  check_range(*doc_, as_table(table_), prefix_, key, value, info);
}

void TomlReader::read(std::string_view key, float& value, const FieldInfo& info) {
  double wide = value;
  read(key, wide, info);
  value = static_cast<float>(wide);
}

void TomlReader::read(std::string_view key, std::string& value, const FieldInfo& info) {
  read_scalar(*doc_, as_table(table_), prefix_, seen_, key, "a string", [&](const toml::node& n) {
    if (auto v = n.as_string()) return value = v->get(), true;
    return false;
  });
  if (!info.choices.empty() && std::find(info.choices.begin(), info.choices.end(), value) == info.choices.end()) {
    const toml::node* node = as_table(table_).get(key);
    throw UserError(fmt::format("{}: '{}{}' = \"{}\" is not allowed: expected {}",
                                node ? doc_->where(node) : std::string("<default>"), prefix_, key, value,
                                describe_range(info)));
  }
}

void TomlReader::read(std::string_view key, std::vector<int64_t>& value, const FieldInfo&) {
  read_scalar(*doc_, as_table(table_), prefix_, seen_, key, "an array of integers", [&](const toml::node& n) {
    const auto* arr = n.as_array();
    if (!arr) return false;
    std::vector<int64_t> out;
    for (const auto& e : *arr) {
      if (!e.is_integer()) return false;
      out.push_back(e.as_integer()->get());
    }
    value = std::move(out);
    return true;
  });
}

// ---------------------------------------------------------------- writers

std::string TomlWriter::format_value(bool v) { return v ? "true" : "false"; }
std::string TomlWriter::format_value(int v) { return std::to_string(v); }
std::string TomlWriter::format_value(int64_t v) { return std::to_string(v); }
std::string TomlWriter::format_value(float v) { return format_value(static_cast<double>(v)); }
std::string TomlWriter::format_value(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (std::isnan(v)) return "nan";
  std::string s = fmt::format("{}", v);  // shortest round-trip representation
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}
std::string TomlWriter::format_value(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default: out += c;
    }
  }
  return out + "\"";
}
std::string TomlWriter::format_value(const std::vector<int64_t>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out + "]";
}

void TomlWriter::write(std::string_view key, const std::string& value, const FieldInfo& info) {
  if (comments_) {
    keys_ += "# " + info.doc;
    const std::string r = describe_range(info);
    if (!r.empty()) keys_ += " (" + r + ")";
    keys_ += "\n";
  }
  keys_ += std::string(key) + " = " + value + "\n";
}

void TomlWriter::add_section(std::string_view key, std::string_view doc, const TomlWriter& child) {
  sections_ += "\n[" + prefix_ + std::string(key) + "]\n";
  if (comments_ && !doc.empty()) sections_ += "# == " + std::string(doc) + " ==\n";
  sections_ += child.keys_;
  sections_ += child.sections_;
}

void MarkdownWriter::row(std::string_view key, const char* type, const std::string& value, const FieldInfo& info) {
  std::string doc = info.doc;
  const std::string r = describe_range(info);
  if (!r.empty()) doc += " (" + r + ")";
  std::string escaped_value;
  for (char c : value) escaped_value += (c == '|') ? std::string("\\|") : std::string(1, c);
  rows_ += fmt::format("| `{}{}` | {} | `{}` | {} |\n", prefix_, key, type, escaped_value, doc);
}

void MarkdownWriter::add_section(std::string_view key, const MarkdownWriter& child) {
  sections_ += "\n## `[" + prefix_ + std::string(key) + "]` " + child.title_ + "\n\n";
  sections_ += child.rows_;
  sections_ += child.sections_;
}

std::string MarkdownWriter::str() const {
  std::string top = rows_.empty() ? "" : "| key | type | default | description |\n|---|---|---|---|\n" + rows_;
  return top + sections_;
}

}  // namespace imagine::config
