#include "imagine/envs/atari/roms.h"

#include <cstdlib>
#include <filesystem>

#include "imagine/core/error.h"
#include "imagine/core/md5.h"

namespace imagine::envs::atari {

namespace {
std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

const KnownRom* lookup(const std::string& game) {
  for (const KnownRom& rom : known_roms()) {
    if (game == rom.game) return &rom;
  }
  return nullptr;
}
}  // namespace

const std::vector<KnownRom>& known_roms() {
  // MD5s of the ROM dumps that ALE supports for these games.
  static const std::vector<KnownRom> roms = {
      {"alien", "f1a0a23e6464d954e3a9579c4ccd01c8"},
      {"amidar", "acb7750b4d0c4bd34969802a7deb2990"},
      {"assault", "de78b3a064d374390ac0710f95edde92"},
      {"asterix", "89a68746eff7f266bbf08de2483abe55"},
      {"bank_heist", "00ce0bdd43aed84a983bef38fe7f5ee3"},
      {"battle_zone", "41f252a66c6301f1e8ab3612c19bc5d4"},
      {"bowling", "c9b7afad3bfd922e006a6bfc1d4f3fe7"},
      {"boxing", "c3ef5c4653212088eda54dc91d787870"},
      {"breakout", "f34f08e5eb96e500e851a80be3277a56"},
      {"centipede", "91c2098e88a6b13f977af8c003e0bca5"},
      {"chopper_command", "c1cb228470a87beb5f36e90ac745da26"},
      {"crazy_climber", "55ef7b65066428367844342ed59f956c"},
      {"demon_attack", "f0e0addc07971561ab80d9abe1b8d333"},
      {"freeway", "8e0ab801b1705a740b476b7f588c6d16"},
      {"frostbite", "4ca73eb959299471788f0b685c3ba0b5"},
      {"gopher", "c16c79aad6272baffb8aae9a7fff0864"},
      {"hero", "fca4a5be1251927027f2c24774a02160"},
      {"jamesbond", "e51030251e440cffaab1ac63438b44ae"},
      {"kangaroo", "4326edb70ff20d0ee5ba58fa5cb09d60"},
      {"krull", "4baada22435320d185c95b7dd2bcdb24"},
      {"kung_fu_master", "5b92a93b23523ff16e2789b820e2a4c5"},
      {"ms_pacman", "87e79cd41ce136fd4f72cc6e2c161bee"},
      {"pong", "60e0ea3cbe0913d39803477945e9e5ec"},
      {"private_eye", "ef3a4f64b6494ba770862768caf04b86"},
      {"qbert", "484b0076816a104875e00467d431c2d2"},
      {"road_runner", "ce5cc62608be2cd3ed8abd844efb8919"},
      {"seaquest", "240bfbac5163af4df5ae713985386f92"},
      {"surround", "4d7517ae69f95cfbc053be01312b7dba"},
      {"up_n_down", "a499d720e7ee35c62424de882a3351b6"},
  };
  return roms;
}

std::vector<std::string> known_games() {
  std::vector<std::string> out;
  for (const KnownRom& rom : known_roms()) out.emplace_back(rom.game);
  return out;
}

bool is_atari_100k_game(const std::string& game) {
  // Every known ROM except the extras belongs to the Atari 100k benchmark.
  return lookup(game) != nullptr && game != "bowling" && game != "centipede" && game != "surround";
}

std::string game_of_id(const std::string& id) {
  const std::string prefix = "atari/";
  if (id.compare(0, prefix.size(), prefix) != 0) throw UserError("'" + id + "' is not an atari/<game> id");
  const std::string game = id.substr(prefix.size());
  if (!lookup(game)) {
    throw UserError("unknown Atari game '" + game + "' in '" + id + "' (known games: " + joined(known_games()) + ")");
  }
  return game;
}

std::string rom_dir(const std::string& rom_dir_option) {
  if (!rom_dir_option.empty()) return rom_dir_option;
  const char* env = std::getenv("IMAGINE_ROM_DIR");
  return env ? std::string(env) : std::string();
}

void check_rom(const std::string& game, const std::string& path) {
  const KnownRom* rom = lookup(game);
  if (!rom) throw UserError("unknown Atari game '" + game + "' (known games: " + joined(known_games()) + ")");
  const std::string md5 = md5_file_hex(path);
  if (md5 != rom->md5) {
    throw UserError("ROM '" + path + "' has MD5 " + md5 + ", which is not a supported ROM of " + game +
                    " (expected " + rom->md5 + ")");
  }
}

std::string find_rom(const std::string& game, const std::string& rom_dir_option) {
  if (!lookup(game)) {
    throw UserError("unknown Atari game '" + game + "' (known games: " + joined(known_games()) + ")");
  }
  const std::string dir = rom_dir(rom_dir_option);
  if (dir.empty()) {
    throw UserError("no Atari ROM folder configured for atari/" + game + ": set env.rom_dir or IMAGINE_ROM_DIR");
  }
  const std::string path = (std::filesystem::path(dir) / (game + ".bin")).string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw UserError("ROM file '" + path + "' for atari/" + game + " not found (env.rom_dir or IMAGINE_ROM_DIR)");
  }
  check_rom(game, path);
  return path;
}

}  // namespace imagine::envs::atari
