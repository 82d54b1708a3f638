"""Where the held-out error comes from (issues 12 and 14): a trained model's face-box PSNR and lip motion on
training frames and on held-out frames, with its conditioning swapped.

The portrait is rendered (as `synctalk evaluate` renders it) on 30 evenly spread training frames and on the
held-out frames, with the lips driven by
- `reader`: the mouth codes the model's reader reads from the frames' own speech (what `evaluate` does);
- `true`: the frames' own mouth codes, measured on the real frames (teacher forcing: a perfect reader);
- `mean`: the training frames' mean mouth (all codes 0: a mouth that does not move);
and, with the true codes, the training frames' mean expression instead of the frame's own (`true, mean expression`).

What the figures say: `true` minus `reader` on held-out frames is what reading speech costs; `true` on training
frames minus `true` on held-out frames is what the renderer loses on frames it never saw even with a perfect
reader; the rows with the mean mouth or expression show how much each conditioning carries there.

    python benchmarks/heldout_gap.py -w WORKSPACE

PSNR is scored in the held-out frames' face box, as `synctalk evaluate` scores it. Prints one JSON object on
its last line.
"""
from __future__ import annotations
import argparse, json, os, platform, time
from pathlib import Path

import numpy as np
import torch

from synctalk.ave import mouth_codes, mouth_shape
from synctalk.composite import SourceClip, drive
from synctalk.face import load_face
from synctalk.metrics import face_agreement, psnr, union_box
from synctalk.model import load_nerf, subject_data
from synctalk.workspace import Workspace

TRAINING_FRAMES = 30


def scores(nerf, subject, clip, track, idx, codes, expressions, box) -> dict:
    "Face-box PSNR and lip figures of the portraits of frames `idx` driven by `codes` [M, K] and `expressions` [M, E] (None: their own)."
    model, feed = nerf.model, iter(torch.as_tensor(codes, dtype=torch.float32))
    read = model.encode_audio
    model.encode_audio = lambda windows: model.encode_mouth(next(feed)[None].to(windows.device))
    try: pred = np.stack([f.portrait for f in drive(nerf, subject, clip, subject.audio_windows(idx), idx, expressions, modes=("portrait",))])
    finally: model.encode_audio = read
    x0, y0, x1, y1 = box
    agree = face_agreement(pred, real_track=track[idx])
    return dict(psnr_face=round(psnr(pred[:, y0:y1, x0:x1], np.asarray(clip.frames[idx])[:, y0:y1, x0:x1]), 3),
                lip_r=round(agree.lip_r, 3), lip_ratio=round(agree.lip_ratio, 3), lmd=round(agree.lmd, 3))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-w", "--workspace", type=Path, required=True, help="a trained workspace")
    args = p.parse_args()
    load_before, t0 = os.getloadavg(), time.perf_counter()
    ws = Workspace(args.workspace)
    nerf = load_nerf(ws, "cpu")
    subject, clip, track = subject_data(ws, nerf), SourceClip.from_workspace(ws), load_face(ws)
    box = union_box(track.boxes[subject.holdout_idx], clip.frames.shape[1]) # the face box `evaluate` scores
    true = mouth_codes(mouth_shape(track.landmarks, track.blendshapes, track.blendshape_names), subject.n_train)
    mean_expression = subject.expressions[:subject.n_train].mean(0)
    parts = dict(training=subject.train_idx[np.linspace(0, subject.n_train - 1, TRAINING_FRAMES).round().astype(int)],
                 held_out=subject.holdout_idx)
    result = {}
    for part, idx in parts.items():
        with torch.no_grad(): reader = nerf.model.mouth_reader(torch.as_tensor(subject.audio_windows(idx))).numpy()
        runs = {"reader": (reader, None), "true": (true[idx], None), "mean": (np.zeros_like(reader), None),
                "true, mean expression": (true[idx], np.repeat(mean_expression[None], len(idx), 0))}
        result[part] = {}
        for name, (codes, expressions) in runs.items():
            result[part][name] = scores(nerf, subject, clip, track, idx, codes, expressions, box)
            print(part, name, result[part][name], flush=True)
    print(json.dumps(dict(
        benchmark="heldout_gap", workspace=str(ws.root), frames={k: len(v) for k, v in parts.items()},
        seconds=round(time.perf_counter() - t0, 1),
        machine=dict(cpus=os.cpu_count(), torch_threads=torch.get_num_threads(), device="cpu",
                     processor=platform.processor() or platform.machine(), load_average_before=[round(x, 2) for x in load_before],
                     load_average_after=[round(x, 2) for x in os.getloadavg()]),
        figures=result)))


if __name__ == "__main__":
    main()
