#include "imagine/envs/builtin/minipacman/minipacman.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace imagine::envs::minipacman {

namespace {

constexpr const char* kMaze[kRows] = {
    "1111111111111111111", "1000100000000010001", "1010101111111010101", "1000000000000000001",
    "1010101111111010101", "1010000000000000101", "1011110111110111101", "1000000111110000001",
    "1011110111110111101", "1010000000000000101", "1010101111111010101", "1000000000000000001",
    "1010101111111010101", "1000100000000010001", "1111111111111111111",
};

// Cell offsets of the directions right, up, left, down.
constexpr std::array<int, 4> kOffset = {1, -kCols, -1, kCols};
constexpr double kRandomTurnProb = 0.05;

// The maze in the forms the step loop wants, computed once.
struct MazeTables {
  std::array<uint8_t, kCells> wall{};        // 1 on walls
  std::array<uint8_t, kCells> wall_plane{};  // 255 on walls
  std::array<uint8_t, kCells> full_food{};   // 255 on corridors
  std::array<uint8_t, kCells> exits{};       // bit d set when direction d leads to a corridor
  std::vector<int> corridors;                // corridor cells in row-major order
  // round(255 * (20 - p) / 20) and round(255 * p / 20), halves rounded up, for p = 0..20.
  std::array<uint8_t, kPowerSteps + 1> ghost_value{}, edible_value{};

  MazeTables() {
    for (int r = 0; r < kRows; ++r)
      for (int c = 0; c < kCols; ++c) {
        const int i = r * kCols + c;
        wall[i] = kMaze[r][c] == '1';
        wall_plane[i] = wall[i] ? 255 : 0;
        full_food[i] = wall[i] ? 0 : 255;
        if (!wall[i]) corridors.push_back(i);
      }
    for (int i : corridors)
      for (int d = 0; d < 4; ++d)
        if (!wall[i + kOffset[d]]) exits[i] |= static_cast<uint8_t>(1 << d);
    for (int p = 0; p <= kPowerSteps; ++p) {
      ghost_value[p] = static_cast<uint8_t>((255 * (kPowerSteps - p) + kPowerSteps / 2) / kPowerSteps);
      edible_value[p] = static_cast<uint8_t>((255 * p + kPowerSteps / 2) / kPowerSteps);
    }
  }
};

const MazeTables& maze() {
  static const MazeTables tables;
  return tables;
}

const std::array<ModeRules, 5> kRules = {{
    {"regular", 0.0f, 1.0f, 2.0f, 5.0f, 0.0f, true, false, false, 0},
    {"avoid", 0.1f, -0.1f, -5.0f, -10.0f, -20.0f, true, false, false, 128},
    {"hunt", 0.0f, 0.0f, 1.0f, 10.0f, -20.0f, false, true, false, 0},
    {"ambush", 0.0f, -0.1f, 0.0f, 10.0f, -20.0f, false, true, false, 0},
    {"rush", 0.0f, -0.1f, 10.0f, 0.0f, 0.0f, false, false, true, 0},
}};

int reverse(int dir) { return (dir + 2) & 3; }

}  // namespace

const ModeRules& mode_rules(Mode mode) { return kRules[static_cast<size_t>(mode)]; }

bool is_wall(int row, int col) {
  if (row < 0 || row >= kRows || col < 0 || col >= kCols) return true;
  return maze().wall[row * kCols + col] != 0;
}

int corridor_count() { return static_cast<int>(maze().corridors.size()); }

MiniPacman::MiniPacman(Mode mode, const EnvOptions& options)
    : mode_(mode),
      rules_(mode_rules(mode)),
      sticky_prob_(options.sticky_action_prob < 0 ? 0.0 : options.sticky_action_prob) {
  spec_.id = std::string("minipacman/") + rules_.name;
  spec_.channels = kChannels;
  spec_.height = kRows;
  spec_.width = kCols;
  spec_.obs_scale = 1.0f / 255.0f;
  spec_.num_actions = kNumActions;
  spec_.action_meanings = {"stay", "right", "up", "left", "down"};
  spec_.frame_skip = 1;
  // At most one level ends per step, so an episode of `cap` steps reaches level cap + 1 with
  // 1 + cap / 2 ghosts. Reserve that (bounded: beyond it the vector grows, rarely).
  const int64_t cap = options.max_episode_steps > 0 ? options.max_episode_steps : kDefaultFrameCap;
  ghosts_.reserve(static_cast<size_t>(std::min<int64_t>(2 + cap / 2, 1 << 14)));
  std::memcpy(base_planes_.data(), maze().wall_plane.data(), kCells);
}

