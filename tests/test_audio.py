"Integration tests of synctalk.audio and synctalk.ave: front end, official weights, features, bad input, training."
import shutil

import numpy as np
import pytest
import torch
from torch import nn

from synctalk.audio import AudioEncoder, AudioError, audio_features, load_audio_encoder, load_audio_features, melspectrogram, mel_windows
from synctalk.ave import AVEConfig, ExpertConfig, train_on_videos, expert_path, load_expert, prepare_clip, process_audio, score_offsets
from synctalk.core import InputError
from synctalk.io import read_audio, write_video, write_wav
from synctalk.workspace import Workspace, sample_workspace


@pytest.fixture(scope="module")
def official_weights(tmp_path_factory):
    "A state dict in the layout of SyncTalk's audio_visual_encoder.pth: the audio_encoder Sequential's keys, no prefix."
    class Reference(nn.Module):
        def __init__(self): super().__init__(); self.audio_encoder = AudioEncoder()
    torch.manual_seed(1)
    ref = Reference().eval()
    path = tmp_path_factory.mktemp("weights")/"audio_visual_encoder.pth"
    torch.save({k.removeprefix("audio_encoder."): v for k, v in ref.state_dict().items()}, path)
    return path, ref.audio_encoder


def test_mel_front_end_known_values():
    t = np.arange(2*16000)/16000
    mel = melspectrogram((0.5*np.sin(2*np.pi*1000*t)).astype(np.float32))
    assert mel.shape == (80, 161) # 80 mel frames per second, centred frames
    import librosa
    centres = librosa.mel_frequencies(82, fmin=55, fmax=7600)[1:-1]
    assert mel[:, 5:-5].mean(1).argmax() == np.abs(centres - 1000).argmin()
    assert mel_windows(mel, 50).shape == (50, 1, 80, 16) # 25 windows per second of audio


def test_official_weights_load(official_weights):
    path, ref = official_weights
    enc = load_audio_encoder(path)
    x = torch.randn(3, 1, 80, 16)
    with torch.no_grad(): assert torch.allclose(enc(x), ref(x), atol=1e-6)


def test_features_of_any_audio_file(assets, official_weights, tmp_path):
    path, _ = official_weights
    assert audio_features(assets/"radio31.wav", path).shape == (200, 512) # 8 s stereo wav
    frames = np.zeros((50, 64, 64, 3), np.uint8)
    write_video(tmp_path/"clip.mp4", frames, audio=read_audio(assets/"may_drive.wav")[:32000])
    assert audio_features(tmp_path/"clip.mp4", path).shape == (50, 512) # the AAC track of an mp4


def test_bad_input_is_refused(official_weights, tmp_path):
    path, _ = official_weights
    write_wav(tmp_path/"silent.wav", np.zeros(3*16000, np.float32))
    with pytest.raises(AudioError, match="silent"): audio_features(tmp_path/"silent.wav", path)
    write_wav(tmp_path/"short.wav", 0.3*np.random.default_rng(0).standard_normal(8000).astype(np.float32))
    with pytest.raises(AudioError, match="at least 1 s"): audio_features(tmp_path/"short.wav", path)
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path/"wrong.pth")
    with pytest.raises(InputError, match="do not fit the audio encoder"): load_audio_encoder(tmp_path/"wrong.pth")


def test_process_audio_with_given_weights(official_weights, tmp_path):
    path, _ = official_weights
    sample, ws = sample_workspace(), Workspace(tmp_path/"ws")
    ws.root.mkdir()
    for name in ("frames.mp4", "audio.wav", "manifest.json"): shutil.copy(sample.path(name), ws.path(name))
    assert process_audio(ws, ave_weights=path).ran
    assert load_audio_features(ws).shape == (331, 512)
    assert not process_audio(ws).ran # keeps the workspace's weights, up to date


def test_ave_train_short_run(assets, tmp_path):
    "A short `ave-train` on one clip: both files load, the checkpoints are gone, and the expert finds that clip in sync."
    out = train_on_videos([assets/"retalk_face5.mp4"], tmp_path/"ave.pt", ExpertConfig(steps=80, runs=4, run_windows=16, members=2),
                    AVEConfig(steps=3, runs=1, run_windows=8))
    assert load_audio_encoder(out).state_dict().keys() == AudioEncoder().state_dict().keys()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ave.pt", "ave_expert.pt"]
    scores = score_offsets(load_expert(expert_path(out)), prepare_clip(assets/"retalk_face5.mp4"))
    assert abs(scores.clip_offset) <= 1 and scores.confidence > 0.05, (scores.clip_offset, scores.confidence)
