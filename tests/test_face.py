"The face and masks steps: `synctalk process` on real clips, bad input, and the mask quality figures of issue 3."
import json
import numpy as np
import pytest
from conftest import synctalk
from synctalk.io import read_video, write_video, center_crop_resize
from synctalk.workspace import sample_workspace, load_frames, load_arrays
from synctalk.face import process_face, load_face
from synctalk.masks import process_masks, load_masks, load_background, consecutive_iou, person_coloured_pixels


def _steps(ws):
    return json.loads((ws/"manifest.json").read_text())["steps"]


def test_process_sample(assets, tmp_path):
    ws = tmp_path/"may"
    r = synctalk("process", assets/"may_short.mp4", "-w", ws)
    assert r.returncode == 0, r.stderr
    face = load_arrays(ws/"face.npz")
    assert face["landmarks"].shape == (331, 478, 3) and face["blendshapes"].shape == (331, 52)
    assert face["matrices"].shape == (331, 4, 4) and len(face["blendshape_names"]) == 52
    masks = load_arrays(ws/"masks.npz")["labels"]
    assert masks.shape == (331, 512, 512) and masks.dtype == np.uint8
    steps = _steps(ws)
    assert steps["face"]["outputs"] == ["face.npz"]
    assert steps["masks"]["outputs"] == ["background.png", "masks.npz"]
    again = synctalk("process", assets/"may_short.mp4", "-w", ws)
    assert again.returncode == 0 and again.stdout.count("skipped") >= 3, again.stdout


@pytest.mark.parametrize("clip", [f"retalk_face{i}.mp4" for i in range(1, 6)])
def test_process_other_faces(assets, tmp_path, clip):
    "Other faces, sizes and frame rates (retalk_face1 has a variable frame rate)."
    ws = tmp_path/"ws"
    r = synctalk("process", assets/clip, "-w", ws)
    assert r.returncode == 0, r.stderr
    n = _steps(ws)["ingest"]["meta"]["n_frames"]
    assert load_arrays(ws/"face.npz")["landmarks"].shape == (n, 478, 3)
    meta = _steps(ws)["masks"]["meta"]
    assert meta["landmarks_in_head"] == 1.0 and meta["head_iou_mean"] >= 0.95, meta


def _no_face(assets, d):
    "A real background with no one in front of it: the sample's top-left corner, enlarged."
    frames = read_video(assets/"may_short.mp4")[:75, :120, :120]
    write_video(d/"noface.mp4", (center_crop_resize(f, 256) for f in frames), fps=25)
    return d/"noface.mp4"


def _cut_to_another_person(assets, d):
    "The sample for 2.4 s, then a cut to a different person."
    may = read_video(assets/"may_short.mp4")[:60]
    other = read_video(assets/"retalk_face2.mp4")[:60]
    write_video(d/"cut.mp4", list(may) + [center_crop_resize(f, 512) for f in other], fps=25)
    return d/"cut.mp4"


@pytest.mark.parametrize("make, message", [(_no_face, "no face found in any of the 75 frames"),
                                           (_cut_to_another_person, "between frames 59->60")])
def test_bad_video_fails_cleanly(assets, tmp_path, make, message):
    "A clear one-line error naming the frames; nothing written for the failed step; ingest stays."
    ws = tmp_path/"ws"
    r = synctalk("process", make(assets, tmp_path), "-w", ws)
    assert r.returncode == 2, r.stderr
    errors = [l for l in r.stderr.splitlines() if l.startswith("error: ")] # (a warning about the missing audio comes first)
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in r.stderr, r.stderr
    assert list(_steps(ws)) == ["ingest"]
    assert (ws/"frames.mp4").exists() and not (ws/"face.npz").exists() and not (ws/"masks.npz").exists()
    assert not [p for p in ws.iterdir() if p.name.startswith(".stage")]


def test_evaluation_measures_frames_that_jump(assets, tmp_path):
    "Frames assembled from many shots (the retrieval baseline) are refused as a clip but measured as frames: LMD and AUE do not need one shot."
    from synctalk.face import FaceError, detect_faces
    from synctalk.metrics import face_agreement
    frames = read_video(_cut_to_another_person(assets, tmp_path))[50:70]
    with pytest.raises(FaceError, match="between frames 9->10"): detect_faces(frames)
    track = detect_faces(frames, refuse_jumps=False)
    assert track.detected.all() and np.abs(track.boxes[10] - track.boxes[9]).max() > 20
    same = face_agreement(frames, frames)
    assert same.n_compared == 20 and same.lmd == 0.0


@pytest.fixture(scope="module")
def sample():
    ws = sample_workspace()
    process_face(ws); process_masks(ws)
    return load_frames(ws), load_face(ws), load_masks(ws), load_background(ws)


def test_head_mask_holds_every_landmark(sample):
    frames, face, masks, _ = sample
    xy = face.landmarks[..., :2].round().astype(int)
    n, h, w = masks.labels.shape
    assert (xy >= 0).all() and (xy[..., 0] < w).all() and (xy[..., 1] < h).all() # the sample's face is inside the frame
    head = masks.head()
    assert head[np.arange(n)[:, None], xy[..., 1], xy[..., 0]].all()


def test_head_masks_do_not_flicker(sample):
    iou = consecutive_iou(sample[2].head())
    assert iou.mean() >= 0.95, iou.mean()


def test_plate_has_no_person_colours_outside_the_masks(sample):
    frames, _, masks, plate = sample
    person = masks.person()
    outside = ~person.any(0)
    assert outside.mean() > 0.2 # there is background to check
    flagged = person_coloured_pixels(frames, person, plate)
    assert flagged.sum() <= 0.005*outside.sum(), flagged.sum()/outside.sum()
    # the plate is what the camera saw where the person never is
    assert np.abs(plate[outside].astype(int) - np.median(frames[::10][:, outside], 0)).mean() < 3


def test_region_nesting(sample):
    masks = sample[2]
    i = 100
    assert (masks.lips(i) <= masks.face(i)).all() and (masks.upper_face(i) <= masks.face(i)).all()
    assert (masks.face(i) <= masks.head(i)).all()
    parts = [masks.region(r, i) for r in ("background", "torso", "neck", "head")]
    assert (np.sum(parts, 0) == 1).all() # the four coarse regions tile the frame
    assert masks.neck(i).sum() > 1000 and masks.torso(i).sum() > 1000
