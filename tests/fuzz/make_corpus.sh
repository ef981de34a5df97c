#!/usr/bin/env bash
# Seed corpora for the libFuzzer targets, made with the imagine binary (docs/fuzzing.md):
#   tests/fuzz/make_corpus.sh build/release/bin/imagine OUT_DIR
set -euo pipefail
imagine=${1:?usage: $0 IMAGINE_BINARY OUT_DIR}
out=${2:?usage: $0 IMAGINE_BINARY OUT_DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"/config "$out"/dataset "$out"/checkpoint
cp "$root"/configs/*.toml "$root"/configs/ssm/*.toml "$out"/config/
printf -- '--set\nenv.id=minatar/asterix\nworld_model.dim=64\nstorm.acting="storm"\n' > "$out"/config/sets.txt
"$imagine" collect minatar/breakout --steps 48 --envs 2 --heldout 0.5 --force --out "$out"/dataset/symbolic.replay 2>/dev/null
"$imagine" collect minatar/breakout --steps 16 --envs 1 --heldout 0 --force --set env.obs=rgb --set env.image_size=10 \
  --out "$out"/dataset/rgb.replay 2>/dev/null
run=$(mktemp -d)
"$imagine" train --set kind=a2c --set steps=32 --set checkpoint_every=32 --set eval_episodes=0 --set a2c.num_envs=2 \
  --set a2c.rollout=16 --set a2c.hidden=4 --run-dir "$run"/r --force 2>/dev/null
ckpt=$(ls "$run"/r/checkpoints/step-*.pt | head -1)
# The fuzz target's first byte: 0 = a whole file, 1 = an archive it frames with a correct CRC.
{ printf '\0'; cat "$ckpt"; } > "$out"/checkpoint/file
size=$(stat -c %s "$ckpt")
{ printf '\1'; tail -c +9 "$ckpt" | head -c $((size - 8 - 20)); } > "$out"/checkpoint/archive
rm -rf "$run"
