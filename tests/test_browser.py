"""The widgets in a real browser: JupyterLab with headless Chromium (Selenium) runs a notebook that builds the explorer on a
small trained workspace, and the harness checks that no widget shows an error, then moves a slider of the expression tab
and checks that the rendered face changed. Two broken notebooks check the harness itself: it must report a widget whose
front-end model does not exist, and a slider whose callback raises.

Needs Debian's `chromium` and `chromium-driver` and the `selenium` package (`.ci/run` installs them); skipped without them.
"""
import importlib.util, os, secrets, shutil, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path
from typing import NamedTuple

import pytest

from conftest import ASSETS

ROOT = Path(__file__).parents[1]
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
PAGE_ERRORS = ("Error displaying widget", "Failed to load model", "Click to show javascript error", "Traceback") # what a broken widget or cell shows
LOG_ERRORS = ("Traceback (most recent call last)", "Exception in comm_msg") # what the server or a kernel writes to its own output on a failure


def _lacking() -> list[str]:
    lack = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    return lack + ([] if importlib.util.find_spec("selenium") else ["the selenium package"])

pytestmark = pytest.mark.skipif(bool(_lacking()), reason=f"the browser test needs {', '.join(_lacking())} "
                                "(apt-get install chromium chromium-driver; pip install selenium; .ci/run installs them)")


# JupyterLab and Chromium --------------------------------------------------------------------------------------------

class Lab(NamedTuple):
    "A running JupyterLab server."
    url: str # http://127.0.0.1:PORT
    token: str
    root: Path # its notebook folder
    log: Path # the server's and its kernels' output

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    "JupyterLab, headless, on a free port with a token, in a temporary root; its kernels import this checkout's synctalk."
    home = tmp_path_factory.mktemp("lab")
    root, log = home/"root", home/"lab.log"
    root.mkdir()
    port, token = _free_port(), secrets.token_hex(16)
    quiet = home/"settings"/"@jupyterlab"/"apputils-extension"/"notification.jupyterlab-settings" # no news, no toasts over the page
    quiet.parent.mkdir(parents=True)
    quiet.write_text('{"fetchNews": "false", "checkForUpdates": false, "doNotDisturbMode": true}')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
           "SYNCTALK_ASSETS": str(ASSETS), "SYNCTALK_QUIET": "1", "JUPYTERLAB_SETTINGS_DIR": str(home/"settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home/"workspaces"), "JUPYTER_RUNTIME_DIR": str(home/"runtime")}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly", "--ServerApp.terminals_enabled=False"] + (["--allow-root"] if os.geteuid() == 0 else [])
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None: pytest.fail(f"JupyterLab exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5): break
            except OSError:
                if time.monotonic() > deadline: pytest.fail(f"JupyterLab did not answer in 90 s:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield Lab(url, token, root, log)
    finally:
        proc.terminate() # the server shuts its kernels down
        try: proc.wait(30)
        except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL); proc.wait()

@pytest.fixture(scope="module")
def browser():
    "Headless Chromium driven by chromedriver."
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--mute-audio", "--window-size=1600,1200"):
        opts.add_argument(arg)
    if os.geteuid() == 0: opts.add_argument("--no-sandbox") # Chromium's sandbox refuses to run as root
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


# The harness --------------------------------------------------------------------------------------------------------

def write_notebook(lab:Lab, name:str, *cells:str) -> str:
    "A notebook of code `cells` in the lab's root, for the python3 kernel; its path there."
    import nbformat
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells],
                                  metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, lab.root/name)
    return name

def _until(check, timeout:float, poll:float=0.5):
    "Call `check` until it returns something true, for at most `timeout` seconds; what it returned last."
    deadline = time.monotonic() + timeout
    while not (v := check()) and time.monotonic() < deadline: time.sleep(poll)
    return v

def _text(o:dict) -> str: return "".join(o.get("text", "")) if isinstance(o.get("text"), list) else o.get("text", "")

# the notebook as JupyterLab holds it: its panel, its kernel's status, its code cells with their outputs (nbformat)
_STATE = """
const app = window.jupyterapp;
if (!app || !app.shell) return null;
const panel = Array.from(app.shell.widgets('main')).find(w => w.context && w.context.path === arguments[0]);
if (!panel || !panel.context.isReady || !panel.sessionContext.session) return null;
const kernel = panel.sessionContext.session.kernel;
return {id: panel.id, kernel: kernel ? kernel.status : null,
        cells: panel.context.model.toJSON().cells.filter(c => c.cell_type === 'code')};
"""

