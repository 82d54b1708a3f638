"The `synctalk ingest` and `synctalk assets` commands on real files, as a user runs them."
import json
from conftest import synctalk, snapshot
from synctalk.io import probe_video, read_audio, read_video, write_video

def test_ingest_sample(assets, tmp_path):
    ws = tmp_path/"may"
    r = synctalk("ingest", assets/"may_short.mp4", "-w", ws)
    assert r.returncode == 0, r.stderr
    assert "331 frames" in r.stdout
    info = probe_video(ws/"frames.mp4")
    assert (info.n_frames, info.width, info.height) == (331, 512, 512)
    assert abs(info.fps - 25) < 0.01
    audio = read_audio(ws/"audio.wav")
    assert 13.2 <= len(audio)/16000 <= 13.4
    step = json.loads((ws/"manifest.json").read_text())["steps"]["ingest"]
    assert step["meta"]["n_frames"] == 331 and step["params"] == {"fps": 25.0, "size": 512}
    again = synctalk("ingest", assets/"may_short.mp4", "-w", ws)
    assert again.returncode == 0 and "skipped" in again.stdout

def test_ingest_variable_frame_rate(assets, tmp_path):
    ws = tmp_path/"vfr"
    r = synctalk("ingest", assets/"retalk_face1.mp4", "-w", ws)
    assert r.returncode == 0, r.stderr
    info = probe_video(ws/"frames.mp4")
    assert (info.width, info.height) == (512, 512) and abs(info.fps - 25) < 0.01
    audio_s = len(read_audio(ws/"audio.wav"))/16000
    # the sound starts at the first frame but ends 26 ms before the last one, and the frame count rounds up
    assert abs(audio_s - info.n_frames/25) <= 0.05, (audio_s, info.n_frames)

def _bad_inputs(assets, d):
    "Each kind of bad input the issue lists, made from real files."
    frames = read_video(assets/"may_short.mp4")[:60]
    (d/"empty.mp4").write_bytes(b"")
    (d/"text.mp4").write_text("not a video\n" * 200)
    data = (assets/"may_short.mp4").read_bytes()
    (d/"corrupt.mp4").write_bytes(data[:len(data)//3])  # moov atom lost
    write_video(d/"short.mp4", frames[:15], fps=25) # 0.6 s: under the 1 s minimum
    write_video(d/"tiny.mp4", (f[::5, ::5] for f in frames[:, :500, :500]), fps=25)
    return {"missing": d/"missing.mp4", "empty": d/"empty.mp4", "not media": d/"text.mp4",
            "corrupt": d/"corrupt.mp4", "no video stream": assets/"may_drive.wav",
            "too short": d/"short.mp4", "too small": d/"tiny.mp4"}

def test_bad_inputs_exit_2_and_keep_workspace(assets, tmp_path):
    ws = tmp_path/"ws"
    assert synctalk("ingest", assets/"may_short.mp4", "-w", ws, "--size", "128").returncode == 0
    before = snapshot(ws)
    for kind, path in _bad_inputs(assets, tmp_path).items():
        r = synctalk("ingest", path, "-w", ws, "--force")
        assert r.returncode == 2, (kind, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (kind, r.stderr)
        assert "Traceback" not in r.stderr
        assert snapshot(ws) == before, kind

def test_video_without_audio_warns(assets, tmp_path):
    silent = tmp_path/"silent.mp4"
    write_video(silent, read_video(assets/"may_short.mp4")[:75], fps=25)
    r = synctalk("ingest", silent, "-w", tmp_path/"ws", "--size", "256")
    assert r.returncode == 0, r.stderr
    assert "no audio" in r.stderr and "no audio" in r.stdout
    assert not (tmp_path/"ws"/"audio.wav").exists()

def test_assets_verify(assets):
    r = synctalk("assets", "--verify")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("sha256 ok") == 10
