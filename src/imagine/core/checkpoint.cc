#include "imagine/core/checkpoint.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "imagine/core/error.h"
#include "imagine/core/files.h"
#include "imagine/core/log.h"

namespace fs = std::filesystem;

namespace imagine {

namespace {
constexpr int kFormatVersion = 1;

torch::Tensor bytes_tensor(const std::string& s) {
  auto t = torch::empty({static_cast<int64_t>(s.size())}, torch::kUInt8);
  std::memcpy(t.data_ptr<uint8_t>(), s.data(), s.size());
  return t;
}
std::string tensor_bytes(const torch::Tensor& t) {
  auto c = t.contiguous();
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), static_cast<size_t>(c.numel()));
}
}  // namespace

namespace {
// File layout: kHead, the LibTorch archive, then the trailer: its length (uint64), its CRC-32
// (uint32) and kTail. Files of imagine 0.1 before checksums are bare archives (zip, "PK").
constexpr char kHead[8] = {'I', 'M', 'G', 'C', 'K', 'P', 'T', '1'};
constexpr char kTail[8] = {'I', 'M', 'G', 'C', 'K', 'E', 'N', 'D'};
constexpr int64_t kTrailerBytes = 8 + 4 + 8;

std::string step_file_name(int64_t step) { return fmt::format("step-{:09d}.pt", step); }

// The step of "step-000000123.pt", or -1 for any other name.
int64_t parse_step_file_name(const std::string& name) {
  if (name.size() != 17 || name.rfind("step-", 0) != 0 || name.substr(14) != ".pt") return -1;
  const std::string digits = name.substr(5, 9);
  if (digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoll(digits);
}

// Where the archive lies in a checkpoint file, after its framing is checked.
struct Payload {
  int64_t offset = 0;
  int64_t size = 0;
};

Payload check_framing(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError("cannot read checkpoint '" + path + "': " + std::strerror(errno));
  std::error_code ec;
  const auto file_size = static_cast<int64_t>(fs::file_size(path, ec));
  char head[8] = {};
  in.read(head, sizeof head);
  if (in && head[0] == 'P' && head[1] == 'K') {
    spdlog::warn("checkpoint '{}' has no checksum (written by an older imagine); its integrity is not checked", path);
    return {0, file_size};
  }
  const auto corrupt = [&](const std::string& why) {
    return UserError("checkpoint '" + path + "' is corrupt (" + why + "); use an earlier checkpoint");
  };
  if (!in || std::memcmp(head, kHead, sizeof head) != 0) throw corrupt("not an imagine checkpoint");
  if (file_size < static_cast<int64_t>(sizeof head) + kTrailerBytes) throw corrupt("truncated");
  uint64_t size = 0;
  uint32_t stored_crc = 0;
  char tail[8] = {};
  in.seekg(file_size - kTrailerBytes);
  in.read(reinterpret_cast<char*>(&size), sizeof size);
  in.read(reinterpret_cast<char*>(&stored_crc), sizeof stored_crc);
  in.read(tail, sizeof tail);
  if (!in || std::memcmp(tail, kTail, sizeof tail) != 0) throw corrupt("truncated");
  if (size != static_cast<uint64_t>(file_size) - sizeof head - kTrailerBytes)
    throw corrupt(fmt::format("{} bytes of content, its trailer says {}", file_size - 8 - kTrailerBytes, size));
  in.seekg(sizeof head);
  std::vector<char> buffer(1 << 20);
  uint32_t crc = 0;
  for (uint64_t left = size; left > 0;) {
    const auto n = static_cast<std::streamsize>(std::min<uint64_t>(left, buffer.size()));
    in.read(buffer.data(), n);
    if (!in) throw corrupt("truncated");
    crc = crc32_update(crc, buffer.data(), static_cast<size_t>(n));
    left -= static_cast<uint64_t>(n);
  }
  if (crc != stored_crc) throw corrupt(fmt::format("checksum {:08x}, expected {:08x}", crc, stored_crc));
  return {static_cast<int64_t>(sizeof head), static_cast<int64_t>(size)};
}

std::string describe_steps(const std::vector<int64_t>& steps) {
  if (steps.empty()) return "it has none";
  std::string s;
  const size_t shown = std::min<size_t>(steps.size(), 12);
  for (size_t i = steps.size() - shown; i < steps.size(); ++i) s += (s.empty() ? "" : ", ") + std::to_string(steps[i]);
  return (steps.size() > shown ? "the newest are " : "it has ") + s;
}
}  // namespace

std::string save_checkpoint(const std::string& dir, int64_t step, const std::string& kind,
                            const std::function<void(OutputArchive&, nlohmann::json& meta)>& fill) {
  fs::create_directories(dir);
  OutputArchive archive;
  nlohmann::json meta;
  meta["format_version"] = kFormatVersion;
  meta["kind"] = kind;
  meta["step"] = step;
  fill(archive, meta);
  archive.write("meta", bytes_tensor(meta.dump()));
  const std::string name = step_file_name(step);
  const std::string path = dir + "/" + name;
  write_file_atomically(path, [&](std::ostream& out) {
    out.write(kHead, sizeof kHead);
    uint64_t size = 0;
    uint32_t crc = 0;
    archive.save_to([&](const void* data, size_t n) -> size_t {
      out.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
      crc = crc32_update(crc, data, n);
      size += n;
      return out ? n : 0;
    });
    out.write(reinterpret_cast<const char*>(&size), sizeof size);
    out.write(reinterpret_cast<const char*>(&crc), sizeof crc);
    out.write(kTail, sizeof kTail);
  });
  write_text_atomically(dir + "/latest", name + "\n");
  return path;
}

std::vector<int64_t> checkpoint_steps(const std::string& dir) {
  std::vector<int64_t> steps;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const int64_t step = parse_step_file_name(entry.path().filename().string());
    if (step >= 0 && entry.is_regular_file()) steps.push_back(step);
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

std::optional<std::string> find_checkpoint(const std::string& dir, std::optional<int64_t> step) {
  const std::vector<int64_t> steps = checkpoint_steps(dir);
  if (step) {
    if (*step < 0) throw UserError(fmt::format("--checkpoint {} is negative: give the step of a checkpoint", *step));
    if (std::find(steps.begin(), steps.end(), *step) == steps.end())
      throw UserError(fmt::format("'{}' has no checkpoint at step {}; {}", dir, *step, describe_steps(steps)));
    return dir + "/" + step_file_name(*step);
  }
  std::string reason;
  if (fs::exists(dir + "/latest")) {
    std::string name = read_text_file(dir + "/latest");
    while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
    if (parse_step_file_name(name) >= 0 && fs::is_regular_file(dir + "/" + name)) return dir + "/" + name;
    reason = parse_step_file_name(name) >= 0 ? "names the missing file '" + name + "'"
                                             : "is corrupt ('" + printable(name.substr(0, 40)) + "')";
  } else {
    reason = "is missing";
  }
  if (steps.empty()) return std::nullopt;
  spdlog::warn("'{}/latest' {}: using the newest checkpoint, step {}", dir, reason, steps.back());
  return dir + "/" + step_file_name(steps.back());
}

void prune_checkpoints(const std::string& dir, int64_t keep_last, int64_t keep_every) {
  if (keep_last <= 0) return;
  const std::vector<int64_t> steps = checkpoint_steps(dir);
  const auto latest = find_checkpoint(dir);
  for (size_t i = 0; i + static_cast<size_t>(keep_last) < steps.size(); ++i) {
    const int64_t step = steps[i];
    const std::string path = dir + "/" + step_file_name(step);
    if ((keep_every > 0 && step % keep_every == 0) || (latest && *latest == path)) continue;
    std::error_code ec;
    fs::remove(path, ec);
  }
}

int64_t load_checkpoint(const std::string& path, const std::string& kind,
                        const std::function<void(InputArchive&, const nlohmann::json& meta)>& read) {
  if (!fs::is_regular_file(path)) throw UserError("checkpoint '" + path + "' does not exist");
  const Payload payload = check_framing(path);
  std::ifstream in(path, std::ios::binary);  // read through until the archive is done
  InputArchive archive;
  nlohmann::json meta;
  try {
    // Tensors come back on the CPU whatever device saved them, so a GPU run's checkpoints open
    // on a machine without CUDA; each job moves what it loads to its own device.
    archive.load_from(
        [&](uint64_t pos, void* buf, size_t n) -> size_t {
          if (pos >= static_cast<uint64_t>(payload.size)) return 0;
          n = std::min<size_t>(n, static_cast<size_t>(payload.size - static_cast<int64_t>(pos)));
          in.clear();
          in.seekg(payload.offset + static_cast<int64_t>(pos));
          in.read(static_cast<char*>(buf), static_cast<std::streamsize>(n));
          return static_cast<size_t>(in.gcount());
        },
        [&]() -> size_t { return static_cast<size_t>(payload.size); }, c10::Device(c10::kCPU));
    torch::Tensor meta_bytes;
    archive.read("meta", meta_bytes);
    meta = nlohmann::json::parse(tensor_bytes(meta_bytes));
    if (!meta.is_object() || !meta.contains("step") || !meta["step"].is_number_integer() ||
        !meta.contains("kind") || !meta["kind"].is_string() || !meta.contains("format_version") ||
        !meta["format_version"].is_number_integer())
      throw std::runtime_error("meta");
  } catch (const std::exception& e) {
    throw UserError("checkpoint '" + path + "' is corrupt or not an imagine checkpoint");
  }
  if (meta.value("format_version", 0) != kFormatVersion)
    throw UserError(fmt::format("checkpoint '{}' has format version {}, this build reads {}", path,
                                meta.value("format_version", 0), kFormatVersion));
  if (!kind.empty() && meta.value("kind", std::string()) != kind)
    throw UserError(fmt::format("checkpoint '{}' was written by a '{}' run, not '{}'", path,
                                meta.value("kind", std::string("?")), kind));
  try {
    read(archive, meta);
  } catch (const UserError&) {
    throw;
  } catch (const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    throw UserError("checkpoint '" + path + "' does not match this configuration: " + what);
  }
  return meta.at("step").get<int64_t>();
}

nlohmann::json rng_to_json(const Rng& rng) {
  const auto& s = rng.state();
  return nlohmann::json::array({s[0], s[1], s[2], s[3]});
}

void rng_from_json(const nlohmann::json& j, Rng& rng) {
  Rng::State s;
  for (size_t i = 0; i < 4; ++i) s[i] = j.at(i).get<uint64_t>();
  rng.set_state(s);
}

void save_torch_rng(OutputArchive& archive) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  archive.write("torch_rng", gen.get_state());
}

void load_torch_rng(InputArchive& archive) {
  torch::Tensor state;
  archive.read("torch_rng", state);
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

}  // namespace imagine
