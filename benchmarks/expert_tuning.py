"""How the lip-sync expert's knobs were chosen, without the validation speakers (issue 12).

A tuning split of the *training* side of `synctalk.ave.default_split()`: every fourth real training speaker
by name (the sample subject excepted) is held out from trial experts, which train on the rest (generated
clips included). The figure is the one the issue's per-window acceptance uses: the fraction of the held-out
speakers' 5-frame windows whose best offset is within +-1 frame of their clip's offset (chance 3/31), with
the clip offsets, and the imposed-shift hit rate at shifts -6, 3, 10 frames. Members are trained one seed
each; then the ensembles of the first 2 .. G members are scored (`SyncExpert.joined`).

    python benchmarks/expert_tuning.py --members 5 --steps 1500
    python benchmarks/expert_tuning.py --members 2 --as-recorded   # trial clips not put in sync (`load_clips(realign=False)`)

Prints one JSON object on its last line.
"""
from __future__ import annotations
import argparse, json, os, platform, time
from dataclasses import replace

import numpy as np
import torch

from synctalk.ave import (SAMPLE_SPEAKER, ExpertConfig, SyncExpert, default_split, load_clips, score_offsets, speaker_split,
                          train_expert, with_speech)
from sync import window_agreement # the per-window figure of the acceptance benchmark, on the tuning clips


def tuning_split(train):
    "Corpus entries of the trial experts' training clips and of the tuning clips (real clips of every fourth real training speaker)."
    real = sorted({c.speaker for c in train if c.real and c.speaker != SAMPLE_SPEAKER})
    return speaker_split(train, frozenset(real[::4]))


def scored(expert, clips):
    "Window agreement, clip offsets and imposed-shift hit rate of `expert` on `clips`."
    tables = [score_offsets(expert, c) for c in clips]
    agreement, windows = window_agreement(expert, clips)
    shifts = [abs(score_offsets(expert, with_speech(c, c.audio, s)).clip_offset - t.clip_offset - s) <= 1
              for c, t in zip(clips, tables) for s in (-6, 3, 10)]
    return dict(window_agreement=agreement, windows=windows, clip_offsets=[t.clip_offset for t in tables],
                shift_hit_rate=round(float(np.mean(shifts)), 3))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--members", type=int, default=ExpertConfig.members)
    p.add_argument("--steps", type=int, default=ExpertConfig.steps)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--as-recorded", action="store_true", help="train on the clips as recorded, not put in sync by the corpus's sync check")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    fit, held = tuning_split(default_split().train)
    fit, held = load_clips(fit, realign=not args.as_recorded), load_clips(held) # trained in sync (unless --as-recorded), measured as recorded
    print(f"tuning speakers: {sorted({c.speaker for c in held})}; trial training clips: {len(fit)}", flush=True)
    cfg, members, single, seconds = replace(ExpertConfig(), steps=args.steps, members=1), [], [], []
    for seed in range(args.members):
        t0 = time.perf_counter()
        members.append(train_expert(fit, replace(cfg, seed=seed)))
        seconds.append(round(time.perf_counter() - t0, 1))
        single.append(scored(members[-1], held)); print(f"member {seed}: {single[-1]}", flush=True)
    joined = {g: scored(SyncExpert.joined(members[:g]), held) for g in range(2, args.members + 1)}
    for g, r in joined.items(): print(f"{g} members: {r}")
    print(json.dumps(dict(
        machine=dict(cpus=os.cpu_count(), torch_threads=args.threads, processor=platform.processor() or platform.machine(),
                     load_average_before=[round(x, 2) for x in load_before], load_average_after=[round(x, 2) for x in os.getloadavg()]),
        trained_in_sync=not args.as_recorded, tuning_speakers=sorted({c.speaker for c in held}), tuning_seconds=round(sum(len(c) for c in held)/25, 1),
        steps=args.steps, member_training_s=seconds, members=single, ensembles=joined)))


if __name__ == "__main__":
    main()
