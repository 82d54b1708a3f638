"""Portrait NeRF on may_short.mp4: train at 256x256 within a time budget, evaluate the held-out 15%.

The held-out frames are rendered from their own audio features, expression coefficients and
tracked poses, over their own backgrounds (the frame with the head replaced by the background
plate), and compared with the real frames. Two baselines are measured in the same run:

- retrieval: for each held-out frame, the training frame whose audio feature is nearest, its
  head aligned to the held-out frame (similarity transform on rigid landmarks: eyes, nose,
  forehead) and pasted over the same background (`synctalk.metrics.retrieval_baseline`);
- static: the mean training face, aligned and pasted the same way (`synctalk.metrics.static_baseline`).

Face-box figures use the union of the held-out frames' face boxes. LMD: mean distance of the
mouth landmarks (MediaPipe), in pixels at 512x512. Prints one JSON object on its last line.
"""
from __future__ import annotations
import argparse, json, os, platform, resource, shutil, tempfile, time
from pathlib import Path

import numpy as np

def processed_copy(name:str="may_short.mp4") -> "Workspace":
    "A private copy of the processed sample workspace (so training writes nowhere shared)."
    from synctalk.workspace import Workspace, sample_workspace
    from synctalk.face import process_face
    from synctalk.masks import process_masks
    from synctalk.track import process_track
    from synctalk.audio import process_audio
    ws = sample_workspace(name)
    for step in (process_face, process_masks, process_track, process_audio): step(ws)
    dst = Path(tempfile.mkdtemp(prefix="synctalk-bench-nerf-"))
    for p in ws.root.iterdir():
        if p.is_file() and not p.name.startswith("."): shutil.copy2(p, dst/p.name)
        elif p.is_dir() and p.name not in ("nerf", "train") and not p.name.startswith("."): shutil.copytree(p, dst/p.name)
    return Workspace(dst)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=25.0, help="training time budget")
    ap.add_argument("--res", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    import torch
    from synctalk.train import TrainingData, train_workspace, load_nerf, region_mask
    from synctalk.face import load_face, detect_faces
    from synctalk.metrics import image_scores, face_agreement, metrics_table, retrieval_baseline, static_baseline
    load_before = os.getloadavg()
    t_start = time.time()
    ws = processed_copy()
    S = args.res
    result = train_workspace(ws, resolution=S, minutes=args.minutes, seed=args.seed, force=True)
    nerf = load_nerf(ws)
    data = TrainingData.from_workspace(ws, S, 0.15)
    test, trainf = data.holdout_idx, data.train_idx
    assert tuple(test) == tuple(nerf.record.holdout_frames), "held-out frames differ from the ones training left out"
    track = load_face(ws)
    lm = track.landmarks[:, :, :2] * (S / ws.record("ingest")["params"]["size"]) # [N, 478, 2] at S
    real = np.stack([np.asarray(data.frames[i]) for i in test])
    bgs = np.stack([data.background(i) for i in test])

    # the NeRF, from each held-out frame's own audio, expression and pose
    preds, t0 = [], time.perf_counter()
    for i in test:
        cond = nerf.conditioning(data.audio_windows([i])[0], data.expressions[i])
        preds.append(nerf.render(data.c2w[i], cond, data.background(i))[0])
    render_fps = len(test) / (time.perf_counter() - t0)
    preds = np.stack(preds)

    # baselines, over the same backgrounds
    frames = np.asarray(data.frames); heads = region_mask(np.asarray(data.labels), "head")
    retrieval = retrieval_baseline(frames, heads, lm, bgs, data.audio, trainf, test)
    static = static_baseline(frames, heads, lm, bgs, trainf, test)

    boxes = track.boxes[test] * (S / ws.record("ingest")["params"]["size"])
    box = tuple(int(v) for v in (max(boxes[:, 0].min(), 0), max(boxes[:, 1].min(), 0), min(boxes[:, 2].max(), S), min(boxes[:, 3].max(), S)))
    real_track = detect_faces(real, fps=25, max_missing=1.0, max_gap=0) # landmarks of the real held-out frames, once
    scores = {}
    for name, pred in (("nerf", preds), ("retrieval", retrieval), ("static", static)):
        s = image_scores(pred, real, box)
        fa = face_agreement(pred, real_track=real_track)
        s.lmd, s.aue = fa.lmd, fa.aue
        scores[name] = s
    scores["nerf"].fps = render_fps
    print(metrics_table(scores))
    n = scores["nerf"]
    out = dict(
        benchmark="nerf", clip="may_short.mp4", resolution=S, iterations=result.steps, minutes=round(result.seconds / 60, 2),
        held_out_frames=len(test), face_box=box, psnr_face=round(n.psnr_face, 3), ssim_face=round(n.ssim_face, 4), lmd=round(n.lmd, 3),
        aue=round(n.aue, 4), psnr_full=round(n.psnr_full, 3), lpips_face=None if np.isnan(n.lpips_face) else round(n.lpips_face, 4),
        lpips_in_training=result.lpips_used, render_fps=round(render_fps, 3),
        baselines={k: dict(psnr_face=round(v.psnr_face, 3), lmd=round(v.lmd, 3), ssim_face=round(v.ssim_face, 4)) for k, v in scores.items() if k != "nerf"},
        beats_baselines=dict(psnr=all(n.psnr_face > scores[k].psnr_face for k in ("retrieval", "static")),
                             lmd=all(n.lmd < scores[k].lmd for k in ("retrieval", "static"))),
        targets=dict(psnr_face=24.0, render_fps=2.0, minutes=30.0),
        encoding_backend=nerf.record.encoding_backend, peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        wall_minutes_total=round((time.time() - t_start) / 60, 2),
        machine=dict(cpu=platform.processor() or platform.machine(), cores=os.cpu_count(), torch_threads=torch.get_num_threads(),
                     device=str(nerf.device), gpu=torch.cuda.get_device_name() if torch.cuda.is_available() else None,
                     load_avg_before=[round(v, 2) for v in load_before], load_avg_after=[round(v, 2) for v in os.getloadavg()]))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
