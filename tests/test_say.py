"Integration tests of text to talking head (`synctalk.say`): eSpeak NG speech and its phoneme timing, Piper voice loading, bad input, and the rendered video's soundtrack on a quick demo model."
import importlib.util, sys, types
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from conftest import synctalk, snapshot
from synctalk.core import InputError, SynctalkError
from synctalk.io import probe_video, read_audio
from synctalk.phonetic import PHONE_OPENING, SR
from synctalk.say import (DEFAULT_RATE, ESpeak, SpeechError, cmu_phone, expected_mouth, load_piper_voice, piper_synthesize,
                          resolve_voice, say, say_sync, speech_sync, synthesize)

SENTENCES = ("The weather has been lovely this week, and we spent most afternoons walking by the river.",
             "Please remember to bring your notes to the meeting, because we will go through every chapter together.",
             "My grandmother grew tomatoes, beans and potatoes in a small garden behind her house, and she sold them on Saturdays.")

SHORT = "Good morning everybody, and thank you all so much for coming." # 3.9 s: about 100 frames to render


def _benchmark(name:str):
    "A module of benchmarks/ (the quick demo model is built there, once for both)."
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", Path(__file__).parents[1]/"benchmarks"/f"{name}.py")
    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def quick_ws(assets):
    from synctalk.assets import cache_dir
    return _benchmark("say").quick_workspace(cache_dir()/"say"/"demo-quick")


def one_line_error(r):
    "The command failed with exit code 2 and one line of error."
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    return r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in r.stderr


def lag_samples(a, b, max_lag=1600):
    "The lag (samples) at which `b` best matches `a`: b[i + lag] ~ a[i], searched over +-max_lag."
    n = min(len(a), len(b)) - max_lag
    scores = [float(np.dot(a[max_lag:n], b[max_lag + k:n + k])) for k in range(-max_lag, max_lag + 1)]
    return int(np.argmax(scores)) - max_lag


# speech -----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad, message", [
    (dict(text=""), "the text is empty"), (dict(text="  \n "), "the text is empty"), (dict(text="..."), "nothing to say"),
    (dict(voice="vulcan"), "unknown voice or language 'vulcan'"), (dict(voice="xx-yy"), "unknown voice or language"),
    (dict(voice="en-us+nosuch"), "unknown voice variant 'nosuch'"), (dict(rate=79), "rate 79"), (dict(rate=451), "rate 451"),
    (dict(rate="fast"), "rate 'fast'"), (dict(pitch=-1), "pitch -1"), (dict(pitch=100), "pitch 100"), (dict(pitch=50.0), "pitch 50.0")])
def test_synthesize_bad_input(bad, message):
    with pytest.raises(SpeechError) as e: synthesize(**(dict(text="Hello there.") | bad))
    assert isinstance(e.value, InputError) and message in str(e.value) and "\n" not in str(e.value), str(e.value)


@pytest.mark.parametrize("voice", ["en-us", "en-gb+f3", "fr", "de"])
def test_phoneme_events_are_monotonic_and_cover_the_audio(voice):
    "The events eSpeak reports start in order; the phonemes made of them tile the audio from 0 to its last sample."
    text = SENTENCES[0] if voice.startswith("en") else {"fr": "Bonjour à tous, il fait très beau aujourd'hui.", "de": "Guten Morgen, heute ist das Wetter sehr schön."}[voice]
    engine = ESpeak.get()
    pcm, events = engine.speak(text, resolve_voice(voice), DEFAULT_RATE, 50)
    starts = [s for _, s in events]
    assert starts == sorted(starts) and 0 <= starts[0] and starts[-1] <= len(pcm), (starts[:5], starts[-5:], len(pcm))
    speech = synthesize(text, voice)
    ph = speech.phonemes
    assert ph[0].start == 0 and abs(ph[-1].end - len(speech.audio)/SR) < 1/SR + 1e-9
    assert all(a.end == b.start for a, b in zip(ph, ph[1:])) and all(p.end > p.start for p in ph)
    assert abs(len(speech.audio)/SR - len(pcm)/engine.sr) < 0.002 # 22050 -> 16000 Hz keeps the duration (eSpeak's own length varies by a few samples from run to run)
    unmapped = [p.ipa for p in ph if cmu_phone(p.ipa) == "+SPN+"]
    assert len(unmapped) <= 0.05*len(ph), unmapped


