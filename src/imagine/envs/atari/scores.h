#pragma once
// Reference scores of the Atari 100k benchmark, independent of ALE: the random and human
// scores that define the human-normalised score (HNS), and the per-game means published by
// STORM and IRIS (specs/atari100k-scores.md).
#include <string>
#include <vector>

namespace imagine::envs {

struct AtariReferenceScores {
  const char* game;  // id suffix, as in atari/<game>: "ms_pacman"
  const char* name;  // as the papers print it: "MsPacman"
  double random;     // score of a uniformly random policy
  double human;      // score of a human tester
  double iris;       // IRIS: mean over its 5 published seeds
  double storm;      // STORM: mean over its 5 released runs
};

// The 26 games of Atari 100k, in alphabetical order of name.
const std::vector<AtariReferenceScores>& atari100k_scores();

// The scores of `game` (the id suffix, "ms_pacman"), or nullptr if it is not one of the 26.
const AtariReferenceScores* find_atari100k_scores(const std::string& game);
// Same for an environment id: "atari/ms_pacman"; nullptr for ids outside atari/.
const AtariReferenceScores* find_atari100k_scores_for_id(const std::string& env_id);

// (score - random) / (human - random): 0 is a random policy, 1 a human tester.
double human_normalized_score(double score, double random, double human);
inline double human_normalized_score(double score, const AtariReferenceScores& ref) {
  return human_normalized_score(score, ref.random, ref.human);
}

}  // namespace imagine::envs
