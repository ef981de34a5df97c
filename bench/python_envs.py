#!/usr/bin/python3
"""Environment throughput from Python against the C++ VectorEnv (docs/results.md, "Python").

For each id and number of envs: env steps/s of the C++ VectorEnv measured in this process
exactly as `imagine bench envs` measures it (random actions from the library's generator, one
thread), and of imagine.make_vec stepped from Python (one thread) with a random policy whose
actions are drawn in NumPy, one call per step or one call per 16 steps, and with one fixed
action array (what the Python layer itself costs, without the policy's draw).

    PYTHONPATH=build/release/python /usr/bin/python3 bench/python_envs.py [--seconds 2] [--ids a,b]
"""

import argparse
import time

import numpy as np

import imagine
from imagine import _imagine


def python_rate(id, num_envs, seconds, draw="step", warmup=0.2):
    """Env steps/s from Python. draw: "step" draws each step's actions with one NumPy call,
    "block" draws 16 steps' actions per call (NumPy's per-call cost shared), "none" steps one
    fixed action array (the layer's own cost, without the policy's)."""
    env = imagine.make_vec(id, num_envs=num_envs, seed=1)
    env.reset()
    rng = np.random.default_rng(1)
    n = env.num_actions
    fixed = rng.integers(0, n, size=num_envs)

    def run(until):
        steps = 0
        while time.perf_counter() < until:
            # The clock is read once per 16 steps.
            if draw == "step":
                for _ in range(16):
                    env.step(rng.integers(0, n, size=num_envs))
            elif draw == "block":
                for actions in rng.integers(0, n, size=(16, num_envs)):
                    env.step(actions)
            else:
                for _ in range(16):
                    env.step(fixed)
            steps += 16
        return steps

    run(time.perf_counter() + warmup)
    start = time.perf_counter()
    steps = run(start + seconds)
    return steps * num_envs / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ids", default="minatar/breakout,minatar/seaquest")
    parser.add_argument("--envs", default="1,64,1024")
    parser.add_argument("--seconds", type=float, default=2.0, help="timed seconds of each measurement")
    args = parser.parse_args()
    print("| id | envs | C++ VectorEnv steps/s | Python, NumPy draw per step | ratio "
          "| Python, NumPy draw per 16 steps | ratio | Python, fixed actions | ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for id in args.ids.split(","):
        for n in map(int, args.envs.split(",")):
            cpp = _imagine.bench_vector([f"env.id={id}"], n, 1, args.seconds)
            row = [python_rate(id, n, args.seconds, draw) for draw in ("step", "block", "none")]
            cells = " | ".join(f"{r:,.0f} | {r / cpp:.0%}" for r in row)
            print(f"| {id} | {n} | {cpp:,.0f} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
