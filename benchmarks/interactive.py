"""Interactivity on a shared CPU (issue 15): each figure alone and beside one busy competing process, in one run.

Figures, on a trained workspace (-w; its model at its training resolution, 256 for `synctalk demo`):
1. `preview_128_s`: median seconds of one 128x128 preview, as `ExpressionSliders` draws it (the whole head,
   `TrainedNeRF.render` at 128, after one warm-up render);
2. `portrait_fps`: frames/s of the NeRF casting the portrait's rays at the model's resolution
   (`render_region`, as `synctalk infer` does);
3. `heldout_fps`: frames/s of the held-out evaluation's driving loop (`synctalk.composite.drive`: the render
   and both composites at the clip's size, as `evaluate_heldout` times it).

Each is measured alone, then again while one other process spins on a core (a Python busy loop started
and stopped by this script), and the JSON gives every figure's loaded/alone ratio. Torch starts with one
thread per core; `synctalk.core.cpu_threads` picks the threads of each render (`--fixed-threads`: it does
not, as before it existed). Prints one JSON object on
its last line (machine, load average before and after).
"""
from __future__ import annotations
import argparse, json, os, platform, statistics, subprocess, sys, time
from pathlib import Path

import torch

import synctalk.core as core
from synctalk.composite import SourceClip, drive, render_region
from synctalk.masks import load_masks
from synctalk.model import load_nerf, subject_data
from synctalk.workspace import Workspace


def figures(nerf, subject, clip, face, frames:int) -> dict:
    "The three figures, measured now."
    test = subject.holdout_idx[:frames]
    cond = lambda i: nerf.conditioning(subject.audio_windows([i])[0], subject.expressions[i], i)
    nerf.render(subject.c2w[test[0]], cond(test[0]), subject.plate, 128) # warm-up
    previews = []
    for i in test:
        t0 = time.perf_counter(); nerf.render(subject.c2w[i], cond(i), subject.plate, 128); previews.append(time.perf_counter() - t0)
    S = nerf.record.resolution
    t0 = time.perf_counter()
    for i in test: nerf.render(subject.c2w[i], cond(i), subject.plate, where=render_region(face[i], S))
    portrait_fps = len(test)/(time.perf_counter() - t0)
    t0 = time.perf_counter()
    n = sum(1 for _ in drive(nerf, subject, clip, subject.audio_windows(test), test))
    return dict(preview_128_s=round(statistics.median(previews), 4), portrait_fps=round(portrait_fps, 3),
                heldout_fps=round(n/(time.perf_counter() - t0), 3))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-w", "--workspace", type=Path, required=True, help="a trained workspace (e.g. the `synctalk demo` one)")
    p.add_argument("--frames", type=int, default=10, help="held-out frames per figure")
    p.add_argument("--fixed-threads", action="store_true", help="keep every core's thread whatever the load (no `cpu_threads` policy): the behaviour before it")
    args = p.parse_args()
    if args.fixed_threads: core.free_cores = lambda first_look=0.05: None # `cpu_threads` then leaves the count as it is
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    load_before = os.getloadavg()
    ws = Workspace(args.workspace)
    nerf = load_nerf(ws, "cpu")
    subject, clip, face = subject_data(ws, nerf), SourceClip.from_workspace(ws), load_masks(ws).face()
    alone = figures(nerf, subject, clip, face, args.frames)
    print("alone ", alone, flush=True)
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(1.0)
        loaded = figures(nerf, subject, clip, face, args.frames)
    finally: spin.kill(); spin.wait()
    print("loaded", loaded, flush=True)
    ratio = {k: round(loaded[k]/alone[k], 3) for k in alone}
    targets = dict(preview_128_alone=alone["preview_128_s"] <= 0.2, preview_128_loaded=loaded["preview_128_s"] <= 0.4,
                   portrait_fps_alone=alone["portrait_fps"] >= 3, portrait_fps_loaded=loaded["portrait_fps"] >= 1.5,
                   heldout_loaded_within_2x=loaded["heldout_fps"] >= alone["heldout_fps"]/2)
    print(json.dumps(dict(
        benchmark="interactive", workspace=str(ws.root), thread_policy=not args.fixed_threads, resolution=nerf.record.resolution, frames=args.frames,
        machine=dict(cpus=os.cpu_count(), torch_threads=torch.get_num_threads(), device="cpu",
                     processor=platform.processor() or platform.machine(), load_average_before=[round(x, 2) for x in load_before],
                     load_average_after=[round(x, 2) for x in os.getloadavg()]),
        alone=alone, loaded=loaded, loaded_over_alone=ratio, targets_met=targets)))


if __name__ == "__main__":
    main()
