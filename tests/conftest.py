import os, subprocess
from pathlib import Path
import pytest

ASSETS = Path(os.environ.get("SYNCTALK_ASSETS", Path(__file__).parents[2]/"shared"/"assets")).absolute()

@pytest.fixture(scope="session")
def assets() -> Path:
    if not (ASSETS/"may_short.mp4").exists(): pytest.fail(f"SYNCTALK_ASSETS={ASSETS} does not hold the sample assets")
    return ASSETS

def synctalk(*args, env=None):
    "Run the installed `synctalk` console script; returns the CompletedProcess."
    e = {**os.environ, "SYNCTALK_ASSETS": str(ASSETS), "SYNCTALK_QUIET": "1", **(env or {})}
    return subprocess.run(["synctalk", *map(str, args)], capture_output=True, text=True, env=e)

def snapshot(folder: Path) -> dict:
    "Every file under `folder` with its bytes, to check that nothing changed."
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
