"""Lip-sync acceptance figures (issue 12) on the validation speakers of `synctalk.ave.default_split()`.

1. Imposed shifts: every validation clip with its audio delayed by {-10, -6, -3, 0, 3, 6, 10} frames; a
   trial hits when the clip offset moves by the shift within +-1 frame. For the lip-sync expert and for
   the phonetic score (pocketsphinx phones against the measured lip gap; English).
2. Per window: fraction of 5-frame windows whose best offset is within +-1 frame of their clip's offset
   (chance 3/31).
3. Mismatch: a clip's own speech against every other validation speaker's speech (looped or cut to the
   clip); a pair hits when its own speech gets the higher clip confidence.
4. Lip relevance: ridge regressions fit on the training speakers' real frames and scored (R^2) on the
   validation speakers' frames, to jawOpen, mouthClose, mouthFunnel, mouthPucker and the inner-lip gap,
   from AVE features (the AVE trained with seeds 0, 1, 2 against the same expert), mel windows and MFCCs.
   Targets and features are centred per clip (`lip_relevance_r2`): a speaker's resting mouth (how open,
   how pursed at rest) is who they are, not what they say, and no audio feature can know it; scored raw
   (`lip_relevance_r2_raw`), that offset between speakers dominates and the mean R^2 of every feature is negative.
5. Speed: expert and AVE training time, and feature extraction frames/s (2 torch threads):
   Conv(A) alone and the renderer's lip features (Conv(A) with the expert's speech embedding).

The expert and the AVEs are trained here from scratch (seeded), on the training side of the split, or, with
--models, the expert and the seed-0 AVE are those of a given ave.pt trained on the same split (e.g. the default
models of `train_default_models`) and only the other seeds' AVEs are trained here (cached beside it as
bench-ave-seed<N>.pt, so that a second run trains nothing). Nothing of the validation
speakers is seen in training. Prints one JSON object on its last line.
"""
from __future__ import annotations
import argparse, json, os, platform, statistics, time
from pathlib import Path

import numpy as np
import torch

from synctalk.assets import asset_path
from synctalk.core import atomic_path
from synctalk.audio import audio_features, load_audio_encoder
from synctalk.io import read_audio
from synctalk.ave import (AVEConfig, ExpertConfig, LIP_TARGETS, default_split, frame_features, lip_target, load_clips,
                          expert_path, lip_features, load_expert, ridge_r2, score_offsets, train_ave, train_expert, with_speech)
from synctalk.phonetic import phonetic_sync, PhoneticError

SHIFTS = (-10, -6, -3, 0, 3, 6, 10)


def looped(audio, n):
    "`audio` repeated or cut to `n` samples."
    return np.tile(audio, int(np.ceil(n/len(audio))))[:n]


def shift_trials(expert, clips):
    "Per clip: the expert's and the phonetic clip offset at each imposed shift."
    rows = []
    for c in clips:
        ex = {s: score_offsets(expert, with_speech(c, c.audio, s)).clip_offset for s in SHIFTS}
        try: ph = {s: phonetic_sync(with_speech(c, c.audio, s).audio, c.lip_gap).offset for s in SHIFTS}
        except PhoneticError as e: ph = {s: None for s in SHIFTS}; print(f"phonetic: {c.name}: {e}")
        rows.append(dict(clip=c.name, speaker=c.speaker, frames=len(c), expert=ex, phonetic=ph))
        print(f"{c.name:40s} {c.speaker:14s} {len(c):4d} frames  expert {ex}  phonetic {ph}", flush=True)
    def rate(kind):
        hits = [abs(r[kind][s] - r[kind][0] - s) <= 1 for r in rows for s in SHIFTS if r[kind][s] is not None and r[kind][0] is not None]
        return round(float(np.mean(hits)), 3), len(hits)
    return rows, rate("expert"), rate("phonetic")


def window_agreement(expert, clips):
    "Fraction of all validation windows within +-1 frame of their clip's offset."
    hits = np.concatenate([np.abs((s := score_offsets(expert, c)).best - s.clip_offset) <= 1 for c in clips])
    return round(float(hits.mean()), 3), len(hits)


def mismatch(expert, clips):
    "Fraction of (clip, other speaker's speech) pairs where the clip's own speech gets the higher confidence."
    own = {c.name: score_offsets(expert, c).confidence for c in clips}
    hits = [own[c.name] > score_offsets(expert, with_speech(c, looped(o.audio, len(c.audio)))).confidence
            for c in clips for o in clips if o.speaker != c.speaker]
    return round(float(np.mean(hits)), 3), len(hits)


def lip_relevance(train_clips, val_clips, encoders, stride=2):
    "Validation R^2 per target of ridge regressions from AVE (one per encoder), mel and MFCC features, and their means: (centred per clip, raw)."
    kinds = {"mel": ("mel", None), "mfcc": ("mfcc", None), **{f"ave_seed{i}": ("ave", enc) for i, enc in enumerate(encoders)}}
    def per_clip(clips, get): return [np.asarray(get(c), np.float64) for c in clips]
    def targets(c): return np.stack([lip_target(c, t) for t in LIP_TARGETS], 1) # [N, 5]
    y = per_clip(train_clips, targets), per_clip(val_clips, targets)
    x = {k: (per_clip(train_clips, lambda c: frame_features(c, kind, enc)), per_clip(val_clips, lambda c: frame_features(c, kind, enc)))
         for k, (kind, enc) in kinds.items()} # features computed once, scored both ways
    def scored(centred):
        stack = lambda parts: np.concatenate([((p - p.mean(0)) if centred else p)[::stride] for p in parts]) # centred on the whole clip
        r2 = {k: ridge_r2(stack(xtr), stack(y[0]), stack(xva), stack(y[1])) for k, (xtr, xva) in x.items()}
        out = {t: {k: round(float(r2[k][j]), 3) for k in kinds} for j, t in enumerate(LIP_TARGETS)}
        return out, {k: round(float(np.mean([out[t][k] for t in LIP_TARGETS])), 3) for k in kinds}
    return scored(True), scored(False)


