"Integration tests of the lip-sync expert: `synctalk sync` and `synctalk ave-train` on real clips and bad input, and training under torchrun."
import json, subprocess, sys, textwrap
from pathlib import Path

import numpy as np
import torch

from synctalk.io import read_audio, read_video, write_video, write_wav
from conftest import synctalk

CORPUS = Path(__file__).resolve().parents[2]/"shared"/"corpus"


def one_line_error(r):
    "The command failed with exit code 2 and one line of error (warnings on why clips were left out may precede it)."
    lines = [l for l in r.stderr.splitlines() if l.strip() and not l.startswith("warning:")]
    return r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in r.stderr


def test_sync_json_follows_an_imposed_delay(assets, tmp_path):
    "`synctalk sync --json` on a real clip, and on the same clip with its speech 6 frames late."
    clip = CORPUS/"real"/"styletalk_andrew_clip_1.mp4" if CORPUS.is_dir() else assets/"retalk_face2.mp4"
    r = synctalk("sync", clip, "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert set(res) >= {"offset", "confidence", "offsets", "curve"} and len(res["curve"]) == len(res["offsets"]) == 31
    speech = read_audio(clip)
    write_wav(tmp_path/"late.wav", np.concatenate([np.zeros(6*640, np.float32), speech]))
    late = json.loads(synctalk("sync", clip, "--audio", tmp_path/"late.wav", "--json").stdout.strip().splitlines()[-1])
    assert abs(late["offset"] - res["offset"] - 6) <= 1, (res["offset"], late["offset"])


def test_sync_bad_input(assets, tmp_path):
    frames = read_video(assets/"may_short.mp4", 25)[:60]
    write_video(tmp_path/"silent_video.mp4", iter(frames), fps=25) # no audio stream
    (tmp_path/"junk.mp4").write_bytes(b"not a video at all")
    write_video(tmp_path/"noface.mp4", iter(np.zeros((60, 128, 128, 3), np.uint8)), fps=25, audio=read_audio(assets/"may_drive.wav")[:60*640])
    write_wav(tmp_path/"silence.wav", np.zeros(3*16000, np.float32))
    write_wav(tmp_path/"short.wav", read_audio(assets/"may_drive.wav")[:4000])
    cases = [(tmp_path/"silent_video.mp4",), (tmp_path/"junk.mp4",), (tmp_path/"noface.mp4",), (tmp_path/"missing.mp4",),
             (assets/"may_short.mp4", "--audio", tmp_path/"silence.wav"), (assets/"may_short.mp4", "--audio", tmp_path/"short.wav")]
    for case in cases:
        r = synctalk("sync", *case)
        assert one_line_error(r), (case, r.returncode, r.stderr[-500:])


def test_ave_train_bad_input(tmp_path):
    (tmp_path/"empty").mkdir()
    (tmp_path/"junk.mp4").write_bytes(b"not a video")
    for src in (tmp_path/"empty", tmp_path/"missing.mp4", tmp_path/"junk.mp4"):
        r = synctalk("ave-train", src, "-o", tmp_path/"ave.pt", "--steps", "2")
        assert one_line_error(r), (src, r.stderr[-500:])
        assert not (tmp_path/"ave.pt").exists()


RANK_SCRIPT = textwrap.dedent("""
    import sys, torch, torch.distributed as dist
    from synctalk.assets import asset_path
    from synctalk.ave import ExpertConfig, join_torchrun, prepare_clip, train_expert
    join_torchrun("cpu")
    clip = prepare_clip(asset_path("retalk_face5.mp4"))
    expert = train_expert([clip], ExpertConfig(steps=3, runs=2, run_windows=16, members=2), device="cpu")
    torch.save(expert.state_dict(), f"{sys.argv[1]}/rank{dist.get_rank()}.pt")
    dist.destroy_process_group()
""")


def test_expert_training_under_torchrun(assets, tmp_path):
    "Two CPU processes (gloo) train a few steps with DistributedDataParallel and end with the same weights."
    (tmp_path/"rank.py").write_text(RANK_SCRIPT)
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29517",
                        str(tmp_path/"rank.py"), str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    a, b = (torch.load(tmp_path/f"rank{i}.pt") for i in (0, 1))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    single = torch.load(tmp_path/"rank0.pt")
    assert any(not torch.equal(single[k], torch.zeros_like(single[k])) for k in single)
