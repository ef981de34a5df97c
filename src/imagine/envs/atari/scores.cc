#include "imagine/envs/atari/scores.h"

namespace imagine::envs {

const std::vector<AtariReferenceScores>& atari100k_scores() {
  // Random and human: the standard reference scores. IRIS, STORM: per-game means of the
  // results their authors published (STORM's released runs have Freeway at 0 in every run).
  static const std::vector<AtariReferenceScores> scores = {
      {"alien", "Alien", 227.8, 7127.7, 420.0, 983.6},
      {"amidar", "Amidar", 5.8, 1719.5, 143.0, 204.8},
      {"assault", "Assault", 222.4, 742.0, 1524.4, 801.0},
      {"asterix", "Asterix", 210.0, 8503.3, 853.6, 1028.0},
      {"bank_heist", "BankHeist", 14.2, 753.1, 53.1, 641.2},
      {"battle_zone", "BattleZone", 2360.0, 37187.5, 13074.0, 13540.0},
      {"boxing", "Boxing", 0.1, 12.1, 70.1, 79.7},
      {"breakout", "Breakout", 1.7, 30.5, 83.7, 15.9},
      {"chopper_command", "ChopperCommand", 811.0, 7387.8, 1565.0, 1888.0},
      {"crazy_climber", "CrazyClimber", 10780.5, 35829.4, 59324.2, 66776.0},
      {"demon_attack", "DemonAttack", 152.1, 1971.0, 2034.4, 164.6},
      {"freeway", "Freeway", 0.0, 29.6, 31.1, 0.0},
      {"frostbite", "Frostbite", 65.2, 4334.7, 259.1, 1316.0},
      {"gopher", "Gopher", 257.6, 2412.5, 2236.1, 8239.6},
      {"hero", "Hero", 1027.0, 30826.4, 7037.4, 11044.3},
      {"jamesbond", "Jamesbond", 29.0, 302.8, 462.7, 509.0},
      {"kangaroo", "Kangaroo", 52.0, 3035.0, 838.2, 4208.0},
      {"krull", "Krull", 1598.0, 2665.5, 6616.4, 8412.6},
      {"kung_fu_master", "KungFuMaster", 258.5, 22736.3, 21759.8, 26182.0},
      {"ms_pacman", "MsPacman", 307.3, 6951.6, 999.1, 2673.5},
      {"pong", "Pong", -20.7, 14.6, 14.6, 11.3},
      {"private_eye", "PrivateEye", 24.9, 69571.3, 100.0, 7781.0},
      {"qbert", "Qbert", 163.9, 13455.0, 745.7, 4522.5},
      {"road_runner", "RoadRunner", 11.5, 7845.0, 9614.6, 17564.0},
      {"seaquest", "Seaquest", 68.4, 42054.7, 661.3, 525.2},
      {"up_n_down", "UpNDown", 533.4, 11693.2, 3546.2, 7985.0},
  };
  return scores;
}

const AtariReferenceScores* find_atari100k_scores(const std::string& game) {
  for (const AtariReferenceScores& s : atari100k_scores()) {
    if (game == s.game) return &s;
  }
  return nullptr;
}

const AtariReferenceScores* find_atari100k_scores_for_id(const std::string& env_id) {
  const std::string prefix = "atari/";
  if (env_id.compare(0, prefix.size(), prefix) != 0) return nullptr;
  return find_atari100k_scores(env_id.substr(prefix.size()));
}

double human_normalized_score(double score, double random, double human) {
  return (score - random) / (human - random);
}

}  // namespace imagine::envs
