#include "imagine/core/checkpoint.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>
#include <sstream>

#include "imagine/core/error.h"
#include "imagine/core/files.h"

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
  const std::string name = fmt::format("step-{:09d}.pt", step);
  const std::string path = dir + "/" + name;
  write_file_atomically(path, [&](std::ostream& out) { archive.save_to(out); });
  write_text_atomically(dir + "/latest", name + "\n");
  return path;
}

std::optional<std::string> find_checkpoint(const std::string& dir, std::optional<int64_t> step) {
  if (step) {
    const std::string path = dir + "/" + fmt::format("step-{:09d}.pt", *step);
    if (!fs::exists(path)) return std::nullopt;
    return path;
  }
  if (!fs::exists(dir + "/latest")) return std::nullopt;
  std::string name = read_text_file(dir + "/latest");
  while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
  if (name.empty() || name.find('/') != std::string::npos)
    throw UserError("'" + dir + "/latest' is corrupt: expected a checkpoint file name");
  return dir + "/" + name;
}

int64_t load_checkpoint(const std::string& path, const std::string& kind,
                        const std::function<void(InputArchive&, const nlohmann::json& meta)>& read) {
  if (!fs::is_regular_file(path)) throw UserError("checkpoint '" + path + "' does not exist");
  InputArchive archive;
  nlohmann::json meta;
  try {
    // Tensors come back on the CPU whatever device saved them, so a GPU run's checkpoints open
    // on a machine without CUDA; each job moves what it loads to its own device.
    archive.load_from(path, c10::Device(c10::kCPU));
    torch::Tensor meta_bytes;
    archive.read("meta", meta_bytes);
    meta = nlohmann::json::parse(tensor_bytes(meta_bytes));
  } catch (const std::exception& e) {
    throw UserError("checkpoint '" + path + "' is corrupt or not an imagine checkpoint");
  }
  if (meta.value("format_version", 0) != kFormatVersion)
    throw UserError(fmt::format("checkpoint '{}' has format version {}, this build reads {}", path,
                                meta.value("format_version", 0), kFormatVersion));
  if (meta.value("kind", std::string()) != kind)
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
