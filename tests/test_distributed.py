"""eigennet.distributed: data-parallel training over MPI, run under `mpiexec -n 2` in
subprocesses (each with a timeout, so a deadlock fails the test instead of hanging it)."""

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

SCRIPTS = Path(__file__).parent / "mpi_scripts"
MPIEXEC = shutil.which("mpiexec")
HAVE_MPI = MPIEXEC is not None and importlib.util.find_spec("mpi4py") is not None
needs_mpi = pytest.mark.skipif(not HAVE_MPI, reason="needs mpi4py and mpiexec (the mpi extra)")
TIMEOUT = 240  # seconds; a run takes a few on an idle machine


def _run(cmd, env=None, timeout=TIMEOUT):
    """Runs cmd in its own process group; on timeout kills the whole group and fails."""
    full_env = {**os.environ, **(env or {})}
    full_env = {k: v for k, v in full_env.items() if v is not None}  # None: unset
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{' '.join(map(str, cmd))} did not end within {timeout} s:\n{err[-3000:]}")
    return proc.returncode, out, err


def mpirun(script, tmp_path, *args, ranks=2, env=None, check=True):
    cmd = [MPIEXEC, "-n", str(ranks), sys.executable, str(SCRIPTS / script), str(tmp_path)]
    code, out, err = _run([*cmd, *args], env=env)
    if check and code != 0:
        pytest.fail(f"{script} failed (exit {code}):\n{out[-2000:]}\n{err[-4000:]}")
    return code, out, err


def load(tmp_path, name, rank):
    npz = tmp_path / f"{name}.rank{rank}.npz"
    if npz.exists():
        return dict(np.load(npz))
    return json.loads((tmp_path / f"{name}.rank{rank}.json").read_text())


def weights(result):
    return [result[k] for k in sorted(k for k in result if k.startswith("w"))]


@pytest.fixture(scope="module")
def union_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("union")
    mpirun("train_union.py", out)
    return out


@needs_mpi
@pytest.mark.parametrize("floatx", ["float32", "float64"])
@pytest.mark.parametrize("case", ["sgd", "adam", "sgd_clip", "adam_scaled"])
def test_ranks_hold_bit_identical_weights(union_run, case, floatx):
    r0, r1 = load(union_run, f"{case}_{floatx}", 0), load(union_run, f"{case}_{floatx}", 1)
    for a, b in zip(weights(r0), weights(r1)):
        np.testing.assert_array_equal(a, b)
    # one allreduce per step: 3 epochs of 48 rows in batches of 8
    assert int(r0["steps"]) == int(r1["steps"]) == 18
    np.testing.assert_array_equal(r0["loss"], r1["loss"])  # MetricAverage


@needs_mpi
@pytest.mark.parametrize("floatx", ["float32", "float64"])
@pytest.mark.parametrize("case", ["sgd", "adam", "sgd_clip", "adam_scaled"])
def test_two_ranks_equal_one_process_on_the_union_of_batches(union_run, case, floatx):
    ranks = load(union_run, f"{case}_{floatx}", 0)
    single = load(union_run, f"{case}_{floatx}_single", 0)
    tol = {"float32": 2e-5, "float64": 1e-12}[floatx]
    for a, b in zip(weights(ranks), weights(single)):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    # averaged epoch losses equal the single process's (equal shards)
    np.testing.assert_allclose(ranks["loss"], single["loss"], rtol=tol * 10)


@needs_mpi
def test_shuffled_dropout_run_keeps_ranks_identical(union_run):
    r0, r1 = load(union_run, "shuffled", 0), load(union_run, "shuffled", 1)
    for a, b in zip(weights(r0), weights(r1)):
        np.testing.assert_array_equal(a, b)


@needs_mpi
def test_loss_scaled_mixed_float16_run_averages_every_step(union_run):
    r0, r1 = load(union_run, "mixed_float16", 0), load(union_run, "mixed_float16", 1)
    for a, b in zip(weights(r0), weights(r1)):
        np.testing.assert_array_equal(a, b)
    assert int(r0["steps"]) == int(r1["steps"]) == 18  # 3 epochs of 48 rows in batches of 8
    assert float(r0["scale"]) == float(r1["scale"]) == 32768.0


