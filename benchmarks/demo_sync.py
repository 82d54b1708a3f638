"""The demo's cross-driven videos by both sync scores (issue 12, acceptance 5).

A trained workspace (by default the sample's, as `synctalk demo` trains it) says other people's speech
(radio31.wav and retalk_audio1.wav); each portrait video is scored by the lip-sync expert (`synctalk sync`: offset,
confidence) and by the phonetic check (offset, correlation; English), beside the subject's real clip with its own
speech. The acceptance: each video's offsets within +-2 frames of the real clip's, and its expert confidence at
least 80% of the real clip's.

    python benchmarks/demo_sync.py -w WORKSPACE [--real VIDEO] [--speech WAV ...]

Prints one JSON object on its last line.
"""
from __future__ import annotations
import argparse, json, os, platform, tempfile, time
from pathlib import Path

import torch

from synctalk.assets import asset_path
from synctalk.ave import default_expert, video_sync
from synctalk.composite import infer
from synctalk.phonetic import video_phonetic_sync
from synctalk.workspace import Workspace

SPEECH = ("radio31.wav", "retalk_audio1.wav")


def scores(video, expert) -> dict:
    "Both sync scores of a video with its own sound."
    ex, ph = video_sync(video, expert=expert), video_phonetic_sync(video)
    return dict(expert_offset=ex.offset, confidence=round(ex.confidence, 4), phonetic_offset=int(ph.offset),
                phonetic_r=round(float(ph.correlation), 3))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-w", "--workspace", type=Path, required=True, help="a trained workspace of the sample subject")
    p.add_argument("--real", default=None, help="the subject's real clip (default: the sample, may_short.mp4)")
    p.add_argument("--speech", nargs="+", default=None, help="speech to drive it with (default: radio31.wav retalk_audio1.wav)")
    args = p.parse_args()
    load_before, t0 = os.getloadavg(), time.perf_counter()
    expert, ws = default_expert(), Workspace(args.workspace)
    real = scores(args.real or asset_path("may_short.mp4"), expert)
    print("real", real, flush=True)
    driven = {}
    with tempfile.TemporaryDirectory() as tmp:
        for speech in args.speech or [asset_path(s) for s in SPEECH]:
            video = infer(ws, speech, Path(tmp)/"driven.mp4").path
            s = scores(video, expert)
            s.update(confidence_ratio=round(s["confidence"]/real["confidence"], 3),
                     in_sync=abs(s["expert_offset"] - real["expert_offset"]) <= 2 and abs(s["phonetic_offset"] - real["phonetic_offset"]) <= 2)
            driven[Path(speech).name] = s
            print(Path(speech).name, s, flush=True)
    print(json.dumps(dict(
        benchmark="demo_sync", workspace=str(ws.root), seconds=round(time.perf_counter() - t0, 1),
        machine=dict(cpus=os.cpu_count(), torch_threads=torch.get_num_threads(), device="cpu",
                     processor=platform.processor() or platform.machine(), load_average_before=[round(x, 2) for x in load_before],
                     load_average_after=[round(x, 2) for x in os.getloadavg()]),
        real=real, driven=driven,
        acceptance=all(d["in_sync"] and d["confidence_ratio"] >= 0.8 for d in driven.values()))))


if __name__ == "__main__":
    main()
