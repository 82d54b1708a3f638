"Integration tests of the portrait renderer: training on the sample clip at 64x64, the `synctalk train` command, and driving the model (`synctalk infer`) from the step outputs alone."
import json, shutil
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import synctalk, snapshot


def _processed_copy(tmp_path: Path):
    "A private copy of the processed sample workspace (ingest, face, masks, track, audio)."
    pytest.importorskip("synctalk.track", reason="synctalk.track (04_track) is not in this checkout yet: training needs poses")
    pytest.importorskip("synctalk.audio", reason="synctalk.audio (05_audio) is not in this checkout yet: training needs audio features")
    from synctalk.workspace import Workspace, sample_workspace
    from synctalk.cli import process_workspace
    ws = sample_workspace()
    process_workspace(ws)
    dst = tmp_path/"ws"
    shutil.copytree(ws.root, dst, ignore=shutil.ignore_patterns(".*", "nerf", "train", "eval"))
    return Workspace(dst)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    "The sample workspace trained for 10 steps at 64x64 (shared by the tests that only drive the model)."
    ws = _processed_copy(tmp_path_factory.mktemp("trained"))
    from synctalk.train import train_workspace
    train_workspace(ws, resolution=64, iters=10)
    return ws


def test_train_64(tmp_path, assets):
    "A few dozen steps at 64x64: the loss falls, and a held-out frame renders with the right shape and is not constant."
    from synctalk.train import TrainConfig, load_training_data, train_workspace
    from synctalk.model import load_nerf
    ws = _processed_copy(tmp_path)
    res = train_workspace(ws, resolution=64, iters=40)
    losses = [s.loss for s in res.stats if s.stage == "coarse"] # the later stages train on other rays (patches, lips)
    assert np.mean(losses[-8:]) < 0.9 * np.mean(losses[:8]), losses
    nerf = load_nerf(ws)
    data = load_training_data(ws, TrainConfig(resolution=64))
    i = int(data.holdout_idx[0])
    img, acc = nerf.render(data.c2w[i], nerf.conditioning(data.audio_windows([i])[0], data.expressions[i]), data.background(i))
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8
    x0, y0, x1, y1 = data.face_boxes[i]
    assert img[y0:y1, x0:x1].std() > 2 and acc.max() > 0.3
    assert ws.record("train").meta["steps"] == 40 and res.path == ws.path("nerf/model.pt")


def test_train_resumes_and_refuses_mismatch(tmp_path, assets):
    "A second run with a larger budget resumes; a model refuses audio features of another size."
    from synctalk.train import train_workspace
    from synctalk.model import load_nerf, CheckpointError
    ws = _processed_copy(tmp_path)
    train_workspace(ws, resolution=64, iters=10)
    res = train_workspace(ws, resolution=64, iters=14)
    assert res.steps == 14 and len(res.stats) == 4
    nerf = load_nerf(ws)
    with pytest.raises(CheckpointError, match="audio features"):
        nerf.conditioning(np.zeros((8, nerf.record.audio_dim + 1), np.float32), np.zeros(7, np.float32))


def test_train_cli_missing_step(tmp_path, assets):
    "Training a workspace that was only ingested fails with a one-line message naming the command to run."
    r = synctalk("ingest", assets/"may_short.mp4", "-w", tmp_path/"ws", "--size", "128")
    assert r.returncode == 0, r.stderr
    r = synctalk("train", "-w", tmp_path/"ws", "--res", "64", "--iters", "2")
    if "invalid choice" in r.stderr: pytest.skip("`synctalk train` is not wired in the CLI yet")
    assert r.returncode == 2 and "synctalk process" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_subject_data_is_the_training_data(trained, assets):
    "What inference reads of the subject (from the step outputs) is what training read (through its own caches)."
    from dataclasses import fields
    from synctalk.train import TrainConfig, load_training_data
    from synctalk.model import SubjectData, load_nerf, subject_data
    subject, data = subject_data(trained, load_nerf(trained)), load_training_data(trained, TrainConfig(resolution=64))
    for f in fields(SubjectData):
        a, b = getattr(subject, f.name), getattr(data, f.name)
        assert (np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b), f.name
    assert subject.n_train == data.n_train == 281 and list(subject.holdout_idx) == list(range(281, 331))


def test_expressions_in_the_subjects_span(trained, assets):
    "The model records the span of each expression coefficient over its training frames, and drives in those units: 0 the subject's 1st percentile, 1 its 99th."
    from synctalk.face import expression_coefficients, load_face
    from synctalk.model import MIN_EXPRESSION_SPAN, load_nerf, subject_data
    nerf = load_nerf(trained)
    subject = subject_data(trained, nerf)
    span = np.array(nerf.record.expression_span)
    assert span.shape == (7, 2) and (span[:, 1] - span[:, 0] >= MIN_EXPRESSION_SPAN - 1e-6).all()
    raw = expression_coefficients(load_face(trained))
    names = list(nerf.record.expression_names)
    blink = names.index("eyeBlinkLeft")
    assert raw[:281, blink].max() > 0.6 # the sample blinks a few times ...
    e = subject.expressions[:281, blink]
    np.testing.assert_allclose(np.percentile(e, [1, 99]), [0, 1], atol=1e-5) # ... and its blinks reach 1
    assert e.max() > 0.95 and np.median(e) < 0.2