void MiniPacman::start_level(int level) {
  const MazeTables& m = maze();
  const int n = static_cast<int>(m.corridors.size());
  level_ = level;
  level_steps_ = 0;
  power_ = 0;
  std::memcpy(&food(0), m.full_food.data(), kCells);
  food_left_ = n;
  // Two pills at distinct uniformly random corridor cells.
  const int first = static_cast<int>(rng_.uniform_int(0, n - 1));
  int second = static_cast<int>(rng_.uniform_int(0, n - 2));
  if (second >= first) ++second;
  pills_ = {m.corridors[first], m.corridors[second]};
  num_pills_ = kNumPills;
  player_ = m.corridors[rng_.uniform_int(0, n - 1)];
  // Ghosts outside the window rows pr-5..pr+4, columns pc-5..pc+4 (rejection sampling keeps
  // the draw uniform over the allowed cells).
  const int pr = player_ / kCols, pc = player_ % kCols;
  const int num_ghosts = 1 + (level - 1) / 2;
  ghosts_.clear();
  for (int g = 0; g < num_ghosts; ++g) {
    int pos;
    do {
      pos = m.corridors[rng_.uniform_int(0, n - 1)];
    } while (pos / kCols >= pr - 5 && pos / kCols <= pr + 4 && pos % kCols >= pc - 5 && pos % kCols <= pc + 4);
    ghosts_.push_back({pos, static_cast<int>(rng_.uniform_int(0, 3))});
  }
  speed_ = 0.5 + 0.1 * (level - 1);
}

void MiniPacman::reset(uint8_t* obs) {
  terminal_ = false;
  frames_ = 0;
  start_level(1);
  if (obs) write_obs(obs);
}

void MiniPacman::move_ghost(GhostState& ghost) {
  const MazeTables& m = maze();
  unsigned options = m.exits[ghost.pos];
  const int count = __builtin_popcount(options);
  int dir = ghost.dir;
  if (count == 1) {
    dir = __builtin_ctz(options);
  } else if (count == 2) {
    if (!(options & (1u << dir))) {
      // Take the option that is not the reverse (the first in order if neither is).
      options &= ~(1u << reverse(dir));
      dir = __builtin_ctz(options);
    }
  } else if (count >= 3) {
    options &= ~(1u << reverse(dir));
    if (power_ == 0 && rng_.uniform() < kRandomTurnProb) {
      int pick = static_cast<int>(rng_.uniform_int(0, __builtin_popcount(options) - 1));
      while (pick-- > 0) options &= options - 1;  // drop the lowest set bits
      dir = __builtin_ctz(options);
    } else {
      const int dr = player_ / kCols - ghost.pos / kCols;
      const int dc = player_ % kCols - ghost.pos % kCols;
      if (dr != 0 || dc != 0) {
        // Dot products of the unit directions with (dr, dc); normalising does not change
        // the order. Ties go to the first direction in the order right, up, left, down.
        const int dot[4] = {dc, -dr, -dc, dr};
        int best = -1;
        for (int d = 0; d < 4; ++d) {
          if (!(options & (1u << d))) continue;
          if (best < 0 || (power_ == 0 ? dot[d] > dot[best] : dot[d] < dot[best])) best = d;
        }
        dir = best;
      }
    }
  }
  ghost.dir = dir;
  const int next = ghost.pos + kOffset[dir];
  if (!m.wall[next]) ghost.pos = next;
}

StepOutcome MiniPacman::step(int64_t action, uint8_t* obs) {
  if (action < 0 || action >= kNumActions)
    throw std::out_of_range("action " + std::to_string(action) + " outside [0, 5) for " + spec_.id);
  // Sticky actions: the draw comes first, before the game's own draws.
  if (!(sticky_prob_ > 0.0 && rng_.uniform() < sticky_prob_)) last_action_ = action;
  StepOutcome out;
  if (terminal_) {
    out.terminated = true;
    if (obs) write_obs(obs);
    return out;
  }
  const MazeTables& m = maze();

  // 1. Counters.
  float reward = rules_.step_reward;
  ++frames_;
  ++level_steps_;
  if (power_ > 0) --power_;

  // 2. The player moves, then eats.
  if (last_action_ != 0) {
    const int next = player_ + kOffset[static_cast<size_t>(last_action_ - 1)];
    if (!m.wall[next]) player_ = next;
  }
  bool level_ended = false;
  if (food(player_)) {
    food(player_) = 0;
    --food_left_;
    reward += rules_.food_reward;
    if (food_left_ == 0 && rules_.ends_on_food) {
      start_level(level_ + 1);
      level_ended = true;  // the player now stands in the new level; nothing more to eat
    }
  }
  if (!level_ended) {
    for (int i = 0; i < num_pills_; ++i) {
      if (pills_[i] != player_) continue;
      for (int j = i + 1; j < num_pills_; ++j) pills_[j - 1] = pills_[j];
      --num_pills_;
      reward += rules_.pill_reward;
      power_ = kPowerSteps;
      if (num_pills_ == 0 && rules_.ends_on_pills) start_level(level_ + 1);
      break;
    }
  }

  // 3-4. Ghosts, in order: collide, else maybe move and collide.
  const double move_prob = power_ > 0 ? speed_ * 0.5 : speed_;
  for (size_t i = 0; i < ghosts_.size(); ++i) {
    GhostState& ghost = ghosts_[i];
    if (ghost.pos != player_ && rng_.uniform() < move_prob) move_ghost(ghost);
    if (ghost.pos != player_) continue;
    if (power_ == 0) {
      reward += rules_.death_reward;
      out.terminated = true;
      break;
    }
    reward += rules_.ghost_reward;
    ghosts_.erase(ghosts_.begin() + static_cast<std::ptrdiff_t>(i));
    if (ghosts_.empty() && rules_.ends_on_ghosts) start_level(level_ + 1);
    break;  // no further ghost this step
  }

  // 5. Level timer.
  if (!out.terminated && rules_.level_timer > 0 && level_steps_ >= rules_.level_timer) start_level(level_ + 1);

  // 6. The frame cap is the TimeLimit wrapper's (finish_grid_game, default kDefaultFrameCap).
  terminal_ = out.terminated;
  out.reward = reward;
  if (obs) write_obs(obs);
  return out;
}