def relevance_verdict(mean):
    "Acceptance 4: the AVE's mean R^2 over seeds above mel and MFCC, and its worst seed above mel."
    aves = [v for k, v in mean.items() if k.startswith("ave_seed")]
    return dict(ave_mean=round(float(np.mean(aves)), 3), ave_worst=min(aves),
                beats_mel_and_mfcc=bool(np.mean(aves) > max(mean["mel"], mean["mfcc"])), worst_above_mel=bool(min(aves) > mean["mel"]))


def seed_encoder(train, expert, seed, models):
    "The AVE trained with `seed` against `expert`, cached beside `models` when it is given (same split, same expert)."
    cached = Path(models).with_name(f"bench-ave-seed{seed}.pt") if models else None
    if cached and cached.is_file(): return load_audio_encoder(cached), None
    t0 = time.perf_counter()
    encoder = train_ave(train, expert, AVEConfig(seed=seed))
    seconds = round(time.perf_counter() - t0, 1)
    if cached:
        with atomic_path(cached) as tmp: torch.save(encoder.state_dict(), tmp)
    return encoder, seconds


def extraction_speed(features, seconds=60.0, reps=5):
    "Median frames/s of `features(speech, n_frames)` on `seconds` of speech, wall clock and per process-CPU second."
    speech = np.tile(read_audio(asset_path("may_drive.wav")), 8)[:int(seconds*16000)]
    n = int(seconds*25)
    features(speech, n)
    walls, cpus = [], []
    for _ in range(reps):
        w0, c0 = time.perf_counter(), time.process_time()
        features(speech, n)
        walls.append(time.perf_counter() - w0); cpus.append(time.process_time() - c0)
    return dict(frames=n, frames_per_s_wall=round(n/statistics.median(walls)), frames_per_cpu_s=round(n/statistics.median(cpus)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--ave-seeds", type=int, default=3)
    p.add_argument("--models", help="an ave.pt with its expert, trained on the same split with seed 0 (e.g. the default models): "
                                    "used as the expert and the seed-0 AVE instead of training them here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    split = default_split()
    train = load_clips(split.train, realign=True) # in sync, as the default models train on them
    val = load_clips([c for c in split.validation if c.part == "all"])
    t0 = time.perf_counter()
    if args.models: expert, encoders = load_expert(expert_path(args.models)), [load_audio_encoder(args.models)]
    else: expert, encoders = train_expert(train, ExpertConfig()), []
    expert_s = None if args.models else time.perf_counter() - t0
    ave_s = []
    for seed in range(len(encoders), args.ave_seeds):
        encoder, seconds = seed_encoder(train, expert, seed, args.models)
        encoders.append(encoder); ave_s.append(seconds)
    rows, shift_expert, shift_phonetic = shift_trials(expert, val)
    windows, pairs = window_agreement(expert, val), mismatch(expert, val)
    real_train = [c for c in train if not c.name.startswith(("vasa1", "emo_"))]
    (relevance, relevance_mean), (relevance_raw, relevance_raw_mean) = lip_relevance(real_train, val, encoders)
    result = dict(
        machine=dict(cpus=os.cpu_count(), torch_threads=args.threads, device="cpu", processor=platform.processor() or platform.machine(),
                     load_average_before=[round(x, 2) for x in load_before]),
        validation=dict(clips=len(val), speakers=sorted({c.speaker for c in val}), seconds=round(sum(len(c) for c in val)/25, 1)),
        training=dict(clips=len(train), speakers=len({c.speaker for c in train}), seconds=round(sum(len(c) for c in train)/25, 1)),
        imposed_shifts=dict(expert_hit_rate=shift_expert[0], phonetic_hit_rate=shift_phonetic[0], trials=shift_expert[1],
                            phonetic_trials=shift_phonetic[1], per_clip=rows),
        window_agreement=dict(rate=windows[0], windows=windows[1], chance=round(3/31, 3)),
        mismatch=dict(rate=pairs[0], pairs=pairs[1]),
        lip_relevance_r2=relevance, lip_relevance_mean_r2=relevance_mean, lip_relevance=relevance_verdict(relevance_mean),
        lip_relevance_r2_raw=relevance_raw, lip_relevance_mean_r2_raw=relevance_raw_mean,
        seconds=dict(expert_training=expert_s and round(expert_s, 1), ave_training=ave_s, models=args.models),
        extraction=extraction_speed(lambda speech, n: audio_features(speech, encoders[0], n_frames=n)),
        lip_feature_extraction=extraction_speed(lambda speech, n: lip_features(speech, encoders[0], expert, n)),
    )
    result["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    for k, v in result.items():
        if k != "imposed_shifts": print(f"{k}: {v}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
