"""Head-Sync Stabilizer: figures and speed on the sample, or on every real clip of the corpus.

`python benchmarks/track.py` (issue 4): may_short.mp4 (331 frames, 512x512): jitter of the stabilized
poses against the raw landmark fit, scale flicker, keypoint RMSE, and seconds per stage.

`python benchmarks/track.py --corpus [--videos LONG.mp4 ...]` (issue 13): every real clip of
`../shared/corpus/real`, any more real clips given with `--videos`, and the asset clips (may_short,
retalk_face1..5), each ingested at the default 512x512 into a cached workspace (the ingest, face and
masks steps are cached and not timed), then the track step run afresh. One row per clip: frames,
face width, reference frames, keypoints per reference and per frame, jitter raw -> stabilized
(deg), scale flicker raw -> stabilized (%), RMSE (px, kept observations), fraction of the
observations kept, frames that fell back to the landmark fit, seconds (wall and CPU), or the
one-line error of the step that refused it. Targets (issue 13):
- on every clip where a face is found: stabilized jitter below the landmark fit's, median reduction
  >= 30%, RMSE <= 1.0 px, >= 100 keypoints where the face is >= 200 px wide;
- every real clip processes, or is refused with a one-line error naming frames and a reason;
- the track step <= 30 s for 331 frames and <= 3 min for 1500 frames on 2 cores.

Wall-clock figures depend on what else runs on the machine: the load average before and after is
reported, with the CPU time of the step. The last printed line is one JSON object.
"""
from __future__ import annotations
import argparse, json, os, platform, time, warnings
from pathlib import Path

import numpy as np

from synctalk.assets import cache_dir
from synctalk.core import SynctalkError
from synctalk.workspace import Workspace, ingest, sample_workspace, load_frames
from synctalk.face import process_face, load_face
from synctalk.masks import process_masks, load_masks
from synctalk.track import (StabilizerConfig, stabilize_head, fit_head_motion, neutral_frames, choose_references, track_keypoints,
                            bundle_adjust, process_track, face_width, source_pixels)

CORPUS = Path(__file__).resolve().parents[2]/"shared"/"corpus"
ASSET_CLIPS = ["may_short.mp4"] + [f"retalk_face{i}.mp4" for i in range(1, 6)]


def machine(load_before:float) -> dict:
    return dict(cpu_cores=os.cpu_count(), device="cpu", platform=platform.platform(),
                load_average_before=round(load_before, 2), load_average_after=round(os.getloadavg()[0], 2))


def sample():
    "Issue 4's figures on may_short, and where the time goes."
    ws = sample_workspace()
    process_face(ws); process_masks(ws)
    frames, track, masks = load_frames(ws), load_face(ws), load_masks(ws)
    c = StabilizerConfig()
    load_before = os.getloadavg()[0]
    s = stabilize_head(frames, track, masks, c, source_pixels(ws))
    stages, t = {}, time.perf_counter()
    fit = fit_head_motion(track.landmarks, frames.shape[2], frames.shape[1], track.detected, search_frames=c.search_frames, shape_weight=c.shape_weight)
    stages["landmark_fit"] = time.perf_counter() - t; t = time.perf_counter()
    refs = choose_references(fit.rotvec, neutral_frames(track) & s.trusted, c.every)
    tracks = track_keypoints(frames, track, masks, refs, s.trusted, c.n_keypoints, c.spacing, c.flow_target, c.max_fb,
                             source_px=source_pixels(ws), max_upsample=c.max_upsample, min_valid=c.min_valid, rigid_fraction=c.rigid_fraction)
    stages["keypoint_tracking"] = time.perf_counter() - t; t = time.perf_counter()
    bundle_adjust(tracks, fit, track.landmarks, s.trusted, c.ba_iters, c.robust_px, c.anchor, outlier_px=c.outlier_px)
    stages["bundle_adjustment"] = time.perf_counter() - t
    f = s.figures
    result = dict(clip="may_short.mp4", n_frames=len(frames), size=int(frames.shape[1]), focal=round(s.poses.focal, 2), **f._asdict(),
                  jitter_ratio=round(f.jitter_ba/f.jitter_raw, 4), seconds=round(s.seconds, 2), cpu_seconds=round(s.cpu_seconds, 2),
                  stage_seconds={k: round(v, 2) for k, v in stages.items()},
                  targets=dict(jitter_ratio_max=0.5, rmse_max=1.0, keypoints_min=100, seconds_max=30), machine=machine(load_before))
    print(f"focal {result['focal']} px, jitter {f.jitter_raw} -> {f.jitter_ba} deg (ratio {result['jitter_ratio']}), scale flicker "
          f"{f.flicker_raw} -> {f.flicker_ba} %, RMSE {f.rmse} px, {f.keypoints} keypoints per reference, {result['seconds']} s")
    print(json.dumps(result))


def clips(videos:list[str]=()) -> list[tuple[str, str, Path|str]]:
    "(name, kind, video) of every real corpus clip, the given `videos` (real clips from elsewhere) and every asset clip."
    real = sorted((CORPUS/"real").glob("*.mp4")) + [Path(v) for v in videos]
    return [(p.stem, "real", p) for p in real] + [(Path(a).stem, "asset", a) for a in ASSET_CLIPS]


def prepare(kind:str, video) -> Workspace:
    "The clip's cached workspace with the ingest, face and masks steps done."
    if kind == "asset": ws = sample_workspace(video)
    else:
        ws = Workspace(cache_dir()/"workspaces"/"corpus"/f"{Path(video).stem}-512")
        ingest(video, ws)
    process_face(ws); process_masks(ws)
    return ws