@needs_mpi
def test_broadcast_initial_state(tmp_path):
    mpirun("broadcast.py", tmp_path)
    begin = [load(tmp_path, "broadcast_begin", r) for r in (0, 1)]
    assert begin[0] == begin[1]  # weights, learning rate, iterations, Adam moments
    assert begin[0]["iterations"] == 6 and begin[0]["learning_rate"] == pytest.approx(0.01)
    assert begin[0]["moments"] > 0
    b0, b1 = weights(load(tmp_path, "broadcast", 0)), weights(load(tmp_path, "broadcast", 1))
    for a, b in zip(b0, b1):
        np.testing.assert_array_equal(a, b)
    # the control: differently initialised ranks without the broadcast stay different
    c0, c1 = weights(load(tmp_path, "control", 0)), weights(load(tmp_path, "control", 1))
    assert not np.array_equal(c0[0], c1[0])
    for a, b in zip(weights(load(tmp_path, "direct", 0)), weights(load(tmp_path, "direct", 1))):
        np.testing.assert_array_equal(a, b)
    for r in (0, 1):  # SGD(1.0).apply of the mean gradient (1 + 2) / 2
        np.testing.assert_array_equal(load(tmp_path, "apply", r)["variable"], [-1.5] * 3)


@needs_mpi
def test_stop_decisions_are_collective(tmp_path):
    mpirun("stopping.py", tmp_path)
    r0, r1 = load(tmp_path, "stopping", 0), load(tmp_path, "stopping", 1)
    # rank 1 alone stopped at the end of epoch 1: both ran 2 epochs of 8 steps
    assert r0["epoch_stop_epochs"] == r1["epoch_stop_epochs"] == 2
    assert r0["epoch_stop_steps"] == r1["epoch_stop_steps"] == 16
    # rank 1 alone stopped after batch 2: both ran 3 steps and hold the same weights
    assert r0["batch_stop_epochs"] == r1["batch_stop_epochs"] == 1
    assert r0["batch_stop_steps"] == r1["batch_stop_steps"] == 3
    assert r0["batch_stop_weights"] == r1["batch_stop_weights"]
    # EarlyStopping on averaged logs: same epoch, same logs, and it did stop early
    assert r0["early_stopped_epoch"] == r1["early_stopped_epoch"] > 0
    assert r0["early_loss"] == r1["early_loss"]
    assert r0["early_epochs"] < 30
    assert r0["verbose_rank0_steps"] == r1["verbose_rank0_steps"] == 16
    assert r0["verbose_rank0_weights"] == r1["verbose_rank0_weights"]
    for r in (r0, r1):
        assert "steps per epoch by rank: [10, 9]" in r["uneven_error"]
        assert "drop_remainder=True" in r["uneven_error"]
        assert "(initial_epoch, epochs) by rank: [(0, 2), (0, 3)]" in r["epochs_error"]


@needs_mpi
def test_only_rank_0_writes(tmp_path):
    mpirun("writes.py", tmp_path)
    out0 = (tmp_path / "stdout.rank0.txt").read_text()
    out1 = (tmp_path / "stdout.rank1.txt").read_text()
    assert "Epoch 1/2" in out0 and "step" in out0 and "early stopping" in out0
    assert out1 == ""
    rows = (tmp_path / "log.rank0.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,") and len(rows) == 3  # header + epochs 0 and 1
    assert not (tmp_path / "log.rank1.csv").exists()
    assert "saving model to" in out0
    w0, w1 = load(tmp_path, "writes", 0), load(tmp_path, "writes", 1)
    assert (w0["primary"], w0["public"], w1["primary"], w1["public"]) == (True, True, False, False)
    # ModelCheckpoint, save, save_weights and BackupAndRestore: rank 0 only
    assert sorted(p.name for p in (tmp_path / "ckpt.rank0").iterdir()) == [
        "model-1.keras",
        "model-2.keras",
    ]
    assert (tmp_path / "model.rank0.keras").exists()
    assert (tmp_path / "model.rank0.weights.npz").exists()
    assert (tmp_path / "backup.rank0").exists()
    for name in ("ckpt.rank1", "model.rank1.keras", "model.rank1.weights.npz", "backup.rank1"):
        assert not (tmp_path / name).exists(), name
    # ... and both ranks resumed from rank 0's backup at epoch 2
    assert w0["resumed_epochs"] == w1["resumed_epochs"] == [2, 3]
    assert w0["weights"] == w1["weights"]


