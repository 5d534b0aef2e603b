"""One epoch of the tutorial's network, five ways, side by side in one invocation.

    python bench/bench_peers.py [--data-dir DIR] [--rounds 3] [--limit-train N] [--skip NAME ...]

What a user would otherwise run, on the same data, with the same network (784-100-50-10
sigmoid), seed, loss and optimizer (SGD lr 0.2 momentum 0.9, batch 50), one epoch each:

1. tutorial:  the seed tutorial's loop as written: its MNISTDataset (float tensors,
              ``__getitem__`` per digit) and a shuffling DataLoader, a train line printed
              every 100 batches;
2. examples:  a pytorch/examples ``mnist/main.py``-style loop: ``train(...)`` with
              ``model.train()``, ``F.cross_entropy``, ``data.to(device)``, a DataLoader
              over a TensorDataset, log lines every 100 batches;
3. lightning: PyTorch Lightning's Trainer with its RichProgressBar drawing into a
              terminal (``pip install -e '.[bench]'``; skipped with one line when absent);
4. headless:  ``mnist-tui --headless`` (a subprocess, as a user runs it);
5. dashboard: ``mnist-tui`` in a real terminal (tmux 120x40), everything drawn.

1-3 run in this process with PyTorch's default thread count, as a user's script would;
4-5 use mnist-tui's own choice (core.network.configure_cpu_threads). The five alternate,
round after round, so that the machine's drift lands on all of them alike; each one's
median over the rounds is printed, with its ratio to the tutorial's loop and to
mnist-tui headless. Times are the training epoch only (no test pass, no data loading):
the in-process loops are timed around the epoch, mnist-tui's are the ``seconds`` of its
own ``epoch`` row.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import runner  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.utils.data import DataLoader, Dataset, TensorDataset  # noqa: E402

from core.datafiles import STANDARD_FILES  # noqa: E402
from core.idx import read_idx  # noqa: E402
from core.network import NeuralNet  # noqa: E402

LR, MOMENTUM, BATCH, SEED, LOG_INTERVAL = 0.2, 0.9, 50, 1, 100


class TutorialMNISTDataset(Dataset):
    """The tutorial's dataset as written: everything as float tensors, one item at a time."""

    def __init__(self, images_path, labels_path, limit: int = 0):
        images = read_idx(images_path)
        labels = read_idx(labels_path)
        if limit:
            images, labels = images[:limit], labels[:limit]
        self.images = torch.tensor(images.reshape(len(images), 784), dtype=torch.float32) / 255
        self.labels = torch.tensor(labels, dtype=torch.int64)

    def head(self, n: int) -> TutorialMNISTDataset:
        part = TutorialMNISTDataset.__new__(TutorialMNISTDataset)
        part.images, part.labels = self.images[:n], self.labels[:n]
        return part

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i], self.labels[i]


def _files(data_dir: Path) -> tuple[Path, Path]:
    def find(role: str) -> Path:
        name = STANDARD_FILES[role]
        return data_dir / name if (data_dir / name).exists() else data_dir / name.removesuffix(".gz")

    return find("train_images"), find("train_labels")


def tutorial(ds: TutorialMNISTDataset) -> tuple[float, float]:
    torch.manual_seed(SEED)
    model = NeuralNet()
    loader = DataLoader(ds, batch_size=BATCH, shuffle=True)
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    out = io.StringIO()
    t0, c0 = time.perf_counter(), time.process_time()
    for batch_idx, (data, target) in enumerate(loader):
        optimizer.zero_grad()
        loss = loss_fn(model(data), target)
        loss.backward()
        optimizer.step()
        if batch_idx % LOG_INTERVAL == 0:
            print(f"Train Epoch: 1 [{batch_idx * len(data)}/{len(ds)} "
                  f"({100. * batch_idx / len(loader):.0f}%)]\tLoss: {loss.item():.6f}", file=out)
    return time.perf_counter() - t0, time.process_time() - c0


def examples(ds: TutorialMNISTDataset) -> tuple[float, float]:
    torch.manual_seed(SEED)
    device = torch.device("cpu")
    model = NeuralNet().to(device)
    loader = DataLoader(TensorDataset(ds.images, ds.labels), batch_size=BATCH, shuffle=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    out = io.StringIO()

    def train(model, device, train_loader, optimizer, epoch):
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(data), target)
            loss.backward()
            optimizer.step()
            if batch_idx % LOG_INTERVAL == 0:
                print(f"Train Epoch: {epoch} [{batch_idx * len(data)}/{len(train_loader.dataset)}"
                      f" ({100. * batch_idx / len(train_loader):.0f}%)]\tLoss: {loss.item():.6f}",
                      file=out)

    t0, c0 = time.perf_counter(), time.process_time()
    train(model, device, loader, optimizer, 1)
    return time.perf_counter() - t0, time.process_time() - c0


