"""How the renderer's mouth reader chose its inputs, without the validation speakers (issue 12).

The reader (`synctalk.ave.MouthReader`) predicts a subject's mouth codes from the lip features of frames
i-2 .. i+2. Which features? Trial models (the expert and the AVE, default configurations) are trained on
the training side of `synctalk.ave.default_split()` without four *training* speakers with long clips
(`TUNING_SPEAKERS`), and on those speakers' clips the reader is fit on each clip's training part from:
`Conv(A)` alone, the expert's speech embedding alone, or both side by side (`lip_features`). Figures:

- within: the held-out tail's inner-lip gap read from the clip's own speech (through the gap's linear
  fit on the training frames' true codes), Pearson r against the real gap, mean over the clips;
- cross: one speaker's reader on every other tuning speaker's whole clip: r of the gap it reads against
  that clip's real gap (does the reader follow the timing of another voice's mouth?), mean over pairs.

The same figures are then measured for the chosen features (both) over windows of 5, 9 and 13 frames
(`WIDTHS`): does a longer context read the mouth better?

    python benchmarks/reader_tuning.py [--models trial/ave.pt]

The trial models are trained here (about 8 minutes on 2 cores) and kept under the user cache, or given
with --models (trained on the same split). Prints one JSON object on its last line.
"""
from __future__ import annotations
import argparse, json, os, platform, time

import numpy as np
import torch

from synctalk.assets import cache_dir
from synctalk.ave import (AVEConfig, ExpertConfig, MouthReader, default_split, expert_path, heldout_start, lip_features, load_clips,
                          load_expert, mouth_codes, save_models, speaker_split, train_ave, train_expert)
from synctalk.audio import load_audio_encoder
from synctalk.nerf import neighbour_windows

TUNING_SPEAKERS = frozenset({"ng", "li", "noem", "latentsync_man"}) # training speakers with 18-52 s of clips; no validation speaker
FEATURES = {"conv_a": slice(0, 512), "expert": slice(512, None), "both": slice(0, None)}
WIDTHS = (5, 9, 13) # frames per reader window W, for the chosen features


def trial_models(path):
    "The trial encoder and expert (trained without the tuning speakers), trained and saved at `path` unless there."
    if not os.path.isfile(path):
        fit, _ = speaker_split(default_split().train, TUNING_SPEAKERS)
        clips = load_clips(fit, realign=True)
        expert = train_expert(clips, ExpertConfig())
        save_models(train_ave(clips, expert, AVEConfig()), expert, ExpertConfig(), path)
    return load_audio_encoder(path), load_expert(expert_path(path))


def windows(features, width=5):
    "Lip features of frames i - width//2 .. of every frame: float32 [N, width, A]."
    return neighbour_windows(torch.from_numpy(features), torch.arange(len(features)), width).numpy()


def gap_reader(clip, features, width=5):
    "The reader fit on the clip's training part, and the clip's gap as a linear function of its codes."
    s = heldout_start(len(clip))
    codes = mouth_codes(clip.shape, s)
    w = windows(features, width)
    reader = MouthReader(w[0].size).fit(w[:s], codes[:s])
    return reader, np.linalg.lstsq(np.c_[codes[:s], np.ones(s)], clip.lip_gap[:s], rcond=None)[0], width


def read_gap(reader, gap, width, features):
    "The lip gap the reader reads from features [N, A]: float [N]."
    codes = reader(torch.from_numpy(windows(features, width))).numpy()
    return np.c_[codes, np.ones(len(codes))] @ gap


def reader_scores(clips, feats, width=5):
    "Within and cross r of readers over `width` frames (see the module docstring)."
    readers = [gap_reader(c, f, width) for c, f in zip(clips, feats)]
    within = [float(np.corrcoef(read_gap(*rd, f)[heldout_start(len(c)):], c.lip_gap[heldout_start(len(c)):])[0, 1])
              for c, f, rd in zip(clips, feats, readers)]
    cross = [float(np.corrcoef(read_gap(*readers[a], feats[b]), clips[b].lip_gap)[0, 1])
             for a in range(len(clips)) for b in range(len(clips)) if clips[a].speaker != clips[b].speaker]
    return dict(within_r=round(float(np.mean(within)), 3), within_per_clip=[round(r, 3) for r in within],
                cross_r=round(float(np.mean(cross)), 3), cross_pairs=len(cross))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=str(cache_dir()/"ave"/"reader-tuning-in-sync"/"ave.pt"), help="the trial ave.pt (expert beside it)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    encoder, expert = trial_models(args.models)
    trained_s = round(time.perf_counter() - t0, 1)
    clips = [c for c in load_clips(speaker_split(default_split().train, TUNING_SPEAKERS).validation) if len(c) >= 250] # 10 s or more
    full = [lip_features(c.audio, encoder, expert, len(c)) for c in clips]
    result, widths = {}, {}
    for name, cols in FEATURES.items():
        result[name] = reader_scores(clips, [f[:, cols] for f in full])
        print(name, result[name], flush=True)
    for width in WIDTHS: # the chosen features over longer windows
        widths[width] = reader_scores(clips, full, width)
        print("both, width", width, widths[width], flush=True)
    print(json.dumps(dict(
        machine=dict(cpus=os.cpu_count(), torch_threads=args.threads, processor=platform.processor() or platform.machine(),
                     load_average_before=[round(x, 2) for x in load_before], load_average_after=[round(x, 2) for x in os.getloadavg()]),
        tuning_speakers=sorted(TUNING_SPEAKERS), clips=[c.name for c in clips], trial_models_training_s=trained_s, features=result,
        widths=widths)))


if __name__ == "__main__":
    main()
