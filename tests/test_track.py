"The track step (Head-Sync Stabilizer): synthetic and real-texture ground truth, the sample's figures, other faces, bad input."
import json, shutil
import numpy as np
import pytest
from dataclasses import replace
from scipy.spatial.transform import Rotation
from conftest import synctalk
from synctalk.workspace import ARTIFACTS, Workspace, sample_workspace, load_frames, load_arrays, save_arrays
from synctalk.face import process_face, load_face
from synctalk.masks import Masks, process_masks, load_masks
from synctalk.track import (synthetic_sequence, fit_head_motion, bundle_adjust, pose_errors, process_track, load_poses, load_keypoints,
                            stabilize_head, textured_sequence, rotation_errors, choose_references, neutral_frames, track_figures,
                            TrackFigures, TrackError, source_pixels)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_synthetic_ground_truth(seed):
    "Known points, smooth poses and focal length, 1 px noise, 5% bad tracks."
    syn = synthetic_sequence(seed=seed)
    assert syn.outliers.any() and abs(syn.outliers.mean() - 0.05) < 0.05
    fit = fit_head_motion(syn.landmarks, syn.size, syn.size)
    ba = bundle_adjust(syn.tracks, fit, syn.landmarks)
    rot, trans = pose_errors(Rotation.from_rotvec(ba.rotvec).as_matrix(), ba.trans, syn.rotation, syn.trans)
    assert np.median(rot) < 0.5, np.median(rot)
    assert np.median(trans) < 0.01, np.median(trans)
    assert abs(fit.focal/syn.focal - 1) < 0.05, fit.focal
    kept = np.bincount(syn.tracks.track[ba.used], minlength=len(syn.tracks)) > 0.5*syn.tracks.n_frames
    assert kept[~syn.outliers].all() # no good track is thrown away


def _workspace(clip="may_short.mp4"):
    ws = sample_workspace(clip)
    process_face(ws); process_masks(ws)
    return ws


@pytest.mark.parametrize("clip", ["may_short.mp4", "retalk_face1.mp4", "retalk_face4.mp4"]) # landmark errors: 0.9, 0.4 (clean), 0.9 px
def test_real_texture_ground_truth(clip):
    "A real frame warped along known poses, with the clip's real landmark errors: the stabilized poses are nearer the truth than the landmark fit."
    ws = _workspace(clip)
    frames, track = load_frames(ws), load_face(ws)
    fit = fit_head_motion(track.landmarks, frames.shape[2], frames.shape[1], track.detected)
    ref = int(choose_references(fit.rotvec, neutral_frames(track), 50)[0])
    gt = textured_sequence(frames, track, fit, ref, n_frames=100, seed=1)
    s = stabilize_head(gt.frames, gt.track, gt.masks)
    raw = rotation_errors(Rotation.from_rotvec(s.fit.rotvec).as_matrix(), gt.rotation)
    ba = rotation_errors(s.poses.c2w[:, :3, :3].transpose(0, 2, 1).astype(np.float64), gt.rotation)
    assert np.median(ba) < 0.3 and np.median(ba) <= 1.1*np.median(raw), (np.median(ba), np.median(raw)) # never worse than the fit
    assert np.percentile(ba, 90) <= np.percentile(raw, 90), (np.percentile(ba, 90), np.percentile(raw, 90))
    f = s.figures
    assert f.jitter_ba < f.jitter_raw and f.flicker_ba <= f.flicker_raw and f.rmse < 1.0, f # (a clean fit's scale may be kept)
    depth = np.linalg.norm(gt.trans, axis=-1)
    scale = np.median(np.linalg.norm(s.ba.trans, axis=-1)/depth) # the world's scale is the fit's, up to the focal length
    assert 0.8 < scale < 1.25, scale


def test_sample_figures():
    "On may_short.mp4: jitter at most half the landmark fit's, less scale flicker, RMSE <= 1 px, >= 100 keypoints, figures in the manifest."
    ws = _workspace()
    m = process_track(ws).meta
    assert m["jitter_ba"] <= 0.5*m["jitter_raw"] and m["flicker_ba"] <= 0.5*m["flicker_raw"], m
    assert m["rmse"] <= 1.0 and m["keypoints"] >= 100 and m["used_fraction"] > 0.85, m
    step = json.loads((ws.root/"manifest.json").read_text())["steps"]["track"]
    assert step["outputs"] == sorted([ARTIFACTS.keypoints, ARTIFACTS.poses]) and step["meta"]["focal"] == m["focal"]
    poses, kps = load_poses(ws), load_keypoints(ws)
    assert poses.c2w.shape == (331, 4, 4) and (poses.width, poses.height) == (512, 512) and poses.focal == pytest.approx(m["focal"], abs=0.01)
    assert track_figures(poses, kps)._asdict() == {k: m[k] for k in TrackFigures._fields} # the files say what the manifest says
    assert (np.abs(kps.world[kps.inliers]).max(1) < 1).mean() > 0.99 # the head's keypoints inside the renderer's cube
    assert (np.linalg.norm(poses.c2w[:, :3, 3], axis=-1) > 1.8).all() # cameras outside it


def test_process_includes_tracking(assets, tmp_path):
    "`synctalk process` runs the track step after the masks step."
    ws = tmp_path/"may"
    r = synctalk("process", assets/"may_short.mp4", "-w", ws)
    assert r.returncode == 0, r.stderr
    steps = json.loads((ws/"manifest.json").read_text())["steps"]
    assert list(steps)[:4] == ["ingest", "face", "masks", "track"], list(steps)
    assert load_arrays(ws/ARTIFACTS.poses)["c2w"].shape == (331, 4, 4)


