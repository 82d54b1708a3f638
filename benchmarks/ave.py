"""Audio-visual encoder acceptance figures (issue 5), measured on the held-out last 20% of may_short.mp4.

1. Offset detection: for each 5-frame held-out window, P_sync of audio offsets -15..+15 frames with the
   trained discriminator; rate of windows whose best offset is within +-1 frame of 0 (chance ~10%),
   the mean P_sync curve over offsets and SyncNet's confidence (best minus median, mean over windows).
2. Lip relevance: ridge regression (strength by 5-fold CV on training frames) from per-frame features
   to jawOpen and to the inner-lip gap, fit on frames [0, 265) and scored (R^2) on the held-out frames:
   AVE features vs raw mel windows vs MFCCs of the same window.
3. Extraction speed: audio_features (mel + encoder) frames/s with 2 torch threads, wall clock and per
   process-CPU second (the machine may be shared: the load average is reported).

Uses the default encoder (trained on the default corpus once per machine and cached; pass
--weights/--discriminator to test others). Prints one JSON object on its last line.
"""
from __future__ import annotations
import argparse, json, os, platform, statistics, time

import numpy as np
import torch

from synctalk.assets import asset_path
from synctalk.audio import FEATURE_OFFSET, SR, audio_features, encode_windows, load_audio_encoder, mel_windows
from synctalk.io import read_audio
from synctalk.ave import (default_encoder_file, discriminator_path, heldout_start, load_discriminator, mfcc_windows,
                          prepare_clip, ridge_r2, score_offsets)


def lip_relevance(clip, encoder):
    "Held-out R^2 of ridge regressions from AVE / mel / MFCC windows to jawOpen and the lip gap."
    n, n0 = len(clip), heldout_start(len(clip))
    feats = {"ave": encode_windows(encoder, mel_windows(clip.mel, n, FEATURE_OFFSET)),
             "mel": mel_windows(clip.mel, n, FEATURE_OFFSET).reshape(n, -1),
             "mfcc": mfcc_windows(clip.audio, n, FEATURE_OFFSET).reshape(n, -1)}
    targets = {"jawOpen": clip.blendshape("jawOpen"), "lip_gap": clip.lip_gap}
    return {t: {k: round(ridge_r2(x[:n0], y[:n0], x[n0:], y[n0:]), 3) for k, x in feats.items()} for t, y in targets.items()}


def extraction_speed(encoder, seconds=60.0, reps=5):
    "Median frames/s of `audio_features` on `seconds` of speech, wall clock and per process-CPU second."
    speech = np.tile(read_audio(asset_path("may_drive.wav")), 8)[:int(seconds*SR)]
    n = int(seconds*25)
    audio_features(speech, encoder, n_frames=n) # warm-up
    walls, cpus = [], []
    for _ in range(reps):
        w0, c0 = time.perf_counter(), time.process_time()
        audio_features(speech, encoder, n_frames=n)
        walls.append(time.perf_counter() - w0); cpus.append(time.process_time() - c0)
    return dict(frames=n, frames_per_s_wall=round(n/statistics.median(walls)), frames_per_cpu_s=round(n/statistics.median(cpus)),
                threads=torch.get_num_threads())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", help="an ave.pt (default: the cached default encoder, trained if missing)")
    p.add_argument("--discriminator", help="its discriminator (default: the one beside the weights)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    weights = args.weights or default_encoder_file()
    train_s = time.perf_counter() - t0
    encoder = load_audio_encoder(weights)
    disc = load_discriminator(args.discriminator or discriminator_path(weights))
    may = prepare_clip(asset_path("may_short.mp4"))
    scores = score_offsets(disc, may, first=heldout_start(len(may)))
    result = dict(
        machine=dict(cpus=os.cpu_count(), torch_threads=args.threads, device="cpu", processor=platform.processor() or platform.machine(),
                     load_average_before=[round(x, 2) for x in load_before]),
        weights=str(weights), seconds_to_get_weights=round(train_s, 1),
        offset_detection=dict(windows=len(scores.best), hit_rate_within_1=round(scores.hit_rate(1), 3), chance=round(3/31, 3),
                              hit_rate_within_2=round(scores.hit_rate(2), 3),
                              best_offset_histogram=np.bincount(scores.best + 15, minlength=31).tolist(),
                              clip_offset=scores.clip_offset,
                              mean_curve=[round(float(v), 4) for v in scores.mean_curve],
                              mean_confidence=round(float(scores.confidence.mean()), 4)),
        lip_relevance_r2=lip_relevance(may, encoder),
        extraction=extraction_speed(encoder),
    )
    result["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    for k, v in result.items(): print(f"{k}: {v}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