def test_phoneme_times_match_the_sound():
    "Where eSpeak says it pauses, the audio is quiet; where it says an open vowel, it is loud (the times are the sound's own, not an estimate)."
    speech = synthesize("Stop. Wait a moment, please. Now open the window; and then, after a pause, close it again.")
    a = speech.audio
    level = lambda p: np.sqrt(np.mean(a[int(p.start*SR):int(p.end*SR)]**2))
    pauses = [level(p) for p in speech.phonemes if p.ipa == "" and 0 < p.start and p.end - p.start > 0.05]
    vowels = [level(p) for p in speech.phonemes if cmu_phone(p.ipa) in ("AA", "AE", "AH", "AO", "OW", "EY", "AY", "AW")]
    assert len(pauses) >= 3 and len(vowels) >= 8
    assert np.median(pauses) < 0.05*np.median(vowels), (np.median(pauses), np.median(vowels))
    expected = expected_mouth(speech)
    assert len(expected) == speech.n_frames and set(np.unique(np.round(expected, 6))) > {0.0} and expected.max() <= max(PHONE_OPENING.values())


def test_sync_check_finds_an_imposed_offset():
    "The known-answer check on a synthetic mouth that follows the phonemes k frames late finds -k at correlation near 1."
    speech = synthesize(" ".join(SENTENCES[:2]))
    e = expected_mouth(speech)
    for k in (-4, 0, 2, 5):
        mouth = np.roll(e, k) + np.random.default_rng(k + 10).normal(0, 0.03, len(e))
        mouth[:max(k, 0)] = np.nan
        s = speech_sync(speech, mouth)
        assert s.offset == -k and s.correlation > 0.9, (k, s)


# Piper ------------------------------------------------------------------------------------------------------------

def test_piper_voice_errors(tmp_path):
    "A Piper voice that is absent, lacks its config, or cannot load (no piper-tts here, or not a model): one line that says which."
    cases = [(tmp_path/"en_US-lessac-medium.onnx", "does not exist: give the path of a voice .onnx you have"),
             (tmp_path/"voice.onnx.json", "is not a Piper voice: give its .onnx file")]
    (tmp_path/"noconfig.onnx").write_bytes(b"onnx?")
    cases.append((tmp_path/"noconfig.onnx", "has no config noconfig.onnx.json beside it"))
    (tmp_path/"junk.onnx").write_bytes(b"not a model"); (tmp_path/"junk.onnx.json").write_text("{}")
    try: import piper # noqa: F401
    except ImportError: cases.append((tmp_path/"junk.onnx", "pip install piper-tts"))
    else: cases.append((tmp_path/"junk.onnx", "does not load as a Piper voice"))
    for path, message in cases:
        with pytest.raises(SpeechError) as e: load_piper_voice(path)
        assert message in str(e.value) and "\n" not in str(e.value), (path, str(e.value))
    with pytest.raises(SpeechError, match="does not exist"): synthesize("Hello.", voice=tmp_path/"en_US-lessac-medium.onnx")


class _Align(NamedTuple):
    phoneme: str
    phoneme_ids: list
    num_samples: int

class _Chunk(NamedTuple):
    sample_rate: int
    audio_float_array: np.ndarray
    phoneme_alignments: list

class _Voice:
    "What piper-tts yields: one chunk per sentence, float samples at 22050 Hz, phoneme alignments (BOS ^, EOS $)."
    def __init__(self): self.scales = []
    def synthesize(self, text, syn_config=None, include_alignments=False):
        self.scales.append(syn_config.length_scale)
        yield _Chunk(22050, np.sin(np.arange(22050)/5).astype(np.float32),
                     [_Align(p, [1], n) for p, n in (("^", 2050), ("h", 4000), ("ˈ", 500), ("ɛ", 6000), ("l", 3000), ("oʊ", 5000), ("$", 1500))])


def test_piper_synthesize_with_alignments(monkeypatch):
    "The loading path's second half on a stand-in voice: audio resampled to 16 kHz, alignments turned into phonemes, rate into length_scale."
    monkeypatch.setitem(sys.modules, "piper", types.SimpleNamespace(SynthesisConfig=types.SimpleNamespace))
    v = _Voice()
    s = piper_synthesize("Hello.", v, rate=350)
    assert v.scales == [0.5] and len(s.audio) == SR
    assert [(p.ipa, round(p.start*22050), round(p.end*22050)) for p in s.phonemes] == \
        [("", 0, 2050), ("h", 2050, 6550), ("ɛ", 6550, 12550), ("l", 12550, 15550), ("oʊ", 15550, 20550), ("", 20550, 22050)]