class Page:
    "A notebook open in JupyterLab in the browser, and the problems the harness found in it (`problems`)."
    def __init__(self, driver, lab:Lab, name:str, # a notebook in the lab's root
                 timeout:float=120): # for the page to load and the kernel to start
        self.driver, self.lab, self.name, self.problems = driver, lab, name, []
        self.log_start = lab.log.stat().st_size
        driver.get(f"{lab.url}/lab/tree/{name}?token={lab.token}&reset")
        if not _until(lambda: (s := self.state()) and s["kernel"] == "idle", timeout):
            raise TimeoutError(f"{name} did not open with an idle kernel within {timeout:.0f} s:\n{self.log()[-3000:]}")
        # widget callbacks' tracebacks go to JupyterLab's log console, not to a cell: keep it open below the notebook
        driver.execute_script("window.jupyterapp.commands.execute('logconsole:open', {insertMode: 'split-bottom', source: arguments[0]});", name)

    def __enter__(self): return self
    def __exit__(self, *exc): self.driver.execute_script(
        "const w = Array.from(window.jupyterapp.shell.widgets('main')).find(w => w.context && w.context.path === arguments[0]);"
        "if (w) w.sessionContext.shutdown();", self.name)

    def state(self) -> dict|None: return self.driver.execute_script(_STATE, self.name)
    def log(self) -> str: return self.lab.log.read_bytes()[self.log_start:].decode(errors="replace")
    def text(self) -> str:
        "The notebook's text, hidden tabs' included."
        return self.driver.execute_script("const n = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook'); return n ? n.textContent : '';")

    def problem(self, what:str):
        if what not in self.problems: self.problems.append(what)

    def run_all(self, timeout:float=300):
        "Run every cell (JupyterLab's Run All); wait until all ran, or one failed, and the kernel is idle; then `check`."
        self.driver.execute_script("const app = window.jupyterapp; app.shell.activateById(arguments[0]); app.commands.execute('notebook:run-all-cells');",
                                   self.state()["id"])
        def finished():
            s = self.state()
            outs = [o for c in s["cells"] for o in c["outputs"]]
            return s["kernel"] == "idle" and (all(c["execution_count"] for c in s["cells"]) or any(o["output_type"] == "error" for o in outs))
        if not _until(finished, timeout): self.problem(f"the cells did not finish within {timeout:.0f} s")
        self.check()

    def check(self):
        "Note every error: outputs of type error or with a traceback, widget errors on the page, tracebacks in the log console and in the server's output."
        for i, c in enumerate(self.state()["cells"]):
            for o in c["outputs"]:
                if o["output_type"] == "error": self.problem(f"cell {i} failed: {o['ename']}: {o['evalue']}")
                elif "Traceback" in _text(o): self.problem(f"cell {i} printed a traceback: {_text(o)[-500:]}")
        for e in self.shown("//div[contains(@class, 'jupyter-widgets-error-widget') and contains(@class, 'icon-error')]"): e.click() # shows its message
        page, log = self.text(), self.log()
        console = self.driver.execute_script("return Array.from(document.querySelectorAll('.jp-LogConsolePanel')).map(n => n.innerText).join('\\n');")
        for e in PAGE_ERRORS:
            if e in page: self.problem(f"the page shows {e!r}: ...{page[max(0, page.index(e) - 200):page.index(e) + 300]}")
        if "Traceback" in console: self.problem(f"the log console shows a traceback: ...{console[-800:]}")
        for e in LOG_ERRORS:
            if e in log: self.problem(f"the server's output shows {e!r}: ...{log[log.index(e):log.index(e) + 1500]}")

    def shown(self, xpath:str) -> list:
        "The elements at `xpath` that are displayed."
        from selenium.webdriver.common.by import By
        return [e for e in self.driver.find_elements(By.XPATH, xpath) if e.is_displayed()]

    def select_tab(self, title:str, # a tab of a `widgets.Tab` in the notebook
                   ready:str, # an XPath that shows once the tab's content is there
                   timeout:float=120):
        "Click the tab `title` and wait for its content."
        tabs = self.shown(f"//div[contains(@class, 'widget-tab')]//li[contains(@class, 'lm-TabBar-tab')][normalize-space()='{title}']")
        if not tabs: self.problem(f"no tab {title!r}"); return
        tabs[0].click()
        if not _until(lambda: self.shown(ready), timeout): self.problem(f"the tab {title!r} showed no {ready} within {timeout:.0f} s")

    def images(self) -> list[str]:
        "The `src` of each image widget shown."
        return [e.get_attribute("src") for e in self.shown("//img[contains(@class, 'widget-image')]")]

    def move_slider(self, label:str, # the slider's description
                    key:str, # what to press on its handle (`selenium.webdriver.common.keys.Keys`)
                    image:int=0, # which of the `images` should change
                    timeout:float=90) -> bool:
        "Press `key` on the handle of the slider `label`, as a user would; whether the image then changed (a problem if not)."
        handles = self.shown(f"//div[contains(@class, 'widget-slider')][.//label[normalize-space()='{label}']]//div[contains(@class, 'noUi-handle')]")
        if not handles: self.problem(f"no slider {label!r}"); return False
        before = self.images()[image:image + 1]
        if not before: self.problem(f"no image {image} beside the slider {label!r}"); return False
        handles[0].send_keys(key)
        changed = bool(_until(lambda: self.images()[image:image + 1] != before, timeout))
        if not changed: self.problem(f"the image did not change within {timeout:.0f} s of moving the slider {label!r}")
        return changed


