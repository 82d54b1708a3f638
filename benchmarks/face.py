"""Face step speed: frames/s for landmarks + blendshapes + masks on may_short.mp4 at 512x512.

Target (issue 3): >= 15 frames/s for the whole step (`process_face` + `process_masks`) on 2 CPU cores.
Two measurements:
- `steps`: the two pipeline steps exactly as `synctalk process` runs them (each decodes the
  workspace's frames, computes, checks and saves), on a fresh copy of the sample workspace;
- `stages`: the same work split into stages on frames decoded once, to show where the time goes.
Wall-clock figures depend on what else runs on the machine: the load average before and after is
reported, and process CPU time (all threads) too. Prints one JSON object on its last line.
"""
from __future__ import annotations
import argparse, json, os, platform, shutil, tempfile, time
from pathlib import Path

import numpy as np

from synctalk.workspace import Workspace, ingest, load_frames, sample_workspace
from synctalk.assets import asset_path
from synctalk.face import detect_faces, process_face, smooth_blendshapes
from synctalk.masks import (person_masks, fit_skin, label_frame, Masks, background_plate, mask_quality, process_masks)


class Stopwatch:
    "Wall and process-CPU seconds per named stage."
    def __init__(self): self.wall, self.cpu = {}, {}
    def __call__(self, name, f, *args, **kwargs):
        w0, c0 = time.perf_counter(), time.process_time()
        out = f(*args, **kwargs)
        self.wall[name] = round(time.perf_counter() - w0, 3); self.cpu[name] = round(time.process_time() - c0, 3)
        return out


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--video", default="may_short.mp4", help="an asset name")
    p.add_argument("--size", type=int, default=512)
    args = p.parse_args()
    load_before = os.getloadavg()

    # the pipeline steps, as the CLI runs them, on a fresh workspace (ingest is not timed)
    ws = Workspace(Path(tempfile.mkdtemp()) / "ws")
    ingest(asset_path(args.video), ws, size=args.size)
    steps = Stopwatch()
    steps("face", process_face, ws, force=True)
    steps("masks", process_masks, ws, force=True)
    meta = ws.record("masks").meta
    n = meta["n_frames"]
    shutil.rmtree(ws.root.parent, ignore_errors=True)

    # the same work by stage, frames decoded once
    ws = sample_workspace(args.video, args.size)
    st = Stopwatch()
    frames = st("decode", load_frames, ws)
    track = st("landmarks", detect_faces, frames)
    st("smooth", smooth_blendshapes, track.blendshapes)
    person = st("person", person_masks, frames, track)
    keys = np.linspace(0, n - 1, 6).round().astype(int)
    skin = fit_skin(frames[keys], track.landmarks[keys])
    masks = st("labels", lambda: Masks(np.stack([label_frame(frames[i], person[i], track.landmarks[i], skin) for i in range(n)])))
    plate = st("plate", background_plate, frames, masks.person())
    st("quality", mask_quality, frames, track, masks, plate)

    total = sum(steps.wall.values())
    compute = sum(v for k, v in st.wall.items() if k != "decode")
    print(f"{n} frames at {args.size}x{args.size}: steps {total:.1f} s ({n/total:.1f} frames/s); "
          f"by stage (wall s): {st.wall}; decoding the workspace video once: {st.wall['decode']:.1f} s")
    print(json.dumps(dict(
        benchmark="face", video=args.video, size=args.size, n_frames=n,
        machine=dict(cpu_cores=os.cpu_count(), device="cpu", python=platform.python_version(),
                     load_avg_before=[round(x, 2) for x in load_before], load_avg_after=[round(x, 2) for x in os.getloadavg()]),
        steps_fps=round(n/total, 2), steps_wall_s=steps.wall, steps_cpu_s=steps.cpu,
        compute_fps_without_decode=round(n/compute, 2), stages_wall_s=st.wall, stages_cpu_s=st.cpu,
        stage_ms_per_frame={k: round(1000*v/n, 2) for k, v in st.wall.items()},
        target_fps=15, target_met=n/total >= 15,
        quality={k: meta[k] for k in ("landmarks_in_head", "head_iou_mean", "head_iou_min", "person_coloured")})))


if __name__ == "__main__":
    main()
