"Ingest puts sound and picture on one timeline: `audio.wav` sample 0 is at the first video frame, whatever the container says."
import shutil, subprocess
from fractions import Fraction
import av
import numpy as np
import pytest
from synctalk.io import audio_offset, read_audio, read_video, write_wav
from synctalk.workspace import Workspace, ingest

SR, FPS = 16000, 25
FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg is not on PATH: the edit-list clips are made with the ffmpeg command")

def bursts(sr=SR, seconds=3.0) -> np.ndarray:
    "Noise bursts at irregular times: one unambiguous cross-correlation peak. float32 `[sr * seconds]`."
    rng = np.random.default_rng(0)
    x = np.zeros(int(sr*seconds), np.float32)
    for start in (0.11, 0.37, 0.52, 0.9, 1.23, 1.61, 2.2, 2.71):
        i = int(start*sr); x[i:i + sr//40] = rng.uniform(-0.5, 0.5, sr//40)
    return x

def make_clip(path, audio, a_start=0.0, v_start=0.0, fmt="mp4", codec="aac", sr=SR, n=75):
    "Write `n` 128 px frames (frame i is grey level 3 i) from `v_start` s and `audio` from `a_start` s, by timestamp."
    with av.open(str(path), "w", format=fmt) as out:
        v = out.add_stream("libx264", rate=FPS); v.width = v.height = 128; v.pix_fmt = "yuv420p"
        v.options = {"preset": "ultrafast", "qp": "0"}
        a = out.add_stream(codec, rate=sr, layout="mono")
        for i in range(n):
            f = av.VideoFrame.from_ndarray(np.full((128, 128, 3), 3*i, np.uint8), format="rgb24")
            f.pts, f.time_base = i + round(v_start*FPS), Fraction(1, FPS)
            out.mux(v.encode(f))
        out.mux(v.encode())
        for i in range(0, len(audio), 1024):
            f = av.AudioFrame.from_ndarray(audio[None, i:i + 1024], format="flt", layout="mono")
            f.sample_rate, f.pts, f.time_base = sr, round(a_start*sr) + i, Fraction(1, sr)
            out.mux(a.encode(f))
        out.mux(a.encode())
    return path

def lag(x, ref) -> int:
    "Samples by which `x` is `ref` delayed (negative: `ref`'s start is cut), from the cross-correlation peak."
    n = len(x) + len(ref)
    k = int(np.argmax(np.fft.irfft(np.fft.rfft(x, n)*np.conj(np.fft.rfft(ref, n)), n)))
    return k if k < len(x) else k - n

def ingested(path, tmp_path):
    "Ingest `path` into a fresh workspace; its `audio.wav` and first frame."
    ws = Workspace(tmp_path/"ws")
    ingest(path, ws, size=128)
    return read_audio(ws.path("audio.wav")), read_video(ws.path("frames.mp4"))[0]

SHIFTS = [(0.24, 0.0), (0.0, 0.24), (0.0, 0.0)] # (audio start, video start) in seconds
CONTAINERS = [("mp4", "aac", 2), ("matroska", "aac", 2), ("mov", "pcm_s16le", 0), ("matroska", "pcm_s16le", 0)]

@pytest.mark.parametrize("fmt,codec,tol", CONTAINERS)
@pytest.mark.parametrize("a_start,v_start", SHIFTS)
def test_ingest_aligns_audio_to_first_frame(tmp_path, fmt, codec, tol, a_start, v_start):
    src = bursts()
    clip = make_clip(tmp_path/f"clip.{'mkv' if fmt == 'matroska' else fmt}", src, a_start, v_start, fmt, codec)
    audio, first = ingested(clip, tmp_path)
    expected = round((a_start - v_start)*SR)
    got = lag(audio, src)
    assert abs(got - expected) <= tol, (got, expected)
    assert first.mean() <= 2 # frame 0 of the ingest is the clip's first frame
    if expected > 0: assert np.abs(audio[:expected - 1024]).max() == 0 # silence before the sound (and any AAC priming)
    if codec.startswith("pcm"): # lossless: sample for sample
        assert got == expected
        a, s = (audio[expected:], src) if expected >= 0 else (audio, src[-expected:])
        n = min(len(a), len(s))
        assert n >= len(src) - abs(expected) - 1
        np.testing.assert_allclose(a[:n], s[:n], atol=1.5/32767)

def test_resampled_source_keeps_the_offset(tmp_path):
    "A 48 kHz soundtrack starting 240 ms late: the offset is applied at 16 kHz, after resampling."
    src48 = bursts(sr=48000)
    clip = make_clip(tmp_path/"clip48.mkv", src48, a_start=0.24, fmt="matroska", codec="pcm_s16le", sr=48000)
    audio, _ = ingested(clip, tmp_path)
    write_wav(tmp_path/"src.wav", src48, sr=48000) # the same resampler on the source, which has no video to align to
    assert lag(audio, read_audio(tmp_path/"src.wav")) == 3840

def test_audio_only_files_are_unchanged(tmp_path):
    src = bursts()
    wav = tmp_path/"a.mkv"
    with av.open(str(wav), "w", format="matroska") as out: # audio alone, starting at +240 ms: nothing to align to
        a = out.add_stream("pcm_s16le", rate=SR, layout="mono")
        f = av.AudioFrame.from_ndarray(src[None], format="flt", layout="mono")
        f.sample_rate, f.pts, f.time_base = SR, round(0.24*SR), Fraction(1, SR)
        out.mux(a.encode(f)); out.mux(a.encode())
    assert audio_offset(wav) == 0
    assert lag(read_audio(wav), src) == 0 and len(read_audio(wav)) == len(src)

def ffmpeg(*args):
    r = subprocess.run([FFMPEG, "-y", "-loglevel", "error", *map(str, args)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

@needs_ffmpeg
@pytest.mark.parametrize("delayed,expected", [("audio", 3840), ("video", -3840)])
def test_edit_list_itsoffset(tmp_path, delayed, expected):
    "`ffmpeg -itsoffset 0.24` on one stream of an mp4, streams copied: an edit list delays that stream."
    src = bursts()
    base = make_clip(tmp_path/"base.mp4", src)
    out = tmp_path/"shifted.mp4"
    late, other = (["-itsoffset", "0.24", "-i", base], ["-i", base])
    inputs = (other + late) if delayed == "audio" else (late + other)
    ffmpeg(*inputs, "-map", "0:v", "-map", "1:a", "-c", "copy", out)
    audio, first = ingested(out, tmp_path)
    assert abs(lag(audio, src) - expected) <= 2, lag(audio, src)
    assert first.mean() <= 2

@needs_ffmpeg
def test_edit_list_cut(tmp_path):
    "`ffmpeg -ss 0.52 -c copy` keeps packets from the keyframe before and cuts with an edit list: both streams start at 0.52 s."
    src = bursts()
    base = make_clip(tmp_path/"base.mp4", src)
    out = tmp_path/"cut.mp4"
    ffmpeg("-ss", "0.52", "-i", base, "-c", "copy", out)
    audio, first = ingested(out, tmp_path)
    assert abs(lag(audio, src) + round(0.52*SR)) <= 2, lag(audio, src)
    assert abs(first.mean() - 3*13) <= 2 # the first frame shown is frame 13 (0.52 s)

@needs_ffmpeg
def test_cover_art_is_no_video(tmp_path):
    "An m4a with cover art has a video stream holding one still without a timestamp: no picture to align to, the audio is read as is."
    src = bursts()
    base = make_clip(tmp_path/"base.mp4", src, a_start=0.24)
    out = tmp_path/"song.m4a"
    ffmpeg("-i", base, "-i", base, "-map", "0:a", "-map", "1:v", "-frames:v", "1", "-c:a", "copy", "-c:v", "mjpeg",
           "-disposition:v", "attached_pic", out)
    with av.open(str(out)) as c: assert c.streams.video[0].disposition & av.stream.Disposition.attached_pic
    assert audio_offset(out) == 0
    assert abs(lag(read_audio(out), src) - 1024) <= 2 # from the first decoded sample: the AAC priming this file presents
