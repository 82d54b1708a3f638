"The track step (Head-Sync Stabilizer): synthetic ground truth, the sample's jitter and RMSE, other faces, bad input."
import json, shutil
import numpy as np
import pytest
from dataclasses import replace
from scipy.spatial.transform import Rotation
from conftest import synctalk
from synctalk.workspace import Workspace, sample_workspace, load_frames, load_arrays, save_arrays
from synctalk.face import process_face, load_face
from synctalk.masks import process_masks, load_masks
from synctalk.track import (synthetic_sequence, fit_head_motion, bundle_adjust, pose_errors, process_track, load_poses,
                            load_keypoints, stabilize_head, StabilizerConfig, TrackError)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_synthetic_ground_truth(seed):
    "Acceptance 1: known points, smooth poses and focal length, 1 px noise, 5% bad tracks."
    syn = synthetic_sequence(seed=seed)
    assert syn.outliers.any() and abs(syn.outliers.mean() - 0.05) < 0.05
    fit = fit_head_motion(syn.landmarks, syn.size, syn.size)
    ba = bundle_adjust(syn.tracks, fit)
    rot, trans = pose_errors(Rotation.from_rotvec(ba.rotvec).as_matrix(), ba.trans, syn.rotation, syn.trans)
    assert np.median(rot) < 0.5, np.median(rot)
    assert np.median(trans) < 0.01, np.median(trans)
    assert abs(fit.focal/syn.focal - 1) < 0.05, fit.focal
    assert ba.inliers[~syn.outliers].all() # no good track is thrown away


def _sample():
    ws = sample_workspace()
    process_face(ws); process_masks(ws)
    return ws


def test_sample_jitter_and_rmse():
    "Acceptance 2: on may_short.mp4 the bundle-adjusted poses jitter at most half as much as the landmark fit, RMSE <= 1.5 px."
    ws = _sample()
    run = process_track(ws)
    m = run.meta
    assert m["jitter_ba"] <= 0.5*m["jitter_raw"], m
    assert m["rmse"] <= 1.5, m
    step = json.loads((ws.root/"manifest.json").read_text())["steps"]["track"]
    assert step["outputs"] == ["keypoints.npz", "poses.npz"] and step["meta"]["focal"] == m["focal"]
    poses, kps = load_poses(ws), load_keypoints(ws)
    assert poses.c2w.shape == (331, 4, 4) and (poses.width, poses.height) == (512, 512) and poses.focal == pytest.approx(m["focal"], abs=0.01)
    assert np.abs(kps.world).max() < 1 # the head's keypoints inside the renderer's cube
    assert (np.linalg.norm(poses.c2w[:, :3, 3], axis=-1) > 1.8).all() # cameras outside it


def test_process_includes_tracking(assets, tmp_path):
    "Acceptance 4: `synctalk process` runs the track step after the masks step."
    ws = tmp_path/"may"
    r = synctalk("process", assets/"may_short.mp4", "-w", ws)
    assert r.returncode == 0, r.stderr
    steps = json.loads((ws/"manifest.json").read_text())["steps"]
    assert list(steps)[:4] == ["ingest", "face", "masks", "track"], list(steps)
    assert load_arrays(ws/"poses.npz")["c2w"].shape == (331, 4, 4)


@pytest.mark.parametrize("clip", [f"retalk_face{i}.mp4" for i in range(1, 6)])
def test_other_faces(clip):
    "Acceptance 4: other faces, sizes and frame rates (ingested at 512x512, cached)."
    ws = sample_workspace(clip)
    process_face(ws); process_masks(ws)
    m = process_track(ws).meta
    n = json.loads((ws.root/"manifest.json").read_text())["steps"]["ingest"]["meta"]["n_frames"]
    poses, kps = load_poses(ws), load_keypoints(ws)
    assert poses.c2w.shape == (n, 4, 4) and m["rmse"] <= 2 and m["landmark_rmse"] <= 2, m
    raw, ba = (Rotation.from_matrix(c[:, :3, :3].astype(np.float64)) for c in (poses.raw_c2w, poses.c2w))
    assert np.median(np.degrees((ba*raw.inv()).magnitude())) < 3 # the adjustment refines the landmark fit, it does not replace it
    assert np.abs(kps.world).max() < 1, np.abs(kps.world).max()


def test_landmarks_of_no_rigid_head_fail_and_write_nothing(tmp_path):
    "Acceptance 5: a failed landmark fit names the frames, and the step writes no poses."
    src = _sample()
    ws = Workspace(tmp_path/"ws")
    shutil.copytree(src.root, ws.root, ignore=shutil.ignore_patterns("poses.npz", "keypoints.npz", ".lock", ".stage*"))
    manifest = json.loads(ws.manifest_path.read_text())
    manifest["steps"].pop("track", None)
    ws.manifest_path.write_text(json.dumps(manifest))
    face = load_arrays(ws.path("face.npz"))
    face["landmarks"][50:61] = face["landmarks"][50:61, np.random.default_rng(0).permutation(478)]
    save_arrays(ws.path("face.npz"), **face)
    with pytest.raises(TrackError, match="frames 50-60"): process_track(ws)
    assert not ws.path("poses.npz").exists() and not ws.path("keypoints.npz").exists()
    assert "track" not in json.loads(ws.manifest_path.read_text())["steps"]


def test_covered_face_fails_naming_the_frames():
    "Acceptance 5: frames where the face cannot be tracked are named."
    ws = _sample()
    frames, track, masks = load_frames(ws).copy(), load_face(ws), load_masks(ws)
    face = masks.face()
    noise = np.random.default_rng(0).integers(0, 256, frames[200:240].shape, dtype=np.uint8)
    frames[200:240][face[200:240]] = noise[face[200:240]] # the face covered by noise in frames 200-239
    with pytest.raises(TrackError, match="frames 200-239"):
        stabilize_head(frames, track, masks, StabilizerConfig(ba_iters=(50, 100)))


def test_too_few_keypoints():
    "Acceptance 5: too few trackable keypoints stop the step with the count and the need."
    ws = _sample()
    with pytest.raises(TrackError, match=r"keypoints could be tracked .*at least 1000 needed"):
        stabilize_head(load_frames(ws), load_face(ws), load_masks(ws), StabilizerConfig(min_keypoints=1000))
