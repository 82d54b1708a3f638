"""Portrait NeRF on may_short.mp4: train at 256x256 within a time budget, evaluate the held-out 15%.

The held-out frames are rendered from their own audio features, expression coefficients and
tracked poses, over their own backgrounds (the frame with the head replaced by the background
plate), and compared with the real frames. Two baselines are measured in the same run:

- retrieval: for each held-out frame, the training frame whose audio feature is nearest, its
  head aligned to the held-out frame (similarity transform on rigid landmarks: eyes, nose,
  forehead) and pasted over the same background;
- static: the mean training face (training frames aligned to one reference frame and averaged),
  aligned to each held-out frame in the same way.

Face-box figures use the union of the held-out frames' face boxes. LMD: mean distance of the
mouth landmarks (MediaPipe), in pixels at 512x512. Prints one JSON object on its last line.
"""
from __future__ import annotations
import argparse, json, os, platform, resource, shutil, tempfile, time
from pathlib import Path

import cv2
import numpy as np

RIGID = (33, 133, 362, 263, 168, 6, 197, 195, 5, 4, 1, 10, 151, 9, 8, 70, 300, 105, 334) # eyes, nose, forehead, brows


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


def align(src_pts:np.ndarray, dst_pts:np.ndarray) -> np.ndarray:
    "2x3 similarity transform taking rigid landmarks `src_pts` [K, 2] onto `dst_pts`."
    M, _ = cv2.estimateAffinePartial2D(src_pts.astype(np.float32), dst_pts.astype(np.float32), method=cv2.LMEDS)
    return M


def paste(image:np.ndarray, mask:np.ndarray, M:np.ndarray, background:np.ndarray) -> np.ndarray:
    "Warp `image` and its head `mask` by `M` and paste them over `background` (all [S, S, ...])."
    S = background.shape[0]
    warped = cv2.warpAffine(image, M, (S, S), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    m = cv2.warpAffine(mask.astype(np.float32), M, (S, S), flags=cv2.INTER_LINEAR) > 0.5
    return np.where(m[..., None], warped, background)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=25.0, help="training time budget")
    ap.add_argument("--res", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    import torch
    from synctalk.train import TrainingData, train_workspace, load_nerf, region_mask
    from synctalk.face import load_face
    from synctalk.metrics import image_scores, face_agreement, MethodScores
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

    # baselines
    heads = lambda i: region_mask(np.asarray(data.labels[i]), "head")
    a = data.audio
    retrieval = np.stack([paste(np.asarray(data.frames[j]), heads(j), align(lm[j, list(RIGID)], lm[i, list(RIGID)]), data.background(i))
                          for i in test for j in [trainf[np.argmin(((a[trainf] - a[i]) ** 2).sum(1))]]])
    ref = trainf[0]
    mean_face = np.zeros((S, S, 3)); mean_mask = np.zeros((S, S))
    for j in trainf:
        M = align(lm[j, list(RIGID)], lm[ref, list(RIGID)])
        mean_face += cv2.warpAffine(np.asarray(data.frames[j]), M, (S, S), borderMode=cv2.BORDER_REPLICATE)
        mean_mask += cv2.warpAffine(heads(j).astype(np.float32), M, (S, S))
    mean_face = (mean_face / len(trainf)).round().astype(np.uint8); mean_mask = mean_mask / len(trainf) > 0.5
    static = np.stack([paste(mean_face, mean_mask, align(lm[ref, list(RIGID)], lm[i, list(RIGID)]), data.background(i)) for i in test])

    boxes = track.boxes[test] * (S / ws.record("ingest")["params"]["size"])
    box = tuple(int(v) for v in (max(boxes[:, 0].min(), 0), max(boxes[:, 1].min(), 0), min(boxes[:, 2].max(), S), min(boxes[:, 3].max(), S)))
    scores = {}
    for name, pred in (("nerf", preds), ("retrieval", retrieval), ("static", static)):
        s = image_scores(pred, real, box)
        fa = face_agreement(pred, real)
        s.lmd, s.aue = fa.lmd, fa.aue
        scores[name] = s
    scores["nerf"].fps = render_fps
    from synctalk.metrics import metrics_table
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
