"""--model cnn: pytorch/examples' mnist network, its optimizer and schedule, resume,
checkpoints, the statistics and a digit traced."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core import checkpoint
from core.config import Hyperparameters
from core.datasets import load
from core.events import BatchEnd, EpochEnd, LayerStats
from core.metrics import event_for, row_for
from core.inspect import first_layer_weights, trace_test_digit
from core.network import ConvNet, build_model, current_lr, parameter_count
from core.training import Run
from tests.helpers import write_split

CNN = Hyperparameters.defaults("cnn")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_split(tmp_path_factory.mktemp("cnn"), 320, 100)


@pytest.fixture(scope="module")
def data(folder):
    return load("mnist", folder, allow_download=False)


def cli(capsys, *args) -> tuple[int, str, str]:
    """``mnist-tui --headless --no-plot ARGS`` in this process: (exit code, out, err)."""
    from tui.cli import main

    capsys.readouterr()
    code = main(["--headless", "--no-plot", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def cnn_run(data, **changes) -> Run:
    return Run(CNN.with_changes(**{"epochs": 2, **changes}), data.train, data.test)


class ExamplesNet(nn.Module):
    """pytorch/examples mnist/main.py's Net, as written there."""

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
        x = torch.flatten(self.dropout1(x), 1)
        x = self.dropout2(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


def test_the_network_is_the_examples(data):
    ours = build_model(CNN)
    assert isinstance(ours, ConvNet) and parameter_count(ours) == 1_199_882
    theirs = ExamplesNet()
    theirs.load_state_dict({k.removeprefix("layers."): v for k, v in ours.state_dict().items()})
    ours.eval(), theirs.eval()
    x, _ = data.test.batch(torch.arange(8))  # flat 784 rows in 0..1, as the dataset gives
    examples_input = ((x - 0.1307) / 0.3081).reshape(8, 1, 28, 28)  # ToTensor + Normalize
    assert torch.allclose(F.log_softmax(ours(x), dim=1), theirs(examples_input), atol=1e-5)


def test_cnn_settings_are_the_examples_unless_flags_say_otherwise(folder, tmp_path, capsys):
    code, out, err = cli(capsys, "--model", "cnn", "--lr", "0.5", "--epochs", "1", "--data-dir", folder,
                         "--limit-train", "64", "--run-dir", tmp_path / "r")
    assert code == 0, err
    hp = json.loads((tmp_path / "r" / "config.json").read_text())["hparams"]
    assert (hp["model"], hp["optimizer"], hp["lr"], hp["lr_step_gamma"], hp["batch_size"]) == \
        ("cnn", "adadelta", 0.5, 0.7, 64)
    assert "Test set: Avg. loss:" in out and "Max Accuracy is:" in out


def test_the_learning_rate_steps_down_after_each_epoch(data):
    run = cnn_run(data, epochs=3)
    seen = []
    for ev in run.events():
        if isinstance(ev, EpochEnd):
            seen.append(current_lr(run.optimizer))
    assert seen == pytest.approx([0.7, 0.49, 0.343])
    assert isinstance(run.optimizer, torch.optim.Adadelta)


def test_gamma_is_edited_live_and_used_at_the_end_of_the_epoch(data):
    run = cnn_run(data)
    for ev in run.events():
        if isinstance(ev, BatchEnd) and ev.epoch == 1 and ev.batch == 1:
            [changed] = run.apply(lr_step_gamma=0.5)
            assert changed.applied and run.scheduler.gamma == 0.5
            assert current_lr(run.optimizer) == 1.0  # the rate itself changes at the epoch's end
        if isinstance(ev, EpochEnd):
            assert current_lr(run.optimizer) == 0.5
            run.apply(momentum=0.8)  # Adadelta's rho: the decayed rate stays
            group = run.optimizer.param_groups[0]
            assert (group["lr"], group["rho"]) == (0.5, 0.8)
            break


def test_resume_mid_epoch_equals_uninterrupted(data, tmp_path):
    """Dropout draws from torch's generator and the schedule steps each epoch: both are
    in the checkpoint (written, read back and checked as a resume does)."""
    whole = cnn_run(data)
    list(whole.events())
    first = cnn_run(data)
    for ev in first.events():
        if isinstance(ev, BatchEnd) and ev.epoch == 2 and ev.batch == 2:
            state = first.state_dict()
            break
    checkpoint.save(state, tmp_path / "c.pt")
    state = checkpoint.load(tmp_path / "c.pt")
    checkpoint.check(state, tmp_path / "c.pt", n_train=len(data.train))
    assert state["scheduler"]["last_epoch"] == 1
    torch.manual_seed(1234)  # whatever the generator holds now: the checkpoint's is restored
    resumed = Run(Hyperparameters.from_dict(state["hparams"]), data.train, data.test)
    resumed.load_state_dict(state)
    list(resumed.events())
    assert resumed.history.train_loss == whole.history.train_loss
    assert resumed.history.test_loss == whole.history.test_loss
    assert current_lr(resumed.optimizer) == current_lr(whole.optimizer)


def test_a_checkpoint_of_one_model_is_refused_for_the_other(data, tmp_path):
    state = cnn_run(data).state_dict()
    state["hparams"] = Hyperparameters().to_dict()  # the MLP's, with the CNN's weights
    with pytest.raises(checkpoint.CheckpointError, match="does not hold the weights of a 784-100"):
        checkpoint.check(state, tmp_path / "c.pt")


def test_resume_refuses_the_other_model_in_one_line(folder, tmp_path, capsys):
    code, _, err = cli(capsys, "--model", "cnn", "--epochs", "1", "--data-dir", folder, "--limit-train",
                       "64", "--run-dir", tmp_path / "r")
    assert code == 0, err
    code, _, err = cli(capsys, "--resume", tmp_path / "r", "--model", "mlp")
    assert code == 2 and err.count("\n") == 1
    assert "--model: a resumed run keeps it" in err


def test_statistics_for_conv_and_linear_layers_and_training_unchanged_by_them(data):
    on = cnn_run(data, epochs=1)
    stats = [ev for ev in on.events() if isinstance(ev, LayerStats)]
    off = cnn_run(data, epochs=1)  # (built after: dropout draws from torch's one generator)
    off.layer_stats = False
    list(off.events())
    assert on.history.train_loss == off.history.train_loss  # dropout's draws untouched
    last = stats[-1]
    assert [(s.name, s.shape) for s in last.layers] == [
        ("layers.conv1", (32, 9)), ("layers.conv2", (64, 288)), ("layers.fc1", (128, 9216)),
        ("layers.fc2", (10, 128))]
    trained = next(s for s in stats if not s.after_test)
    assert all(s.grad_norm > 0 and s.update_ratio > 0 for s in trained.layers)
    assert all(0 <= s.saturated <= 1 for s in trained.layers[:3]) and last.activation == "relu"
    assert last.after_test and last.first_shape == (32, 9)
    assert event_for(json.loads(json.dumps(row_for(last))), "relu").layers == last.layers


def test_first_filters_and_feature_maps_of_one_digit(data):
    run = cnn_run(data, epochs=1)
    w = first_layer_weights(run.model)
    assert w.shape == (32, 9)
    assert (w.reshape(32, 3, 3) == run.model.layers.conv1.weight.detach().numpy()[:, 0]).all()
    tr = trace_test_digit(run.model, run.test_data, 3)
    assert tr.names == ("layers.conv1", "layers.conv2", "layers.fc1")
    assert tr.shapes == ((32, 26, 26), (64, 24, 24), (128,))
    assert [len(a) for a in tr.activations] == [32 * 26 * 26, 64 * 24 * 24, 128]
    assert min(tr.activations[0]) >= 0 and abs(sum(tr.probs) - 1) < 1e-5
    assert tr.label == int(data.test.labels[3])


def test_draw_and_watch_read_a_cnn_run(folder, tmp_path, capsys):
    """`mnist-tui draw --checkpoint` rebuilds the CNN from its checkpoint and answers a
    drawing; `watch` reads its layers rows as relu layers."""
    from core.config import hidden_activation
    from core.training import image_probabilities
    from tui.draw.app import load_model
    from tui.engine.watch import _Translator

    run_dir = tmp_path / "r"
    code, _, err = cli(capsys, "--model", "cnn", "--epochs", "1", "--data-dir", folder, "--run-dir", run_dir)
    assert code == 0, err
    model, epoch, _ = load_model(run_dir / "checkpoint-last.pt")
    assert isinstance(model, ConvNet) and epoch == 1
    image = load("mnist", folder, allow_download=False).test.images[0].numpy().tobytes()
    probs = image_probabilities(model, image)
    assert len(probs) == 10 and abs(sum(probs) - 1) < 1e-5
    config = json.loads((run_dir / "config.json").read_text())
    assert _Translator(run_dir, config).activation == "relu"
    assert hidden_activation("mlp", "tanh") == "tanh"
