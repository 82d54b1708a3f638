"""Text to talking head (issue 17): three sentences (5-10 s each) spoken by eSpeak NG and rendered by a trained workspace.

Per sentence:
1. the known-answer sync check: the expected mouth opening from eSpeak's own phoneme events against the mouth
   opening MediaPipe measures on the rendered frames; best offset (frames; > 0: audio late) and correlation there;
2. the lip-sync expert's verdict on the same video (offset, confidence): the expert trained with the workspace's AVE;
3. the soundtrack: the lag (samples) of the mp4's sound against the synthesized speech over its first and its last
   half (0 and 0: sample-accurate, no drift);
4. the time of each part of `say` (synthesis, load, features, render, mux) and the total, and of the sync check,
   at say's default preview (the face rendered at 3/4 of the model's resolution; --scale 1: full).

The workspace is given with -w; by default a quick demo workspace is built (once, cached): the sample subject at
256x256, trained at 64x64 for 60 steps (`synctalk demo --quick` trains for half a minute). A quick model syncs poorly: its figures
say that the pipeline runs and how fast, not how well a trained model lip-syncs. Prints one JSON object on its
last line (machine, load average before and after).
"""
from __future__ import annotations
import argparse, json, os, platform, tempfile, time
from pathlib import Path

import numpy as np
import torch

from synctalk.core import SynctalkError, file_lock
from synctalk.io import read_audio
from synctalk.say import DEFAULT_PITCH, DEFAULT_RATE, DEFAULT_VOICE, PREVIEW_SCALE, say, say_sync
from synctalk.workspace import Workspace

SENTENCES = (
    "Good morning everybody, and thank you all so much for coming here today to listen to us.",
    "The weather has been lovely this week, so we spent most of our afternoons walking slowly along the river.",
    "Please remember to bring your notes to the meeting on Thursday, because we will go through every chapter "
    "of the report together, page by page, until all is clear.",
)

QUICK_STEPS = 200 # training steps of the quick model: enough for MediaPipe to find the rendered face (after 60 it renders none, and the
                  # portrait shows the base with the face removed); 150 steps took 28 s on 2 idle cores


def quick_workspace(folder:Path) -> Workspace:
    """The sample subject processed at 256x256 and trained at 64x64 (`synctalk demo --quick` without its evaluation); reused while it fits the code.

    The demo's half-minute budget gave 6 steps on a loaded 2-core machine; a fixed QUICK_STEPS does not depend on the load."""
    from synctalk.assets import asset_path
    from synctalk.workspace import ingest
    from synctalk.cli import process_workspace
    from synctalk.model import load_nerf
    from synctalk.train import train_workspace
    ws = Workspace(folder/"workspace")
    with file_lock(folder/"build.lock"):
        ingest(asset_path("may_short.mp4"), ws, size=256)
        process_workspace(ws)
        try: fits = load_nerf(ws, "cpu") is not None and ws.record("train").meta.get("steps") == QUICK_STEPS
        except SynctalkError: fits = False
        if not fits: train_workspace(ws, resolution=64, iters=QUICK_STEPS, force=True)
    return ws


def lag_samples(a, b, max_lag=1600) -> int:
    "The lag (samples) at which `b` best matches `a`: b[i + lag] ~ a[i]."
    n = min(len(a), len(b)) - max_lag
    return int(np.argmax([float(np.dot(a[max_lag:n], b[max_lag + k:n + k])) for k in range(-max_lag, max_lag + 1)])) - max_lag


def expert_verdict(ws:Workspace, path:Path) -> dict|None:
    "The lip-sync expert's offset and confidence on a video (the expert trained beside the workspace's AVE), or None where there is none."
    from synctalk.ave import expert_path, load_expert, video_sync
    from synctalk.workspace import ARTIFACTS
    where = expert_path(ws.path(ARTIFACTS.ave))
    if not where.is_file():
        print(f"expert: {where} does not exist (an official AVE has no expert beside it)")
        return None
    try: s = video_sync(path, expert=load_expert(where))
    except SynctalkError as e:
        print(f"expert: {e}")
        return None
    return dict(offset=s.offset, confidence=round(s.confidence, 4), window_agreement=round(s.window_agreement, 3))


