"""Head-Sync Stabilizer on may_short.mp4 (331 frames, 512x512): figures and speed.

Targets (issue 4):
- jitter (mean norm of the second temporal difference of yaw/pitch/roll, degrees) of the
  bundle-adjusted poses <= 50% of the raw per-frame landmark fit's, with the keypoint
  reprojection RMSE <= 1.5 px at 512x512;
- the whole stabilizer (landmark fit with the focal search, optical-flow keypoint tracking,
  bundle adjustment) in <= 60 s on 2 CPU cores.

The stabilizer runs once, in this process, on frames, landmarks and masks read from the cached
sample workspace (the face and masks steps are not timed); that run includes torch's one-time
optimizer import (a few seconds), as a fresh `synctalk process` would. Each stage is then timed on
its own, from the same inputs, to show where the time goes. Wall-clock figures depend
on what else runs on the machine: the load average before and after is reported, with the process
CPU time. Prints one JSON object on its last line.
"""
from __future__ import annotations
import json, os, platform, time

from synctalk.workspace import sample_workspace, load_frames
from synctalk.face import process_face, load_face
from synctalk.masks import process_masks, load_masks
from synctalk.track import (StabilizerConfig, stabilize_head, fit_head_motion, neutral_frames, choose_reference,
                            track_keypoints, bundle_adjust)


def main():
    ws = sample_workspace()
    process_face(ws); process_masks(ws)
    frames, track, masks = load_frames(ws), load_face(ws), load_masks(ws)
    c = StabilizerConfig()
    load_before = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    s = stabilize_head(frames, track, masks, c)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    stages = {}
    t = time.perf_counter()
    fit = fit_head_motion(track.landmarks, frames.shape[2], frames.shape[1], track.detected, search_frames=c.search_frames, shape_weight=c.shape_weight)
    stages["landmark_fit"] = time.perf_counter() - t; t = time.perf_counter()
    ref = choose_reference(fit.rotvec, neutral_frames(track))
    tracks = track_keypoints(frames, track.landmarks, masks.face(ref), ref, c.n_keypoints, c.min_distance, c.rigid_fraction, c.max_fb)
    stages["keypoint_tracking"] = time.perf_counter() - t; t = time.perf_counter()
    bundle_adjust(tracks, fit, c.ba_iters, c.ba_lr)
    stages["bundle_adjustment"] = time.perf_counter() - t
    result = dict(
        clip="may_short.mp4", n_frames=len(frames), size=int(frames.shape[1]),
        focal=round(s.poses.focal, 2), jitter_raw=round(s.jitter_raw, 4), jitter_ba=round(s.jitter_ba, 4),
        jitter_ratio=round(s.jitter_ba/s.jitter_raw, 4), rmse=round(s.ba.rmse, 4), landmark_rmse=round(float(s.fit.rmse.mean()), 4),
        n_keypoints=len(s.tracks), n_inliers=int(s.tracks.inliers.sum()), seconds=round(wall, 2), cpu_seconds=round(cpu, 2),
        stage_seconds={k: round(v, 2) for k, v in stages.items()},
        targets=dict(jitter_ratio_max=0.5, rmse_max=1.5, seconds_max=60),
        machine=dict(cpu_cores=os.cpu_count(), device="cpu", platform=platform.platform(),
                     load_average_before=round(load_before, 2), load_average_after=round(os.getloadavg()[0], 2)),
    )
    print(f"focal {result['focal']} px, jitter raw {result['jitter_raw']} -> BA {result['jitter_ba']} deg "
          f"(ratio {result['jitter_ratio']}), keypoint RMSE {result['rmse']} px, {result['seconds']} s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