void MiniPacman::write_obs(uint8_t* obs) const {
  const MazeTables& m = maze();
  // The sizes are read from spec_ at run time on purpose: GCC expands fixed-size memcpy and
  // memset inline as `rep movs/stos`, several times slower than the library calls when the
  // destination is not 8-byte aligned (as in a batch of 1710-byte observations).
  const size_t plane = static_cast<size_t>(spec_.height * spec_.width);
  std::memcpy(obs, base_planes_.data(), 2 * plane);
  std::memset(obs + 2 * plane, 0, 4 * plane);
  obs[2 * kCells + player_] = 255;
  const uint8_t ghost_value = m.ghost_value[power_], edible_value = m.edible_value[power_];
  for (const GhostState& g : ghosts_) {
    obs[3 * kCells + g.pos] = ghost_value;
    obs[4 * kCells + g.pos] = edible_value;
  }
  for (int i = 0; i < num_pills_; ++i) obs[5 * kCells + pills_[i]] = 255;
}

void MiniPacman::cell_colours(uint8_t* rgb) const {
  const MazeTables& m = maze();
  auto paint = [rgb](int pos, uint8_t r, uint8_t g, uint8_t b) {
    rgb[pos * 3] = r;
    rgb[pos * 3 + 1] = g;
    rgb[pos * 3 + 2] = b;
  };
  // Lowest priority first, so that later paints win: corridor, wall, food, pill, ghost, player.
  for (int i = 0; i < kCells; ++i) {
    const uint8_t w = m.wall_plane[i];
    paint(i, w, w, w);
    if (base_planes_[kCells + i]) paint(i, 0, 0, 255);
  }
  for (int i = 0; i < num_pills_; ++i) paint(pills_[i], 0, 255, 255);
  for (const GhostState& g : ghosts_) paint(g.pos, 255, m.edible_value[power_], 0);
  paint(player_, 0, 255, 0);
}

std::vector<Ghost> MiniPacman::ghosts() const {
  std::vector<Ghost> out;
  for (const GhostState& g : ghosts_) out.push_back({g.pos / kCols, g.pos % kCols, g.dir});
  return out;
}

std::vector<Cell> MiniPacman::pills() const {
  std::vector<Cell> out;
  for (int i = 0; i < num_pills_; ++i) out.push_back({pills_[i] / kCols, pills_[i] % kCols});
  return out;
}

int MiniPacman::checked_cell(int row, int col) const {
  TORCH_CHECK(!is_wall(row, col), "MiniPacman test hook: (", row, ", ", col, ") is not a corridor cell");
  return row * kCols + col;
}

void MiniPacman::set_player(int row, int col) { player_ = checked_cell(row, col); }

void MiniPacman::set_ghosts(const std::vector<Ghost>& ghosts) {
  ghosts_.clear();
  for (const Ghost& g : ghosts) {
    TORCH_CHECK(g.dir >= 0 && g.dir < 4, "MiniPacman test hook: ghost direction ", g.dir, " not in 0..3");
    ghosts_.push_back({checked_cell(g.row, g.col), g.dir});
  }
}

void MiniPacman::set_pills(const std::vector<Cell>& pills) {
  TORCH_CHECK(pills.size() <= static_cast<size_t>(kNumPills), "MiniPacman test hook: ", pills.size(),
              " pills, at most 2");
  num_pills_ = 0;
  for (const Cell& p : pills) pills_[num_pills_++] = checked_cell(p.row, p.col);
  TORCH_CHECK(num_pills_ < 2 || pills_[0] != pills_[1], "MiniPacman test hook: pills must be distinct");
}

void MiniPacman::set_food(int row, int col, bool present) {
  const int i = checked_cell(row, col);
  if ((food(i) != 0) != present) food_left_ += present ? 1 : -1;
  food(i) = present ? 255 : 0;
}

void MiniPacman::clear_food() {
  std::memset(&food(0), 0, kCells);
  food_left_ = 0;
}

void MiniPacman::set_power(int power) {
  TORCH_CHECK(power >= 0 && power <= kPowerSteps, "MiniPacman test hook: power ", power, " not in 0..20");
  power_ = power;
}

}  // namespace imagine::envs::minipacman