def test_model_learns_the_footage_lead(trained, assets):
    "may_short's mouth leads its sound by 2 frames (phonetic check on the training frames); the model records it and new speech is delayed by it."
    from synctalk.model import footage_lead, load_nerf, subject_data
    lead, r = footage_lead(trained, 281)
    assert lead == 2 and r > 0.45, (lead, r)
    nerf = load_nerf(trained)
    subject = subject_data(trained, nerf)
    assert nerf.record.audio_lead == subject.audio_lead == 2
    speech = subject.audio[::-1].copy() # any other features, one per output frame
    assert np.array_equal(subject.driving_windows(speech)[10:], subject.audio_windows(np.arange(8, len(speech) - 2), speech))


def test_portrait_casts_only_face_rays(trained, assets):
    "Driving for the portrait alone casts only the face's rays and gives the same portrait as rendering the whole head."
    from synctalk.model import load_nerf, subject_data
    from synctalk.composite import SourceClip, drive, render_region
    nerf = load_nerf(trained); subject = subject_data(trained, nerf); clip = SourceClip.from_workspace(trained)
    src = subject.holdout_idx[:3]
    windows = subject.audio_windows(src)
    both = list(drive(nerf, subject, clip, windows, src))
    alone = list(drive(nerf, subject, clip, windows, src, modes=("portrait",)))
    for a, b in zip(both, alone):
        assert b.head is None and np.array_equal(a.portrait, b.portrait)
    j = int(src[0])
    where = render_region(clip.face[j], 64)
    img, acc = nerf.render(subject.c2w[j], nerf.conditioning(windows[0], subject.expressions[j]), subject.plate, where=where)
    assert 0.05 < where.mean() < 0.5 and (acc[~where] == 0).all() and (img[~where] == subject.plate[~where]).all() and acc[where].max() > 0.3


def _inference_copy(trained, tmp_path):
    "The trained workspace without its training caches (`train/`, the 'train-data' step): what a model shipped with its workspace looks like."
    ws = tmp_path/"shipped"
    shutil.copytree(trained.root, ws, ignore=shutil.ignore_patterns(".*", "train", "state.pt"))
    m = json.loads((ws/"manifest.json").read_text())
    del m["steps"]["train-data"]
    (ws/"manifest.json").write_text(json.dumps(m, indent=1))
    return ws


def _speech(tmp_path, assets, seconds=2.0):
    "The first `seconds` of the sample's driving speech, as a wav."
    from synctalk.io import read_audio, write_wav
    write_wav(tmp_path/"speech.wav", read_audio(assets/"may_drive.wav")[:int(16000 * seconds)])
    return tmp_path/"speech.wav"


def _frames(path):
    with av.open(str(path)) as c: return sum(1 for _ in c.decode(video=0))


def test_infer_reads_only_step_outputs(trained, tmp_path, assets):
    "`synctalk infer` with --expressions and --eyes-from runs on the step outputs and the model alone, and writes nothing into the workspace."
    ws = _inference_copy(trained, tmp_path)
    before = snapshot(ws)
    names = ("browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "eyeBlinkLeft", "eyeBlinkRight")
    csv = tmp_path/"expr.csv"
    csv.write_text(",".join(names) + "\n" + "\n".join(",".join(["0.1"] * 5 + [b, b]) for b in ("0", "1", "0.5")) + "\n")
    speech = _speech(tmp_path, assets)
    r = synctalk("infer", "-w", ws, "--audio", speech, "-o", tmp_path/"out.mp4", "--expressions", csv, "--eyes-from", "3", "--head-only")
    assert r.returncode == 0, r.stderr[-3000:]
    assert snapshot(ws) == before # no training caches, no new step, nothing rewritten
    n = _frames(tmp_path/"out.mp4")
    assert n == 50 and "50 frames (2.00 s)" in r.stdout, r.stdout


def test_infer_refuses_bad_driving_input(trained, tmp_path, assets):
    "A frame outside the clip for --eyes-from, or a CSV without the model's coefficients, fails in one line before rendering."
    ws = _inference_copy(trained, tmp_path)
    speech = _speech(tmp_path, assets, 1.0)
    r = synctalk("infer", "-w", ws, "--audio", speech, "-o", tmp_path/"out.mp4", "--eyes-from", "331")
    assert r.returncode == 2 and "--eyes-from 331 is not a frame of the clip (0..330)" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    (tmp_path/"bad.csv").write_text("jawOpen\n0.5\n")
    r = synctalk("infer", "-w", ws, "--audio", speech, "-o", tmp_path/"out.mp4", "--expressions", tmp_path/"bad.csv")
    assert r.returncode == 2 and "lacks the columns browDownLeft" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path/"out.mp4").exists()