def one_sentence(ws:Workspace, text:str, out:Path, voice:str, rate:int, pitch:int, scale:float, expert:bool) -> dict:
    r = say(ws, text, out, voice=voice, rate=rate, pitch=pitch, scale=scale)
    t0 = time.perf_counter()
    sync = say_sync(r)
    check_s = time.perf_counter() - t0
    speech, back = r.speech.audio, read_audio(r.path)
    half = len(speech)//2
    row = dict(text=text, seconds=round(r.speech.seconds, 2), frames=r.n_frames, render_size=r.size,
               phonemes=sum(1 for p in r.speech.phonemes if p.ipa),
               sync=dict(offset=sync.offset, correlation=round(sync.correlation, 3),
                         within_2_frames=abs(sync.offset) <= 2, correlation_at_0=round(float(sync.curve[list(sync.offsets).index(0)]), 3)),
               expert=expert_verdict(ws, r.path) if expert else None,
               soundtrack=dict(lag_first_half=lag_samples(speech[:half], back[:half]),
                               lag_last_half=lag_samples(speech[half:], back[half:len(speech)]), samples_written=len(speech), samples_read=len(back)),
               times={k: round(v, 2) for k, v in r.times._asdict().items()}, sync_check_s=round(check_s, 2))
    print(f"{row['seconds']:5.2f} s {r.n_frames:4d} frames  sync {sync.offset:+d} frames r={sync.correlation:.3f}  "
          f"expert {row['expert']}  lags {row['soundtrack']['lag_first_half']}/{row['soundtrack']['lag_last_half']}  "
          f"times {row['times']}  check {check_s:.1f} s", flush=True)
    return row


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-w", "--workspace", type=Path, help="a trained workspace (default: a quick demo workspace, built once)")
    p.add_argument("--voice", default=DEFAULT_VOICE); p.add_argument("--rate", type=int, default=DEFAULT_RATE)
    p.add_argument("--pitch", type=int, default=DEFAULT_PITCH)
    p.add_argument("--scale", type=float, default=PREVIEW_SCALE, help="render side as a fraction of the model's resolution (say's default: a preview)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-expert", action="store_true", help="skip the lip-sync expert's verdict")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    if args.workspace is not None: ws = Workspace(args.workspace)
    else:
        from synctalk.assets import cache_dir
        t0 = time.perf_counter()
        ws = quick_workspace(cache_dir()/"say"/"demo-quick")
        print(f"quick workspace {ws.root} ready in {time.perf_counter() - t0:.0f} s")
    model = json.loads(ws.manifest_path.read_text())["steps"].get("train", {}).get("meta", {})
    with tempfile.TemporaryDirectory() as d:
        rows = [one_sentence(ws, t, Path(d)/f"s{i}.mp4", args.voice, args.rate, args.pitch, args.scale, not args.no_expert) for i, t in enumerate(SENTENCES)]
    result = dict(
        machine=dict(cpus=os.cpu_count(), torch_threads=args.threads, device="cpu", processor=platform.processor() or platform.machine(),
                     load_average_before=[round(x, 2) for x in load_before]),
        workspace=str(ws.root), model=model, voice=args.voice, rate=args.rate, pitch=args.pitch, scale=args.scale,
        sentences=rows,
        summary=dict(sync_offsets=[r["sync"]["offset"] for r in rows], sync_correlations=[r["sync"]["correlation"] for r in rows],
                     soundtrack_lags=[[r["soundtrack"]["lag_first_half"], r["soundtrack"]["lag_last_half"]] for r in rows],
                     totals_s=[r["times"]["total"] for r in rows], seconds=[r["seconds"] for r in rows]),
    )
    result["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