# say -------------------------------------------------------------------------------------------------------------

def test_say_without_a_trained_model_writes_nothing(tmp_path, assets):
    from synctalk.workspace import Workspace, ingest
    ws = Workspace(tmp_path/"ws")
    ingest(assets/"retalk_face2.mp4", ws, size=128)
    before = snapshot(tmp_path)
    for kwargs, message in ((dict(text="Hello there, how are you?"), "no up-to-date 'train' step"), (dict(text=""), "the text is empty"),
                            (dict(text="Hello.", voice="vulcan"), "unknown voice")):
        with pytest.raises(SynctalkError, match=message): say(ws, out=tmp_path/"out.mp4", **kwargs)
    with pytest.raises(SynctalkError, match="no up-to-date 'train' step"): say(tmp_path/"missing", "Hello there.")
    assert snapshot(tmp_path) == before


def test_say_soundtrack_is_the_speech_without_drift(quick_ws, tmp_path):
    "The mp4's frames cover the speech, and its sound is the synthesized speech at lag 0 at the start and at the end (sample-accurate, no drift)."
    r = say(quick_ws, SHORT, tmp_path/"say.mp4")
    speech = r.speech.audio
    info = probe_video(r.path)
    assert r.n_frames == info.n_frames == int(np.ceil(len(speech)*25/SR)), (r.n_frames, info.n_frames, len(speech))
    back = read_audio(r.path)
    assert abs(len(back) - len(speech)) <= 1024, (len(back), len(speech)) # within one AAC frame
    half = len(speech)//2
    assert lag_samples(speech[:half], back[:half]) == 0
    assert lag_samples(speech[half:], back[half:half + len(speech) - half]) == 0
    n = min(len(back), len(speech))
    assert np.corrcoef(speech[:n], back[:n])[0, 1] > 0.95
    t = r.times
    assert all(v >= 0 for v in t) and abs(t.total - sum(t[:5])) < 0.05*t.total + 0.05, t


def test_say_sync_check_runs_on_the_rendered_video(quick_ws, tmp_path):
    "The known-answer check on a rendered video: an offset in the searched range and a finite correlation (its figures are the benchmark's)."
    r = say(quick_ws, SHORT, tmp_path/"say.mp4", voice="en-us+f3", rate=140)
    s = say_sync(r)
    assert -15 <= s.offset <= 15 and np.isfinite(s.correlation) and len(s.curve) == 31


def _cli_has_say():
    from synctalk.cli import build_parser
    return "say" in build_parser()._subparsers._group_actions[0].choices


@pytest.mark.skipif(not _cli_has_say(), reason="`synctalk say` is not wired into synctalk.cli yet")
def test_cli_say(quick_ws, tmp_path):
    "`synctalk say -w WS TEXT -o OUT.mp4` writes the video; bad input exits 2 with one line and writes nothing."
    r = synctalk("say", "-w", quick_ws.root, "Good morning, everybody.", "-o", tmp_path/"hello.mp4")
    assert r.returncode == 0, r.stderr[-2000:]
    assert probe_video(tmp_path/"hello.mp4").has_audio and "face rendered at 48)" in r.stdout, r.stdout # 3/4 of the quick model's 64
    r = synctalk("say", "-w", quick_ws.root, "Good morning.", "-o", tmp_path/"full.mp4", "--scale", "1")
    assert r.returncode == 0 and "face rendered at 64)" in r.stdout, (r.stdout, r.stderr[-2000:])
    (tmp_path/"empty").mkdir()
    for args in (("-w", quick_ws.root, ""), ("-w", quick_ws.root, "Hello.", "--voice", "vulcan"), ("-w", quick_ws.root, "Hello.", "--rate", "5"),
                 ("-w", quick_ws.root, "Hello.", "--scale", "1.5"), ("-w", tmp_path/"empty", "Hello there.")):
        r = synctalk("say", *args, "-o", tmp_path/"bad.mp4")
        assert one_line_error(r), (args, r.returncode, r.stderr[-500:])
        assert not (tmp_path/"bad.mp4").exists()