# The tests ----------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained(tmp_path_factory, assets):
    "A copy of the processed sample workspace, trained for 10 steps at 64x64."
    from synctalk.cli import process_workspace
    from synctalk.train import train_workspace
    from synctalk.workspace import Workspace, sample_workspace
    sample = sample_workspace()
    process_workspace(sample)
    ws = Workspace(tmp_path_factory.mktemp("trained")/"ws")
    shutil.copytree(sample.root, ws.root, ignore=shutil.ignore_patterns(".*", "nerf", "train", "eval", "drive", "say"))
    train_workspace(ws, resolution=64, iters=10)
    return ws


PLOT = "//div[contains(@class, 'js-plotly-plot')]"
READY = {"frames": PLOT, "audio": PLOT, "lip sync": PLOT, "head pose": PLOT, "held-out": "//p[contains(., 'synctalk evaluate -w')]",
         "drive": "//button[normalize-space()='Say']", "expressions": "//div[contains(@class, 'widget-slider')][.//label[normalize-space()='eye blink L']]"}

def test_explorer(lab, browser, trained):
    "The explorer shows without an error, and so does each of its tabs when clicked; moving the expression tab's frame slider renders a new face."
    from selenium.webdriver.common.keys import Keys
    nb = write_notebook(lab, "explore.ipynb", "from synctalk.explore import explore", f"ex = explore({str(trained.root)!r})\nex")
    with Page(browser, lab, nb) as page:
        page.run_all()
        assert not page.problems, page.problems
        assert f"synctalk evaluate -w {trained.root}" in page.text() # the summary tab names what is left to run
        for title, ready in READY.items(): page.select_tab(title, ready)
        assert page.move_slider("frame", Keys.END), page.problems
        assert _until(lambda: "frame 330 (held out): rendered " in page.text(), 30), page.text()[-2000:]
        page.check()
        assert not page.problems, page.problems


BROKEN_MODEL = """
import ipywidgets as widgets
from traitlets import Unicode

class Missing(widgets.DOMWidget):
    "A widget whose front-end model does not exist."
    _model_name = Unicode("NoSuchModel").tag(sync=True)
    _model_module = Unicode("@jupyter-widgets/controls").tag(sync=True)
    _view_name = Unicode("NoSuchView").tag(sync=True)
    _view_module = Unicode("@jupyter-widgets/controls").tag(sync=True)

Missing()"""

BROKEN_CALLBACK = """
import cv2, numpy as np
import ipywidgets as widgets

slider = widgets.IntSlider(0, 0, 10, description="frame", continuous_update=False)
image = widgets.Image(value=cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tobytes(), format="png")
def render(change): raise RuntimeError("the render failed")
slider.observe(render, "value")
widgets.VBox([slider, image])"""

def test_harness_sees_a_missing_front_end_model(lab, browser):
    with Page(browser, lab, write_notebook(lab, "missing.ipynb", BROKEN_MODEL)) as page:
        page.run_all()
        assert any("Failed to load model class 'NoSuchModel'" in p for p in page.problems), page.problems

def test_harness_sees_a_failing_callback(lab, browser):
    from selenium.webdriver.common.keys import Keys
    with Page(browser, lab, write_notebook(lab, "callback.ipynb", BROKEN_CALLBACK)) as page:
        page.run_all()
        assert not page.problems, page.problems # it shows fine...
        assert not page.move_slider("frame", Keys.END, timeout=10) # ...but moving the slider renders nothing
        page.check()
        assert any("RuntimeError: the render failed" in p for p in page.problems), page.problems
