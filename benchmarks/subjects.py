"""Real people end to end (issue 14, acceptance 3): `synctalk demo --subject` on real corpus clips of 20 s or more.

For each clip, `synctalk.cli.run_demo` processes it, trains for --minutes at 256 and evaluates its last 15%
(never trained on) against the baselines measured in the same run, into OUT/<clip name>. Targets per clip:
portrait face-box PSNR >= 28 dB, and LMD below both baselines (retrieval and static).

The default clips, chosen for what they test and not by score: `styletalk_reagan_clip1` (a validation speaker of
issue 12's split, 256x256 footage upscaled to 512) and `latentsync_demo3` (a 1080x1920 phone-format clip: a
whole seated person whose face is about a tenth of the frame, hands crossing in front).

    python benchmarks/subjects.py [--minutes 20] [--out DIR] [--reuse] [CLIP ...]

Each demo takes about 25-30 minutes on 2 cores at --minutes 20. --reuse reads the figures of a demo already in
OUT/<clip name> (its metrics.json) instead of running it again, and says so in that clip's entry ("reused"):
the machine and load below are then this run's, not that demo's. Prints one JSON object on its last line.
"""
from __future__ import annotations
import argparse, json, os, platform, time
from pathlib import Path

import torch

from synctalk.ave import corpus_dir
from synctalk.cli import run_demo
from synctalk.workspace import ARTIFACTS

CLIPS = ("real/styletalk_reagan_clip1.mp4", "real/latentsync_demo3.mp4")
PSNR_TARGET = 28.0 # dB, portrait face box


def figures(metrics:dict) -> dict:
    "One demo's acceptance figures from its metrics.json."
    rows = metrics["methods"]
    portrait = rows["portrait"]
    return dict(steps=metrics["model"]["steps"], held_out_frames=len(metrics["held_out_frames"]),
                psnr_face=round(portrait["psnr_face"], 3), lmd=round(portrait["lmd"], 3),
                lmd_retrieval=round(rows["retrieval"]["lmd"], 3), lmd_static=round(rows["static"]["lmd"], 3),
                st_lpips_face=round(portrait["st_lpips_face"], 4), seam=round(portrait["seam"], 3),
                lip_r=round(portrait["lip_r"], 3), lip_ratio=round(portrait["lip_ratio"], 3),
                sync_offset=portrait["sync_offset"], real_sync_offset=metrics["real"]["sync_offset"],
                psnr_met=portrait["psnr_face"] >= PSNR_TARGET,
                lmd_met=portrait["lmd"] < min(rows["retrieval"]["lmd"], rows["static"]["lmd"]))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("clips", nargs="*", help=f"videos, or paths inside the corpus (default: {', '.join(CLIPS)})")
    p.add_argument("--minutes", type=float, default=20., help="training budget per clip")
    p.add_argument("--out", type=Path, default=Path("subjects"), help="one demo folder per clip under it")
    p.add_argument("--reuse", action="store_true", help="read a demo already in OUT/<clip name> instead of running it")
    args = p.parse_args()
    load_before, t0 = os.getloadavg(), time.perf_counter()
    corpus = corpus_dir()
    results = {}
    for clip in args.clips or CLIPS:
        video = Path(clip) if Path(clip).is_file() or corpus is None else corpus/clip
        where = args.out/video.stem
        metrics = where/"workspace"/ARTIFACTS.metrics
        reused = args.reuse and metrics.is_file()
        if not reused: run_demo(where, subject=video, minutes=args.minutes)
        results[video.stem] = dict(figures(json.loads(metrics.read_text())), reused=reused)
        print(video.stem, results[video.stem], flush=True)
    print(json.dumps(dict(
        benchmark="subjects", minutes=args.minutes, seconds=round(time.perf_counter() - t0, 1),
        machine=dict(cpus=os.cpu_count(), torch_threads=torch.get_num_threads(), device="cuda" if torch.cuda.is_available() else "cpu",
                     processor=platform.processor() or platform.machine(), load_average_before=[round(x, 2) for x in load_before],
                     load_average_after=[round(x, 2) for x in os.getloadavg()]),
        clips=results, targets_met=all(r["psnr_met"] and r["lmd_met"] for r in results.values()))))


if __name__ == "__main__":
    main()
