"""Portrait NeRF on may_short.mp4: train at 256x256 within a time budget, evaluate the held-out 15%.

Training runs on a private copy of the processed sample workspace (`synctalk.train.train_workspace`), for a
time budget (`--minutes`) or a number of steps (`--iters`, which with the seed makes the run repeatable).
The held-out frames are then driven by their own audio features, expression coefficients and
tracked poses and scored with `synctalk.metrics.evaluate_heldout`, which also measures the
retrieval and static baselines of DESIGN.md in the same run: "portrait" composites the render
into the real frame, "head only" shows the render over the background plate. Figures are at
the clip's size (512), face-box figures on the union of the held-out face boxes; LMD in pixels
at 512x512. Rendering speed is measured separately at the training resolution (the NeRF alone):
`render_fps` casts the rays the portrait composite reads (the grown face, `render_region`), as
`synctalk infer` does; `render_fps_head` casts every ray that can meet the head (head-only mode).
Prints one JSON object on its last line.
"""
from __future__ import annotations
import argparse, json, math, os, platform, resource, shutil, tempfile, time
from pathlib import Path

import numpy as np


def processed_copy(source:str|None=None, # a processed workspace folder, copied as it is; None: the sample clip's, processed here if needed
                  ):
    "A private copy of a processed workspace (so training writes nowhere shared)."
    from synctalk.workspace import Workspace, require_processed, sample_workspace
    from synctalk.cli import process_workspace
    if source:
        ws = Workspace(source)
        require_processed(ws)
    else:
        ws = sample_workspace("may_short.mp4")
        process_workspace(ws)
    dst = Path(tempfile.mkdtemp(prefix="synctalk-bench-nerf-"))/"ws"
    shutil.copytree(ws.root, dst, ignore=shutil.ignore_patterns(".*", "nerf", "train", "eval"))
    return Workspace(dst)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    budget = ap.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, help="training time budget (evaluation comes on top; default 25)")
    budget.add_argument("--iters", type=int, help="or a number of training steps: with --seed, the same figures on every run of the same code")
    ap.add_argument("--res", type=int, default=256, help="training resolution")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workspace", help="a processed workspace of may_short.mp4 to copy as it is (default: the cached sample workspace, processed if needed)")
    args = ap.parse_args()
    if args.iters is None and args.minutes is None: args.minutes = 25.0
    import torch
    from synctalk.train import train_workspace
    from synctalk.model import load_nerf, subject_data
    from synctalk.composite import render_region
    from synctalk.masks import load_masks
    from synctalk.metrics import evaluate_heldout
    load_before = os.getloadavg()
    t_start = time.time()
    ws = processed_copy(args.workspace)
    result = train_workspace(ws, resolution=args.res, minutes=args.minutes, iters=args.iters, seed=args.seed, force=True)
    ev = evaluate_heldout(ws)
    print(ev.table())

    nerf = load_nerf(ws)
    data = subject_data(ws, nerf)
    face = load_masks(ws).face() # [N, 512, 512] the portrait composite's face masks
    test = data.holdout_idx[:: max(1, len(data.holdout_idx) // 10)]
    def fps(where): # frames/s of the NeRF alone at the training resolution, after one warm-up frame
        render = lambda i: nerf.render(data.c2w[i], nerf.conditioning(data.audio_windows([i])[0], data.expressions[i]), data.plate, where=where(i))
        render(test[0])
        t0 = time.perf_counter()
        for i in test: render(i)
        return len(test) / (time.perf_counter() - t0)
    render_fps_head = fps(lambda i: None)
    render_fps = fps(lambda i: render_region(face[i], args.res))

    rows = {k: {f: (None if math.isnan(v) else round(v, 4)) for f, v in vars(s).items()} for k, s in ev.rows.items()}
    nerf_rows = ("portrait", "head only")
    beats = {m: dict(psnr_face=all(ev.rows[m].psnr_face > ev.rows[b].psnr_face for b in ("retrieval", "static")),
                     lmd=all(ev.rows[m].lmd < ev.rows[b].lmd for b in ("retrieval", "static"))) for m in nerf_rows}
    out = dict(
        benchmark="nerf", clip="may_short.mp4", audio_encoder=ws.record("ave").meta.get("source"), resolution=args.res, iterations=result.steps, minutes=round(result.seconds / 60, 2),
        held_out_frames=len(ev.held_out), face_box=list(ev.face_box),
        fit={f: round(v, 4) for f, v in vars(ev.fit).items() if not math.isnan(v)}, # the portrait on training frames
        psnr_face=rows["portrait"]["psnr_face"], lmd=rows["portrait"]["lmd"],
        psnr_face_head_only=rows["head only"]["psnr_face"], lmd_head_only=rows["head only"]["lmd"],
        baselines={b: dict(psnr_face=rows[b]["psnr_face"], lmd=rows[b]["lmd"]) for b in ("retrieval", "static")},
        beats_baselines=beats, scores=rows, render_fps=round(render_fps, 3), render_fps_head=round(render_fps_head, 3), render_fps_at=f"{args.res}x{args.res}",
        composite_fps_at_512=rows["portrait"]["fps"], perceptual_in_training=result.perceptual,
        train_psnr_last_50_steps=round(float(np.mean([s.psnr for s in result.stats[-50:]])), 2),
        targets=dict(psnr_face=24.0, render_fps=2.0, minutes=30.0), encoding_backend=nerf.record.encoding_backend,
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), wall_minutes_total=round((time.time() - t_start) / 60, 2),
        machine=dict(cpu=platform.processor() or platform.machine(), cores=os.cpu_count(), torch_threads=torch.get_num_threads(),
                     device=str(nerf.device), gpu=torch.cuda.get_device_name() if torch.cuda.is_available() else None,
                     load_avg_before=[round(v, 2) for v in load_before], load_avg_after=[round(v, 2) for v in os.getloadavg()]))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
