#pragma once
// Atari ROM lookup and recognition, independent of ALE: ROMs are checked here, by MD5,
// before ALE sees them (ALE exits the process on a ROM it does not know).
#include <string>
#include <vector>

namespace imagine::envs::atari {

struct KnownRom {
  const char* game;  // id suffix and file stem, e.g. "ms_pacman" for atari/ms_pacman
  const char* md5;   // of the supported ROM dump
};

// The ROMs this build recognises: the 26 Atari 100k games and a few more.
const std::vector<KnownRom>& known_roms();
std::vector<std::string> known_games();
bool is_atari_100k_game(const std::string& game);

// "pong" for "atari/pong"; raises UserError for ids outside atari/ or unknown games.
std::string game_of_id(const std::string& id);

// The ROM folder: `rom_dir_option` if set, else $IMAGINE_ROM_DIR, else "".
std::string rom_dir(const std::string& rom_dir_option);

// Path of <dir>/<game>.bin after checking that it exists and has the game's MD5. Raises a
// one-line UserError when no folder is configured, the file is missing or the MD5 differs.
std::string find_rom(const std::string& game, const std::string& rom_dir_option);

// Checks that the file at `path` is the supported ROM of `game` (UserError if not).
void check_rom(const std::string& game, const std::string& path);

}  // namespace imagine::envs::atari
