#include "imagine/core/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "imagine/core/error.h"

namespace imagine::config {

namespace {
enum class Mode { kArea, kBilinear };
constexpr EnumNames<Mode, 2> enum_names(Mode) { return {{{Mode::kArea, "area"}, {Mode::kBilinear, "bilinear"}}}; }

struct Inner {
  int64_t size = 64;
  Mode mode = Mode::kArea;
  template <class V>
  void visit(V& v) {
    v.field("size", size, {"side length", Range{8, 1024}});
    v.field("mode", mode, {"resize mode"});
  }
};
struct Outer {
  double lr = 1e-4;
  bool flag = false;
  std::string name = "x";
  std::vector<int64_t> channels = {32, 64};
  Inner inner;
  template <class V>
  void visit(V& v) {
    v.field("lr", lr, {"learning rate", Range{0, 1}});
    v.field("flag", flag, {"a switch"});
    v.field("name", name, {"a name"});
    v.field("channels", channels, {"channel list"});
    v.section("inner", inner, "Inner things");
  }
};

std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
  try {
    const std::string path = testing::TempDir() + "/cfg.toml";
    std::ofstream(path) << text;
    read<Outer>(Document::parse(path, sets));
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(ConfigTest, ReadsValuesAndKeepsDefaults) {
  auto doc = Document::parse_string("lr = 0.5\n[inner]\nmode = \"bilinear\"\n", "t.toml");
  const Outer o = read<Outer>(doc);
  EXPECT_DOUBLE_EQ(o.lr, 0.5);
  EXPECT_EQ(o.inner.mode, Mode::kBilinear);
  EXPECT_EQ(o.inner.size, 64);
  EXPECT_EQ(o.channels, (std::vector<int64_t>{32, 64}));
}

TEST(ConfigTest, IntegerAcceptedWhereFloatExpected) {
  EXPECT_DOUBLE_EQ(read<Outer>(Document::parse_string("lr = 1", "t")).lr, 1.0);
}

TEST(ConfigTest, UnknownKeyNamesKeyAndPosition) {
  const std::string e = error_of("lr = 0.1\n[inner]\nsise = 3\n");
  EXPECT_NE(e.find("unknown key 'inner.sise'"), std::string::npos) << e;
  EXPECT_NE(e.find("cfg.toml:3:"), std::string::npos) << e;
  EXPECT_NE(e.find("size"), std::string::npos) << "valid keys listed: " << e;
}

TEST(ConfigTest, WrongTypeNamesExpectedType) {
  const std::string e = error_of("flag = 3\n");
  EXPECT_NE(e.find("'flag' must be a boolean"), std::string::npos) << e;
  EXPECT_NE(e.find("got integer"), std::string::npos) << e;
  EXPECT_NE(e.find("cfg.toml:1:"), std::string::npos) << e;
}

TEST(ConfigTest, OutOfRangeNamesRange) {
  const std::string e = error_of("[inner]\nsize = 4\n");
  EXPECT_NE(e.find("'inner.size' = 4 is out of range"), std::string::npos) << e;
  EXPECT_NE(e.find("[8, 1024]"), std::string::npos) << e;
  EXPECT_NE(e.find("cfg.toml:2:"), std::string::npos) << e;
}

TEST(ConfigTest, EnumNameOutsideItsNamesIsRejected) {
  const std::string e = error_of("[inner]\nmode = \"cubic\"\n");
  EXPECT_NE(e.find("'inner.mode' = \"cubic\" is not allowed"), std::string::npos) << e;
  EXPECT_NE(e.find("one of \"area\", \"bilinear\""), std::string::npos) << e;
  EXPECT_NE(e.find("cfg.toml:2:"), std::string::npos) << e;
  EXPECT_NE(error_of("", {"inner.mode=1"}).find("must be a string"), std::string::npos);
}

TEST(ConfigTest, EnumNamesMapBothWays) {
  EXPECT_EQ(enum_name(Mode::kBilinear), "bilinear");
  EXPECT_EQ(enum_from_name<Mode>("area"), Mode::kArea);
  EXPECT_EQ(enum_from_name<Mode>("Area"), std::nullopt);
  EXPECT_EQ(enum_choices<Mode>(), (std::vector<std::string>{"area", "bilinear"}));
  EXPECT_EQ(read<Outer>(Document::parse_string("", "t")).inner.mode, Mode::kArea);
}

TEST(ConfigTest, SectionMustBeTable) {
  EXPECT_NE(error_of("inner = 3\n").find("must be a table"), std::string::npos);
}

TEST(ConfigTest, SyntaxErrorHasPosition) {
  const std::string e = error_of("lr = = 3\n");
  EXPECT_NE(e.find("cfg.toml:1:"), std::string::npos) << e;
  EXPECT_NE(e.find("syntax"), std::string::npos) << e;
}

TEST(ConfigTest, OverridesApplyOnTopOfFile) {
  const std::string path = testing::TempDir() + "/cfg2.toml";
  std::ofstream(path) << "lr = 0.1\nname = \"file\"\n";
  const Outer o = read<Outer>(Document::parse(path, {"lr=0.2", "inner.size=128", "name=minatar/breakout",
                                                      "channels=[1, 2, 3]"}));
  EXPECT_DOUBLE_EQ(o.lr, 0.2);
  EXPECT_EQ(o.inner.size, 128);
  EXPECT_EQ(o.name, "minatar/breakout");  // bare text taken as a string
  EXPECT_EQ(o.channels, (std::vector<int64_t>{1, 2, 3}));
}

TEST(ConfigTest, BadOverrideNamesTheOverride) {
  const std::string e = error_of("", {"inner.size=big"});
  EXPECT_NE(e.find("--set inner.size=big"), std::string::npos) << e;
  EXPECT_NE(e.find("must be an integer"), std::string::npos) << e;
  EXPECT_NE(error_of("", {"novalue"}).find("expected key.path=value"), std::string::npos);
  EXPECT_NE(error_of("", {"bogus.key=1"}).find("unknown key 'bogus'"), std::string::npos);
}

TEST(ConfigTest, MissingFileIsUserError) {
  EXPECT_THROW(Document::parse("/nonexistent/x.toml", {}), UserError);
}

TEST(ConfigTest, WrittenTomlReadsBackIdentically) {
  Outer o;
  o.lr = 0.125;
  o.flag = true;
  o.name = "quote\"and\\slash";
  o.channels = {7};
  o.inner.size = 100;
  o.inner.mode = Mode::kBilinear;
  const std::string text = to_toml(o);
  EXPECT_NE(text.find("# learning rate"), std::string::npos);
  Outer back = read<Outer>(Document::parse_string(text, "round"));
  EXPECT_DOUBLE_EQ(back.lr, o.lr);
  EXPECT_EQ(back.flag, o.flag);
  EXPECT_EQ(back.name, o.name);
  EXPECT_EQ(back.channels, o.channels);
  EXPECT_EQ(back.inner.size, o.inner.size);
  EXPECT_EQ(back.inner.mode, Mode::kBilinear);
  EXPECT_NE(text.find("mode = \"bilinear\""), std::string::npos) << text;
  EXPECT_EQ(flatten(back).at("inner.mode"), "\"bilinear\"");
  EXPECT_EQ(to_toml(back), text);
}

TEST(ConfigTest, SectionLookupAndMarkdown) {
  Outer o;
  EXPECT_NE(section_to_toml(o, "inner").find("[inner]"), std::string::npos);
  EXPECT_THROW(section_to_toml(o, "nope"), UserError);
  MarkdownWriter md;
  o.visit(md);
  EXPECT_NE(md.str().find("| `inner.size` | integer | `64` | side length (in [8, 1024]) |"), std::string::npos)
      << md.str();
  EXPECT_NE(md.str().find("| `inner.mode` | string | `\"area\"` | resize mode (one of \"area\", \"bilinear\") |"),
            std::string::npos)
      << md.str();
}

}  // namespace imagine::config
