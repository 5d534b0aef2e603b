"""One CNN epoch: pytorch/examples' own loop vs mnist-tui headless vs the dashboard, one
invocation, alternating.

    python bench/bench_cnn.py [--data-dir DIR] [--limit-train N] [--rounds R]

The data: by default the real MNIST test set split as the tests split it (8,000 to
train on, 2,000 to test; tests/helpers.write_split), or any dataset folder.

1. examples:  pytorch/examples mnist/main.py's ``Net`` and ``train()`` as written there
              (Adadelta lr 1.0, batch 64, shuffled DataLoader, nll_loss on log_softmax,
              ``loss.item()`` printed every 10 batches) over the same images, already
              in memory as normalised 1x28x28 float tensors (its torchvision MNIST,
              which decodes each image through PIL, would only be slower).
2. headless:  the installed ``mnist-tui --headless --model cnn --epochs 1``.
3. dashboard: the installed ``mnist-tui --model cnn --epochs 1``: the real dashboard
              in a 120x40 terminal, training in its child process.

Each runs in a tmux session of its own (on Linux with autogroup scheduling, each
terminal session gets its own share of a busy CPU: running the loops in this process
and the dashboard in another measured the scheduler, not mnist-tui). Each round runs
the three in turn (in the order examples, headless, dashboard, then reversed in the next
round, and so on); the time is one training epoch (the examples': their ``train()``;
mnist-tui's: the engine's own epoch time, the ``seconds`` of the run folder's epoch
row, the same span). Per round: headless / examples and dashboard / headless; the
medians are printed with the targets (mnist-tui <= 1.05x the examples' loop, the
dashboard <= 1.10x headless). The examples' loop runs with PyTorch's default thread
count, as a user's would; mnist-tui with its own choice for the CNN
(core.network.configure_cpu_threads).
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import runner  # noqa: E402
from core.config import Hyperparameters  # noqa: E402



class Net(nn.Module):
    """pytorch/examples mnist/main.py's network, as written there."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def examples(data) -> tuple[float, float]:
    """The examples' train() for one epoch (log_interval 10, dry_run off): (wall, CPU)
    seconds."""
    images = (data.train.images.float() / 255 - 0.1307) / 0.3081
    dataset = torch.utils.data.TensorDataset(images.reshape(-1, 1, 28, 28), data.train.labels)
    loader = torch.utils.data.DataLoader(dataset, batch_size=64, shuffle=True)
    torch.manual_seed(1)
    model = Net()
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    log = io.StringIO()
    t0, c0 = time.perf_counter(), time.process_time()
    model.train()
    for batch_idx, (x, target) in enumerate(loader):
        optimizer.zero_grad()
        output = model(x)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % 10 == 0:
            print(f"Train Epoch: 1 [{batch_idx * len(x)}/{len(loader.dataset)}]\t"
                  f"Loss: {loss.item():.6f}", file=log)
    return time.perf_counter() - t0, time.process_time() - c0


def engine(data) -> float:
    """mnist-tui's engine (core.training.Run, statistics on) for one epoch: its CPU
    seconds, from the epoch's start to its end (its tests not counted)."""
    from core.events import EpochEnd, EpochStarted
    from core.training import Run

    run = Run(Hyperparameters.defaults("cnn").with_changes(epochs=1), data.train, data.test)
    for ev in run.events():
        if isinstance(ev, EpochStarted):
            c0 = time.process_time()
        elif isinstance(ev, EpochEnd):
            return time.process_time() - c0
    raise RuntimeError("no epoch")


def _tmux(sock: str, *a: str) -> None:
    subprocess.run(["tmux", "-L", sock, *a], capture_output=True, text=True, check=False)


TIME = "/usr/bin/time"  # GNU time: the CPU of a command and its children


def in_tmux(sock: str, command: list[str], done: Callable[[str], Any],
            timeout: float = 1800) -> float:
    """Run ``command`` in a new tmux session at 120x40 (a terminal of its own, and so, on
    Linux, a scheduling group of its own, as a user's run would be) until ``done()``
    (given the session's name) gives its result."""
    name = f"run{next(_SESSIONS)}"
    started = subprocess.run(["tmux", "-L", sock, "new-session", "-d", "-s", name, "-x", "120",
                              "-y", "40", "--", *command], capture_output=True, text=True)
    if started.returncode != 0:
        raise RuntimeError(f"tmux new-session failed: {started.stderr.strip()}")
    try:
        t_end = time.monotonic() + timeout
        while (seconds := done(name)) is None:
            if time.monotonic() > t_end:
                raise TimeoutError(" ".join(command))
            time.sleep(0.5)  # a benchmark's poll, not a test's wait
        return seconds
    finally:
        _tmux(sock, "kill-session", "-t", name)


