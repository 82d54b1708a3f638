"""Expression control (issue 14, acceptance 1): do the upper-face coefficients move the rendered face?

On a trained workspace (-w; the `synctalk demo` one for the acceptance figures), 10 held-out frames are
rendered with their own audio, pose and other coefficients, and with
- both eyeBlink coefficients set to each of 0, 0.25, 0.5, 0.75, 1 (the subject's span units:
  `synctalk.model.in_span`, 0 its least and 1 its most over the training frames), and
- browInnerUp set to the same values,
and MediaPipe reads each render back (`synctalk.metrics.expression_response`). The coefficients are set as the
sliders set them: the others follow as they move together in the footage (`synctalk.model.expression_with`: raising
browInnerUp raises the outer brows too). The same probes with only those coefficients changed are reported beside
(`alone`); the targets are read on the sliders' figures. Figures: the response
curve of each probe (MediaPipe's mean reading of the coefficients set, at each value), its rise from 0
to 1, and how far the 40 mouth landmarks move between the 0 and 1 renders (pixels at 512x512, as LMD).
Targets: eyeBlink rise >= 0.35, browInnerUp rise >= 0.2, mouth landmarks <= 0.5 px for both. The mouth pixels' own
change (mean absolute, grey levels, in the box around the lips) is reported beside it: MediaPipe's mesh can move
the mouth landmarks when only the eyes changed.

Prints one JSON object on its last line (machine, load average before and after).
"""
from __future__ import annotations
import argparse, json, os, platform, time
from pathlib import Path

import torch

from synctalk.metrics import EXPRESSION_PROBES, expression_response
from synctalk.model import load_nerf, subject_data
from synctalk.workspace import Workspace

VALUES = (0., 0.25, 0.5, 0.75, 1.)
TARGETS = dict(eyeBlink=0.35, browInnerUp=0.2) # rise from 0 to 1
MOUTH_TARGET = 0.5 # px at 512x512


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-w", "--workspace", type=Path, required=True, help="a trained workspace (e.g. the `synctalk demo` one)")
    args = p.parse_args()
    load_before, t0 = os.getloadavg(), time.perf_counter()
    ws = Workspace(args.workspace)
    nerf = load_nerf(ws, "cpu")
    subject = subject_data(ws, nerf)
    probes, alone, met = {}, {}, {}
    for name, coefficients in EXPRESSION_PROBES.items():
        for coupled, table in ((True, probes), (False, alone)):
            r = expression_response(nerf, subject, coefficients, VALUES, coupled=coupled)
            table[name] = dict(coefficients=list(coefficients), curve=[round(float(c), 4) for c in r.curve], rise=round(r.rise, 4),
                               mouth_shift_px=round(r.mouth_shift, 3), mouth_pixel_change=round(r.mouth_change, 3), frames=list(r.frames))
            print(f"{name:12s} {'sliders' if coupled else 'alone  '} curve {table[name]['curve']}  rise {r.rise:+.3f}  "
                  f"mouth landmarks {r.mouth_shift:.2f} px, mouth pixels {r.mouth_change:.2f}", flush=True)
        met[f"{name}_rise"] = probes[name]["rise"] >= TARGETS[name]
        met[f"{name}_mouth"] = probes[name]["mouth_shift_px"] <= MOUTH_TARGET
    print(json.dumps(dict(
        benchmark="expression", workspace=str(ws.root), resolution=nerf.record.resolution, values=list(VALUES),
        span=dict(zip(nerf.record.expression_names, nerf.record.expression_span)) if nerf.record.expression_span else "MediaPipe's own (model from before spans)",
        seconds=round(time.perf_counter() - t0, 1),
        machine=dict(cpus=os.cpu_count(), torch_threads=torch.get_num_threads(), device="cpu",
                     processor=platform.processor() or platform.machine(), load_average_before=[round(x, 2) for x in load_before],
                     load_average_after=[round(x, 2) for x in os.getloadavg()]),
        probes=probes, alone=alone, targets_met=met)))


if __name__ == "__main__":
    main()