@pytest.mark.parametrize("clip", [f"retalk_face{i}.mp4" for i in range(1, 6)])
def test_other_faces(clip):
    "Other faces, sizes and frame rates (ingested at 512x512, cached): steadier than the landmark fit, close to it."
    ws = _workspace(clip)
    m = process_track(ws).meta
    n = json.loads((ws.root/"manifest.json").read_text())["steps"]["ingest"]["meta"]["n_frames"]
    poses, kps = load_poses(ws), load_keypoints(ws)
    assert poses.c2w.shape == (n, 4, 4) and m["rmse"] <= 1.5 and m["landmark_rmse"] <= 2, m
    assert m["jitter_ba"] < m["jitter_raw"] and m["flicker_ba"] <= m["flicker_raw"], m
    raw, ba = (Rotation.from_matrix(c[:, :3, :3].astype(np.float64)) for c in (poses.raw_c2w, poses.c2w))
    assert np.median(np.degrees((ba*raw.inv()).magnitude())) < 3 # the adjustment refines the landmark fit, it does not replace it
    assert (np.abs(kps.world[kps.inliers]).max(1) < 1).mean() > 0.98


def test_upscaled_source():
    "A 160 px copy of the sample upscaled to 512 (as ingest does with LRS2 clips; the original's landmarks): tracked at 1.5 flow px per source px, as well as the original."
    import cv2
    ws = _workspace()
    assert source_pixels(ws) == 1 and source_pixels(_workspace("retalk_face1.mp4")) == 700/512
    frames, track, masks = load_frames(ws)[:120], load_face(ws)[:120], Masks(load_masks(ws).labels[:120])
    low = np.stack([cv2.resize(cv2.resize(f, (160, 160), interpolation=cv2.INTER_AREA), (512, 512), interpolation=cv2.INTER_CUBIC) for f in frames])
    s, orig = stabilize_head(low, track, masks, source_px=160/512), stabilize_head(frames, track, masks)
    assert s.tracks.scale == pytest.approx(1.5*160/512) and orig.tracks.scale > 1.1
    f, g = s.figures, orig.figures
    assert f.rmse <= 1.1*g.rmse and f.jitter_ba <= g.jitter_ba + 0.05 and f.keypoints >= 100 and f.used_fraction > 0.9, (f, g)


def test_untrusted_landmarks_are_bridged():
    "Landmarks that do not belong to one rigid head in frames 50-60 are not trusted; the keypoints carry those frames."
    ws = _workspace()
    frames, track, masks = load_frames(ws)[:120], load_face(ws)[:120], Masks(load_masks(ws).labels[:120])
    bad = replace(track, landmarks=track.landmarks.copy())
    bad.landmarks[50:61] = bad.landmarks[50:61, np.random.default_rng(0).permutation(478)]
    s = stabilize_head(frames, bad, masks)
    assert (np.flatnonzero(~s.trusted) == np.arange(50, 61)).all()
    clean = stabilize_head(frames, track, masks)
    R, R0 = (Rotation.from_matrix(p.c2w[:, :3, :3].astype(np.float64)) for p in (s.poses, clean.poses))
    assert np.degrees((R*R0.inv()).magnitude())[50:61].max() < 1 # the bridged frames are where the clean run puts them
    assert s.figures.jitter_ba < 0.6*s.figures.jitter_raw, s.figures


def _covered_copy(src:Workspace, dst:Workspace, frames:slice):
    "A copy of `src` whose face is hidden by noise and whose landmarks are scrambled in `frames`; no track step."
    from synctalk.io import write_video
    shutil.copytree(src.root, dst.root, ignore=shutil.ignore_patterns(ARTIFACTS.poses, ARTIFACTS.keypoints, ".lock", ".stage*"))
    manifest = json.loads(dst.manifest_path.read_text())
    manifest["steps"].pop("track", None)
    dst.manifest_path.write_text(json.dumps(manifest))
    video = load_frames(src).copy()
    head = load_masks(src).head()[frames, ..., None]
    video[frames] = np.where(head, np.random.default_rng(0).integers(0, 256, video[frames].shape, dtype=np.uint8), video[frames])
    write_video(dst.path(ARTIFACTS.frames), video, crf=0)
    face = load_arrays(dst.path(ARTIFACTS.face))
    face["landmarks"][frames] = face["landmarks"][frames, np.random.default_rng(1).permutation(478)]
    save_arrays(dst.path(ARTIFACTS.face), **face)


def test_untrackable_stretch_fails_in_one_line_and_writes_nothing(tmp_path):
    "Frames 200-239 with the face covered and no usable landmarks: a one-line error naming them; no poses written."
    ws = Workspace(tmp_path/"ws")
    _covered_copy(_workspace(), ws, slice(200, 240))
    with pytest.raises(TrackError, match="frames 200-239") as e: process_track(ws)
    assert "\n" not in str(e.value) and "trim" in str(e.value)
    assert not ws.path(ARTIFACTS.poses).exists() and not ws.path(ARTIFACTS.keypoints).exists()
    assert "track" not in json.loads(ws.manifest_path.read_text())["steps"]


def test_short_gap_is_bridged(tmp_path):
    "Six frames with the face covered and no usable landmarks are bridged by the poses around them."
    ws = Workspace(tmp_path/"ws")
    _covered_copy(_workspace(), ws, slice(100, 106))
    m = process_track(ws).meta
    assert m["untrusted_frames"] == 6 and m["jitter_ba"] < m["jitter_raw"], m
