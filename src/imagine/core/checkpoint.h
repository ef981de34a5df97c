#pragma once
// Checkpoints: one LibTorch archive per saved step, written atomically, plus a `latest`
// file naming the newest. Loop state (counters, RNG states, statistics) travels as JSON
// inside the archive; modules and optimisers as their own archives.
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "imagine/core/rng.h"

namespace torch::serialize {
class OutputArchive;
class InputArchive;
}  // namespace torch::serialize

namespace imagine {

using OutputArchive = torch::serialize::OutputArchive;
using InputArchive = torch::serialize::InputArchive;

// Writes `<dir>/step-<step>.pt` atomically and points `<dir>/latest` at it. `kind` names
// what wrote it, checked on load. The file is the LibTorch archive framed by a magic number
// and a trailer with its length and CRC-32, so any corruption is found on load. Returns the
// path written.
std::string save_checkpoint(const std::string& dir, int64_t step, const std::string& kind,
                            const std::function<void(OutputArchive&, nlohmann::json& meta)>& fill);

// The checkpoint to resume from: `<dir>/latest` (or, when that file is missing or unreadable,
// the newest step file, with a warning), or the one for `step` if given. Raises UserError
// naming the steps that exist when `step` has none.
std::optional<std::string> find_checkpoint(const std::string& dir, std::optional<int64_t> step = std::nullopt);

// Steps of the checkpoint files in `dir`, ascending.
std::vector<int64_t> checkpoint_steps(const std::string& dir);

// Deletes old checkpoints: keeps the newest `keep_last` (0: keep all), every one whose step is
// a multiple of `keep_every` (0: none), and the one `latest` names.
void prune_checkpoints(const std::string& dir, int64_t keep_last, int64_t keep_every);

// Loads a checkpoint; any corruption or mismatch (wrong kind, missing keys, shapes) is a
// UserError naming the file, never a crash. An empty `kind` accepts any (the reader checks
// meta["kind"] itself). Returns the step it was saved at.
int64_t load_checkpoint(const std::string& path, const std::string& kind,
                        const std::function<void(InputArchive&, const nlohmann::json& meta)>& read);

// JSON helpers for RNG states.
nlohmann::json rng_to_json(const Rng& rng);
void rng_from_json(const nlohmann::json& j, Rng& rng);
// LibTorch's default CPU generator state, as the archive entry "torch_rng".
void save_torch_rng(OutputArchive& archive);
void load_torch_rng(InputArchive& archive);

}  // namespace imagine