_SESSIONS = itertools.count()


def epoch_seconds(run_dir: Path) -> float | None:
    """The first epoch's time from a run folder, once the run has finished."""
    from core.runfolder import read_rows

    if not (run_dir / "metrics.jsonl").exists():
        return None
    rows, _ = read_rows(run_dir)
    if not any(r["kind"] == "end" for r in rows):
        return None
    return next(r["seconds"] for r in rows if r["kind"] == "epoch")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", help="a dataset folder (default: the tests' 8k/2k split of "
                                       "the real MNIST test set, written to a temporary folder)")
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--limit-train", type=int)
    ap.add_argument("--limit-test", type=int, default=1000, help="(the tests are not timed)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--examples-only", metavar="FILE", help=argparse.SUPPRESS)
    args = ap.parse_args()
    from core.datasets import load
    from core.network import configure_cpu_threads

    if args.examples_only:  # one round's examples loop, in its tmux session
        data = load(args.dataset, args.data_dir, allow_download=False)
        data.train = data.train.head(args.limit_train)
        data.test = data.test.head(args.limit_test)
        wall, cpu = examples(data)  # PyTorch's default threads, as a user's run has
        Path(args.examples_only + ".tmp").write_text(f"{wall} {cpu} {engine(data)}\n")
        os.replace(args.examples_only + ".tmp", args.examples_only)
        return
    if not shutil.which("tmux") or not Path(TIME).exists():
        sys.exit(f"bench_cnn needs tmux (each way runs in a terminal of its own) and {TIME}")
    exe = str(Path(sys.executable).with_name("mnist-tui"))
    sock = f"bench-cnn-{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="bench-cnn-") as tmp:
        work = Path(tmp)
        if args.data_dir is None:
            from tests.helpers import write_split

            args.data_dir = str(write_split(work / "data", 8000, 2000))
        n = len(load(args.dataset, args.data_dir, allow_download=False).train.head(args.limit_train))
        common = ["--dataset", args.dataset, "--data-dir", args.data_dir, "--limit-test",
                  str(args.limit_test), "--no-download"]
        if args.limit_train:
            common += ["--limit-train", str(args.limit_train)]
        print(f"one epoch of {n:,} {args.dataset} images, batch 64, torch threads: the "
              f"examples' {torch.get_num_threads()} (PyTorch's default), mnist-tui's "
              f"{configure_cpu_threads('cnn')}, {args.rounds} rounds (examples, headless, dashboard), "
              f"each in a tmux session of its own")
        # a session that keeps the tmux server up between the runs' sessions
        _tmux(sock, "new-session", "-d", "-s", "keep", "--", "cat")

        cpu: dict[str, list[float]] = {"examples": [], "engine": [], "headless": [],
                                       "dashboard": []}
        # the process that trained: headless's one, the dashboard's child (from /proc,
        # sampled every 0.5 s until the run ended)
        train_cpu: dict[str, list[float]] = {"headless": [], "dashboard": []}
        # the training process's CPU in the epoch (its epoch row's cpu_seconds)
        epoch_cpu: dict[str, list[float]] = {"headless": [], "dashboard": []}

        def read(path: Path) -> list[float] | None:
            """The numbers a finished file holds (GNU time creates its file at the start)."""
            text = path.read_text() if path.exists() else ""
            return [float(v) for v in text.split()] or None

        def one(way: str, r: int) -> float:
            if way == "examples":
                out = work / f"examples-{r}.txt"
                wall, ex_cpu, engine_cpu = in_tmux(sock, [
                    sys.executable, __file__, "--examples-only", str(out), "--dataset",
                    args.dataset, "--data-dir", args.data_dir, "--limit-test", str(args.limit_test),
                    *(["--limit-train", str(args.limit_train)] if args.limit_train else [])],
                    lambda _session: read(out))
                cpu["examples"].append(ex_cpu)
                cpu["engine"].append(engine_cpu)
                return wall
            # the whole command's CPU (user + system; the dashboard's two processes), from
            # /usr/bin/time once it has ended; the dashboard is left with q once finished
            run_dir, used = work / f"{way}-{r}", work / f"{way}-{r}.cpu"
            extra = ["--headless", "--no-plot"] if way == "headless" else []
            trainer: dict[int, float] = {}  # the dashboard's training process: its CPU

            def finished(session: str) -> float | None:
                if way == "dashboard":  # /usr/bin/time > the UI > the training process
                    out = subprocess.run(["tmux", "-L", sock, "display", "-p", "-t", session,
                                          "#{pane_pid}"], capture_output=True, text=True).stdout
                    if out.strip().isdigit():
                        for ui in runner.proc_children(int(out)):
                            for kid in runner.proc_children(ui):
                                trainer[kid] = runner.proc_cpu(kid) or trainer.get(kid, 0.0)
                seconds = epoch_seconds(run_dir)
                if seconds is not None and way == "dashboard" and read(used) is None:
                    # q, and y for the "quit during a run?" question: a q that comes
                    # before the dashboard has seen the run's end asks it (and a q on
                    # that question does nothing: the bench waited for ever)
                    _tmux(sock, "send-keys", "-t", session, "q")
                    _tmux(sock, "send-keys", "-t", session, "y")
                times = read(used)
                if seconds is None or not times:
                    return None
                cpu[way].append(sum(times))
                epoch_cpu[way].append(runner.epoch_cpu_seconds(run_dir)[0])
                train_cpu[way].append(max(trainer.values(), default=0.0) if trainer else sum(times))
                return seconds

            return in_tmux(sock, [TIME, "-f", "%U %S", "-o", str(used), exe, *extra, "--model",
                                  "cnn", "--epochs", "1", *common, "--run-dir", str(run_dir)],
                           finished)

        times: dict[str, list[float]] = {"examples": [], "headless": [], "dashboard": []}
        try:
            for r in range(args.rounds):
                order = list(times) if r % 2 == 0 else list(reversed(times))  # ABC, CBA, ...
                for way in order:
                    times[way].append(one(way, r))
                print(f"round {r + 1}: wall " + ", ".join(f"{k} {v[-1]:.2f} s"
                                                          for k, v in times.items())
                      + "; CPU " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in cpu.items()),
                      flush=True)
        finally:
            _tmux(sock, "kill-server")
    tui_vs_examples = [h / e for h, e in zip(times["headless"], times["examples"])]
    dash_vs_headless = [d / h for d, h in zip(times["dashboard"], times["headless"])]
    print(f"headless / examples:  {', '.join(f'{x:.3f}' for x in tui_vs_examples)}; median "
          f"{statistics.median(tui_vs_examples):.3f} x (target <= 1.05)")
    print(f"dashboard / headless: {', '.join(f'{x:.3f}' for x in dash_vs_headless)}; median "
          f"{statistics.median(dash_vs_headless):.3f} x (target <= 1.10)")
    nan = float("nan")  # a tiny run's epoch CPU may round to 0 ms
    head_vs_examples = [h / x if x else nan for h, x in zip(epoch_cpu["headless"], cpu["examples"])]
    dash_vs_head = [d / h if h else nan for d, h in zip(epoch_cpu["dashboard"], epoch_cpu["headless"])]
    print(f"CPU, the epoch, headless / examples: {', '.join(f'{x:.3f}' for x in head_vs_examples)}; "
          f"median {statistics.median(head_vs_examples):.3f} x (CPU seconds of the epoch: the "
          f"examples' loop's, mnist-tui's epoch row's)")
    print(f"CPU, the epoch, dashboard / headless: {', '.join(f'{x:.3f}' for x in dash_vs_head)}; "
          f"median {statistics.median(dash_vs_head):.3f} x")
    engine_vs_examples = [e / x for e, x in zip(cpu["engine"], cpu["examples"])]
    dash_cpu = [d / h for d, h in zip(cpu["dashboard"], cpu["headless"])]
    print(f"CPU, one epoch, engine / examples (same process, one after the other): "
          f"{', '.join(f'{x:.3f}' for x in engine_vs_examples)}; median "
          f"{statistics.median(engine_vs_examples):.3f} x")
    print(f"CPU, whole command, dashboard (both processes) / headless: "
          f"{', '.join(f'{x:.3f}' for x in dash_cpu)}; median {statistics.median(dash_cpu):.3f} x")
    trainer_cpu = [d / h for d, h in zip(train_cpu["dashboard"], train_cpu["headless"])]
    print(f"CPU, the training process, dashboard / headless (whole runs: start-up, tests, the "
          f"epoch): {', '.join(f'{x:.3f}' for x in trainer_cpu)}; median "
          f"{statistics.median(trainer_cpu):.3f} x")
    print(f"load average {os.getloadavg()[0]:.1f} at the end, on {len(os.sched_getaffinity(0))} cores")


if __name__ == "__main__":
    main()