def row(name:str, kind:str, video) -> dict:
    "One clip: its figures, or the step and message that refused it."
    r = dict(clip=name, kind=kind)
    try: ws = prepare(kind, video)
    except SynctalkError as e: return dict(r, refused_by="ingest/face/masks", message=str(e))
    r["face_px"] = round(face_width(load_face(ws)), 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try: m = process_track(ws, force=True).meta
        except SynctalkError as e: return dict(r, refused_by="track", message=str(e))
    keys = ("n_frames", "n_references", "flow_scale", "keypoints", "keypoints_per_frame", "jitter_raw", "jitter_ba", "flicker_raw",
            "flicker_ba", "rmse", "used_fraction", "fallback_frames", "untrusted_frames", "seconds", "cpu_seconds")
    return dict(r, **{k: m[k] for k in keys}, warnings=[str(w.message) for w in caught])


def show(r:dict) -> str:
    if "message" in r: return f"{r['clip']:<34} {r['kind']:<5} refused by {r['refused_by']}: {r['message']}"
    return (f"{r['clip']:<34} {r['kind']:<5} {r['n_frames']:>5} {r['face_px']:>6.0f} {r['n_references']:>4} {r['keypoints']:>5} {r['keypoints_per_frame']:>5}"
            f" {r['jitter_raw']:>6.3f} {r['jitter_ba']:>6.3f} {r['flicker_raw']:>6.3f} {r['flicker_ba']:>6.3f} {r['rmse']:>6.3f}"
            f" {r['used_fraction']:>5.2f} {r['fallback_frames']:>5} {r['seconds']:>6.1f} {r['cpu_seconds']:>6.1f}")


def aggregates(rows:list[dict]) -> dict:
    done = [r for r in rows if "message" not in r]
    ratio = np.array([r["jitter_ba"]/r["jitter_raw"] for r in done])
    big = [r for r in done if r["face_px"] >= 200]
    n, cpu, wall = (np.array([r[k] for r in done], float) for k in ("n_frames", "cpu_seconds", "seconds"))
    fit = np.polyfit(n, cpu, 1) if len(done) > 1 else np.array([0., 0.]) # CPU seconds = a*frames + b over the clips
    longest = max(done, key=lambda r: r["n_frames"], default=None)
    return dict(clips=len(rows), processed=len(done), refused=len(rows) - len(done),
                refusals={r["clip"]: f"{r['refused_by']}: {r['message']}" for r in rows if "message" in r},
                stabilized_below_raw=int((ratio < 1).sum()), not_below=[r["clip"] for r in done if r["jitter_ba"] >= r["jitter_raw"]],
                median_jitter_reduction=round(float(1 - np.median(ratio)), 4) if done else None,
                median_flicker_reduction=round(float(1 - np.median([r["flicker_ba"]/r["flicker_raw"] for r in done])), 4) if done else None,
                rmse_at_most_1px=int(sum(r["rmse"] <= 1.0 for r in done)), median_rmse=round(float(np.median([r["rmse"] for r in done])), 4) if done else None,
                rmse_above_1px={r["clip"]: r["rmse"] for r in done if r["rmse"] > 1.0},
                faces_200px=len(big), faces_200px_with_100_keypoints=int(sum(r["keypoints"] >= 100 for r in big)),
                fewer_than_100_keypoints={r["clip"]: r["keypoints"] for r in big if r["keypoints"] < 100},
                median_keypoints=int(np.median([r["keypoints"] for r in done])) if done else None,
                fallback_clips=[r["clip"] for r in done if r["fallback_frames"]],
                cpu_seconds_fit=dict(per_frame=round(float(fit[0]), 4), fixed=round(float(fit[1]), 2),
                                     at_331_frames=round(float(np.polyval(fit, 331)), 1), at_1500_frames=round(float(np.polyval(fit, 1500)), 1)),
                may_short_seconds={k: r[k] for r in done if r["clip"] == "may_short" for k in ("n_frames", "seconds", "cpu_seconds")},
                longest_clip={k: longest[k] for k in ("clip", "n_frames", "seconds", "cpu_seconds")} if longest else None,
                wall_over_cpu=round(float(np.median(wall/cpu)), 2) if done else None)


def corpus(only:list[str]|None=None, videos:list[str]=()):
    "Issue 13's sweep: every real corpus clip, the given `videos` and the asset clips."
    todo = [c for c in clips(videos) if not only or c[0] in only]
    load_before, rows, start = os.getloadavg()[0], [], time.perf_counter()
    print(f"{'clip':<34} {'kind':<5} {'frames':>5} {'face':>6} {'refs':>4} {'kp/ref':>5} {'kp/fr':>5} {'jit_raw':>6} {'jit_ba':>6}"
          f" {'flk_raw':>6} {'flk_ba':>6} {'rmse':>6} {'kept':>5} {'fallb':>5} {'sec':>6} {'cpu_s':>6}", flush=True)
    for name, kind, video in todo:
        rows.append(row(name, kind, video))
        print(show(rows[-1]), flush=True)
    result = dict(aggregates=aggregates(rows), rows=rows, config=StabilizerConfig().__dict__, sweep_seconds=round(time.perf_counter() - start, 1),
                  targets=dict(median_jitter_reduction_min=0.3, rmse_max=1.0, keypoints_min=100, face_px_for_keypoints=200,
                               seconds_per_331_frames_max=30, seconds_per_1500_frames_max=180),
                  machine=machine(load_before))
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", action="store_true", help="every real corpus clip and the asset clips, one row each")
    p.add_argument("--clips", nargs="*", help="with --corpus: only these clips (names without .mp4)")
    p.add_argument("--videos", nargs="*", default=[], help="with --corpus: more real clips to sweep (e.g. a long one outside the corpus)")
    a = p.parse_args()
    corpus(a.clips, a.videos) if a.corpus else sample()
