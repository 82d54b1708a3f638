"""Where the portrait composite takes the render (issue 14): the face mask grown 16 pixels all around (at 512,
the first design) against grown 16 pixels downward only and 2 elsewhere (`synctalk.composite.paste_region`).

The held-out frames of a trained workspace are driven by their own speech as `synctalk evaluate` drives them,
composited with each region, and scored in the held-out face box (face PSNR, as `evaluate`) and along the blend
edge (the seam figure, `synctalk.metrics.seam_ratio`: 1 is the real frame's gradient energy there).

    python benchmarks/paste_region.py -w WORKSPACE [-w WORKSPACE ...]

Prints one JSON object on its last line.
"""
from __future__ import annotations
import argparse, json, os, platform, time
from pathlib import Path

import numpy as np
import torch

from synctalk import composite
from synctalk.composite import SourceClip, drive
from synctalk.face import load_face
from synctalk.metrics import psnr, seam_ratio, union_box
from synctalk.model import load_nerf, subject_data
from synctalk.workspace import Workspace


def regions(height:int) -> dict:
    "The paste regions compared, as `paste_region` arguments."
    return {"all around": dict(grow=0, margin=height//32), "downward": {}}


def score_regions(ws:Workspace) -> dict:
    "Face PSNR and seam figure of the held-out portraits with each region."
    nerf = load_nerf(ws, "cpu")
    subject, clip, track = subject_data(ws, nerf), SourceClip.from_workspace(ws), load_face(ws)
    idx, real = subject.holdout_idx, np.asarray(clip.frames[subject.holdout_idx])
    x0, y0, x1, y1 = union_box(track.boxes[idx], real.shape[1])
    default, out = composite.paste_region, {}
    for name, kwargs in regions(real.shape[1]).items():
        composite.paste_region = lambda face, *_: default(face, **kwargs) # read by the matte and by the rays cast
        try: driven = list(drive(nerf, subject, clip, subject.audio_windows(idx), idx, modes=("portrait",)))
        finally: composite.paste_region = default
        pred = np.stack([f.portrait for f in driven])
        out[name] = dict(psnr_face=round(psnr(pred[:, y0:y1, x0:x1], real[:, y0:y1, x0:x1]), 3),
                         seam=round(seam_ratio(pred, real, (f.matte/255 for f in driven)), 3))
        print(ws.root.name, name, out[name], flush=True)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-w", "--workspace", type=Path, action="append", required=True, help="a trained workspace (repeatable)")
    args = p.parse_args()
    load_before, t0 = os.getloadavg(), time.perf_counter()
    figures = {str(w): score_regions(Workspace(w)) for w in args.workspace}
    print(json.dumps(dict(
        benchmark="paste_region", seconds=round(time.perf_counter() - t0, 1),
        machine=dict(cpus=os.cpu_count(), torch_threads=torch.get_num_threads(), device="cpu",
                     processor=platform.processor() or platform.machine(), load_average_before=[round(x, 2) for x in load_before],
                     load_average_after=[round(x, 2) for x in os.getloadavg()]),
        figures=figures)))


if __name__ == "__main__":
    main()