@needs_mpi
def test_rank_size_shard_and_threads(tmp_path):
    mpirun("api.py", tmp_path, env={"OMP_NUM_THREADS": None})
    r0, r1 = load(tmp_path, "api", 0), load(tmp_path, "api", 1)
    assert (r0["rank"], r1["rank"], r0["size"], r1["size"]) == (0, 1, 2, 2)
    assert r0["primary"] and not r1["primary"]
    assert r0["shard_rows"] == [0, 3, 6, 9, 12] and r1["shard_rows"] == [15, 18, 21, 24, 27]
    assert r0["shard_is_view"] and r1["shard_is_view"]
    assert r0["memmap_rows"] == [0, 2, 4, 6, 8] and r1["memmap_rows"] == [10, 12, 14, 16, 18, 20]
    assert r0["memmap_is_memmap"] and r1["memmap_is_memmap"] and r1["memmap_is_view"]
    assert r0["dropped_rows"] == [0, 2, 4, 6, 8] and r1["dropped_rows"] == [10, 12, 14, 16, 18]
    assert "Cannot shard 1 samples over 2 ranks" in r0["too_few"]
    # each rank takes its share of the node's cores
    cores = os.cpu_count()
    expected = max(1, min(len(os.sched_getaffinity(0)), cores // 2))
    assert r0["threads"] == r1["threads"] == expected


@needs_mpi
@pytest.mark.parametrize(
    ("env", "args", "threads"),
    [({"OMP_NUM_THREADS": "3"}, (), 3), ({"OMP_NUM_THREADS": None}, ("--user-threads",), 2)],
)
def test_user_thread_settings_win(tmp_path, env, args, threads):
    mpirun("api.py", tmp_path, *args, env=env)
    assert load(tmp_path, "api", 0)["threads"] == load(tmp_path, "api", 1)["threads"] == threads


@needs_mpi
def test_a_failing_rank_ends_the_job_instead_of_hanging(tmp_path):
    start = time.monotonic()
    code, _, err = mpirun("crash.py", tmp_path, check=False)
    assert code != 0
    assert "rank 1 failed on purpose" in err
    assert time.monotonic() - start < TIMEOUT


@needs_mpi
def test_single_process_without_mpiexec(tmp_path):
    code = """
import numpy as np, eigennet as keras, eigennet.distributed as dist
dist.init()
assert (dist.rank(), dist.size(), dist.is_primary()) == (0, 1, True)
opt = dist.DistributedOptimizer(keras.optimizers.Adam(0.01))
assert isinstance(opt, keras.optimizers.Adam) and type(opt).__name__ == "Adam"
keras.utils.set_random_seed(1)
x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
m = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2)])
m.compile(optimizer=opt, loss="mse")
callbacks = [dist.MetricAverage(), dist.BroadcastInitialState()]
m.fit(x, x[:, :2], epochs=2, verbose=0, callbacks=callbacks)
assert opt.iterations == 2 and dist.shard(x) is not None and len(dist.shard(x)) == 32
print("ok")
"""
    rc, out, err = _run([sys.executable, "-c", code])
    assert rc == 0, err
    assert out.strip() == "ok"


def test_import_without_mpi4py_is_clear(tmp_path):
    code = f"""
import sys
sys.modules["mpi4py"] = None  # as if mpi4py were not installed
import eigennet as keras
assert "mpi4py" not in [m for m in sys.modules if sys.modules[m] is not None]
import numpy as np
# the rank-0-only writers work without MPI
m = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
m.compile(optimizer="sgd", loss="mse")
path = {str(tmp_path / "log.csv")!r}
callbacks = [keras.callbacks.CSVLogger(path)]
m.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=callbacks)
assert len(open(path).read().splitlines()) == 3
try:
    import eigennet.distributed
except ImportError as error:
    print(error)
else:
    raise SystemExit("no ImportError")
try:
    keras.distributed
except ImportError:
    print("attribute too")
"""
    rc, out, err = _run([sys.executable, "-c", code])
    assert rc == 0, err
    assert 'pip install "eigennet[mpi]"' in out
    assert "attribute too" in out


def test_importing_eigennet_does_not_import_mpi4py():
    code = "import sys, eigennet; print('mpi4py' in sys.modules)"
    rc, out, err = _run([sys.executable, "-c", code])
    assert rc == 0, err
    assert out.strip() == "False"


@needs_mpi
def test_digits_example_trains_data_parallel(tmp_path):
    pytest.importorskip("sklearn")
    example = Path(__file__).resolve().parents[1] / "examples" / "digits_distributed.py"
    code, out, err = _run([MPIEXEC, "-n", "2", sys.executable, str(example), "--epochs", "20"])
    assert code == 0, f"{out[-2000:]}\n{err[-3000:]}"
    assert out.count("test accuracy") == 1 and out.count("Epoch 1/20") == 1  # rank 0 only
    assert "ranks: 2" in out


@needs_mpi
def test_train_large_example_streams_shards_data_parallel(tmp_path):
    example = Path(__file__).resolve().parents[1] / "examples" / "train_large.py"
    args = ["--distributed", "--gb", "0.01", "--epochs", "3", "--dir", str(tmp_path / "data")]
    code, out, err = _run([MPIEXEC, "-n", "2", sys.executable, str(example), *args])
    assert code == 0, f"{out[-2000:]}\n{err[-3000:]}"
    assert out.count("Writing") == 1 and out.count("Training on") == 1  # rank 0 only
    assert out.count("of x) per process") == 1 and out.count("Epoch 1/3") == 1
    assert float(re.search(r"^val_accuracy: ([0-9.]+)$", out, re.M).group(1)) > 0.3


@needs_mpi
def test_readme_distributed_block_under_mpiexec(tmp_path):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", readme, re.M | re.S)
    (block,) = [b for b in blocks if "eigennet.distributed" in b]
    script = tmp_path / "train.py"
    script.write_text(block)
    code, out, err = _run([MPIEXEC, "-n", "2", sys.executable, str(script)])
    assert code == 0, f"{out[-2000:]}\n{err[-3000:]}"
    assert out.count("Epoch 1/5") == 1  # the progress bar of rank 0 only
    assert len(re.findall(r"^\[[-0-9.e, ]+\]$", out, re.M)) == 1  # evaluate printed once


@needs_mpi
def test_streamed_shards_train_like_shards_in_memory(tmp_path):
    """Memmap shards, PyDatasets and generators on 2 ranks: the same weights on both ranks,
    and (unshuffled) bit for bit those of the same shards in memory."""
    mpirun("stream_shards.py", tmp_path)
    memory = load(tmp_path, "memory", 0)
    for name in ("memory", "memmap", "pydataset", "generator", "shuffled"):
        r0, r1 = load(tmp_path, name, 0), load(tmp_path, name, 1)
        for a, b in zip(weights(r0), weights(r1), strict=True):
            np.testing.assert_array_equal(a, b)
        if name != "shuffled":
            for a, b in zip(weights(r0), weights(memory), strict=True):
                np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(r0["loss"], memory["loss"])
    assert not np.array_equal(weights(load(tmp_path, "shuffled", 0))[0], weights(memory)[0])