def lightning_available() -> bool:
    try:
        import lightning  # noqa: F401
    except ImportError:
        return False
    return True


def lightning(ds: TutorialMNISTDataset) -> tuple[float, float]:
    import lightning as L
    from lightning.pytorch.callbacks import RichProgressBar

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = NeuralNet()

        def training_step(self, batch, batch_idx):
            data, target = batch
            loss = F.cross_entropy(self.net(data), target)
            self.log("loss", loss, prog_bar=True)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=LR, momentum=MOMENTUM)

    class Timed(L.Callback):
        def on_train_epoch_start(self, trainer, module):
            self.t0, self.c0 = time.perf_counter(), time.process_time()

        def on_train_epoch_end(self, trainer, module):
            self.seconds = time.perf_counter() - self.t0
            self.cpu = time.process_time() - self.c0

    for name in ("lightning.pytorch", "lightning.fabric"):  # its start-up tips and notices
        logging.getLogger(name).setLevel(logging.ERROR)
    torch.manual_seed(SEED)
    timed = Timed()
    # The progress bar draws into a terminal it believes it has (the cost a user pays),
    # written to /dev/null so that this bench's own table stays readable.
    with open(os.devnull, "w") as null:
        bar = RichProgressBar(console_kwargs={"force_terminal": True, "file": null, "width": 120})
        trainer = L.Trainer(max_epochs=1, accelerator="cpu", devices=1, logger=False,
                            enable_checkpointing=False, enable_model_summary=False,
                            num_sanity_val_steps=0, callbacks=[bar, timed])
        with contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
            trainer.fit(Module(), DataLoader(ds, batch_size=BATCH, shuffle=True))
    return timed.seconds, timed.cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path("/usr/share/datasets/fashion-mnist"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--limit-train", type=int, default=0, help="0: the whole train set")
    ap.add_argument("--skip", nargs="*", default=[], help="ways to leave out (e.g. dashboard)")
    args = ap.parse_args()

    ds = TutorialMNISTDataset(*_files(args.data_dir), limit=args.limit_train)
    flags = ["--limit-train", str(args.limit_train)] if args.limit_train else []
    ways: dict[str, object] = {"tutorial": tutorial, "examples": examples}
    if lightning_available():
        ways["lightning"] = lightning
    else:
        print("lightning: skipped (not installed; pip install -e '.[bench]')")
    ways["headless"] = "headless"
    if runner.have_tmux():
        ways["dashboard"] = "dashboard"
    else:
        print("dashboard: skipped (needs tmux)")
    for name in args.skip:
        ways.pop(name, None)

    warm = ds.head(1000)
    for way in ways.values():  # first calls (allocator, kernels, imports) outside the timing
        if callable(way):
            way(warm)
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    cpu: dict[str, list[float]] = {name: [] for name in ways}  # the epoch's CPU seconds
    with tempfile.TemporaryDirectory(prefix="mnist-tui-peers-") as tmp:
        for r in range(args.rounds):
            for name, way in ways.items():
                if callable(way):
                    wall, used = way(ds)
                    seconds[name].append(wall)
                    cpu[name].append(used)
                else:
                    fn = runner.headless_run if way == "headless" else runner.dashboard_run
                    m = fn(args.data_dir, 1, Path(tmp) / f"{name}-{r}", flags)
                    seconds[name].append(m.epochs[0])
                    cpu[name].append(m.epochs_cpu[0])

    med = {name: statistics.median(s) for name, s in seconds.items()}
    print(f"one epoch of {len(ds):,} digits from {args.data_dir}, medians of {args.rounds} "
          f"alternating rounds; in-process loops with {torch.get_num_threads()} threads")
    cpu_med = {name: statistics.median(c) for name, c in cpu.items()}
    print(f"{'way':<10} {'s/epoch':>8} {'vs tutorial':>12} {'vs headless':>12} {'CPU s':>6} "
          f"{'CPU vs headless':>16}   rounds")
    for name, m in med.items():
        vs_head = f"{m / med['headless']:.2f}x" if "headless" in med else "-"
        cpu_vs = f"{cpu_med[name] / cpu_med['headless']:.2f}x" if cpu_med.get("headless") else "-"
        rounds = ", ".join(f"{s:.2f}" for s in seconds[name])
        print(f"{name:<10} {m:>8.2f} {m / med['tutorial']:>11.2f}x {vs_head:>12} "
              f"{cpu_med[name]:>6.2f} {cpu_vs:>16}   {rounds}")
    print("(x: time relative to that row's baseline; below 1.00x is faster. CPU s: the CPU "
          "seconds the training process used in the epoch, all its threads; on a busy machine "
          "the CPU columns move less than the wall ones)")
    print(f"load average {os.getloadavg()[0]:.1f} at the end, on {runner.cpu_count()} cores")


if __name__ == "__main__":
    main()
