"""Benchmark of the dataset validator on a realistic ~300 MB training file.

Generates the file once with a fixed seed into bench/data/ (git-ignored; reused when
present) and reads it once to warm the page cache. Then, in one run:

- processes as a user starts them: the whole `python -m tuning_provider validate FILE --json`
  (one worker per CPU by default, and with `--workers 1`) against the reference, a fresh
  process that only decodes each line with msgspec (no checks at all); wall time and CPU time
  (user+sys of the process tree) side by side, best of `--repeat`, taken in turns so that
  other work on the machine weighs on all alike. Judged on wall time, what a user waits:
  first with bytecode caches as a user's Python writes them, then as this environment runs
  (PYTHONDONTWRITEBYTECODE=1: the package compiled at every start);
- where the wall time goes: the interpreter's start, `import msgspec`, `validate` of a
  one-line file (start, imports, report), the scan; a pool at its threshold (a file of two
  workers' minimum share, in one process and in two);
- memory: the peak RSS of the largest process, on the file and on `--stream-copies` copies
  of it streamed through a pipe (`validate /dev/stdin`), which no split and no page cache
  helps: it stays flat whatever the size;
- in-process (`--in-process`): `validate_dataset` with one and two workers and a plain
  `json.loads` of every line, each in a fresh child process.

The data: 45% single questions and answers, 40% multi-turn chats (2 to 6 exchanges), 12%
long documents to summarise (6 to 40 KB), 3% multimodal (a gs:// image or PDF); 60% with a
system instruction; 4% of examples in French, 2% in Japanese, and by default 2% of English
sentences with a non-ASCII word (accents, CJK, emoji), which makes about half the lines
non-ASCII. `--unicode-share 1.0` makes every line non-ASCII, the parser's worst case
(non-ASCII strings cost msgspec about twice as much as ASCII ones).

    .venv/bin/python bench/bench_dataset.py [--megabytes 300] [--repeat 3] [--unicode-share 0.02]
        [--stream-copies 4] [--in-process]
"""

from __future__ import annotations

import argparse
import compileall
import json
import multiprocessing
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import msgspec

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tuning_provider.dataset import Reading, validate_dataset  # noqa: E402

DATA_DIR = Path(__file__).resolve().parent / "data"
SEED = 20261124
PYTHON = REPO / ".venv" / "bin" / "python"
# Issue 29: the validate process at least as fast as the reference, in wall time.
TARGET = 1.0
# The reference: what a process that only decodes each line costs, with no check at all.
REFERENCE = (
    "import msgspec, sys\ndecode = msgspec.json.Decoder().decode\n"
    "with open(sys.argv[1], 'rb') as f:\n    for line in f: decode(line)\n"
)

_WORDS = (
    "the model answer question customer order invoice refund policy shipping account "
    "password reset summary report quarterly revenue growth forecast risk compliance audit "
    "patient dosage symptom diagnosis contract clause liability warranty termination notice "
    "function variable return error exception request response latency throughput cache "
    "please thanks could would should because however therefore although meanwhile "
    "a an of to in on for with by from about as at into over after before under between"
).split()
# Non-ASCII text in a mostly English dataset: names with accents, symbols, emoji, the odd
# foreign word; and some examples wholly in French or Japanese.
_UNICODE_WORDS = (
    "café naïve résumé Straße façade über años déjà-vu Zoë São-Paulo "
    "東京 数据 모델 заказ مرحبا שלום 😀 🚀 ✓ → € £ — “quoted”"
).split()
_FRENCH_WORDS = (
    "le la les modèle réponse question client commande facture remboursement politique "
    "livraison compte résumé rapport trimestriel croissance prévision risque conformité "
    "été très où déjà à ça être après avant pendant parce que donc cependant"
).split()
_JAPANESE_WORDS = (
    "モデル 回答 質問 顧客 注文 請求書 返金 方針 配送 アカウント 要約 報告 四半期 "
    "収益 成長 予測 リスク は が を に で と の です ます"
).split()
_SYSTEM_PROMPTS = [
    "You are a helpful customer support assistant for an online store. Answer briefly.",
    "You are a careful medical scribe. Summarise the visit notes in plain language.",
    "You are a senior Python reviewer. Point out bugs and suggest fixes with code.",
    "Tu es un assistant juridique. Réponds en français, avec précision.",
    "Classify the sentiment of the message as positive, negative or neutral.",
]


def _sentence(rng: random.Random, vocabulary: list[str], unicode_share: float, joiner: str = " ") -> str:
    words = rng.choices(vocabulary, k=rng.randint(6, 22))
    if rng.random() < unicode_share:
        words[rng.randrange(len(words))] = rng.choice(_UNICODE_WORDS)
    sentence = joiner.join(words)
    return sentence[0].upper() + sentence[1:] + rng.choice((".", ".", "?", "!"))


def _text(rng: random.Random, pool: list[str], chars: int) -> str:
    """About `chars` characters of prose, with paragraphs, quotes and the odd code line."""
    out: list[str] = []
    size = 0
    while size < chars:
        piece = rng.choice(pool)
        roll = rng.random()
        if roll < 0.08:
            piece += "\n\n"
        elif roll < 0.10:
            piece = f'He said "{piece}"'
        elif roll < 0.11:
            piece = "\n```python\nif x > 0:\n\treturn f(x)\n```\n"
        out.append(piece)
        size += len(piece) + 1
    return " ".join(out)


def _example(rng: random.Random, pools: dict[str, list[str]]) -> dict:
    language = rng.random()
    pool = pools["fr"] if language < 0.04 else pools["ja"] if language < 0.06 else pools["en"]
    kind = rng.random()
    if kind < 0.45:  # single question and answer
        turns = [_text(rng, pool, rng.randint(80, 900)), _text(rng, pool, rng.randint(200, 2500))]
    elif kind < 0.85:  # multi-turn chat
        turns = [_text(rng, pool, rng.randint(40, 700)) for _ in range(2 * rng.randint(2, 6))]
    elif kind < 0.97:  # long document to summarise
        turns = [_text(rng, pool, rng.randint(6_000, 40_000)), _text(rng, pool, rng.randint(400, 1800))]
    else:  # multimodal: an image or a PDF in Cloud Storage, then the answer
        turns = ["", _text(rng, pool, rng.randint(100, 600))]
    contents = []
    for index, text in enumerate(turns):
        role = "user" if index % 2 == 0 else "model"
        parts: list[dict] = [{"text": text}] if text else []
        if not text:
            mime, ext = rng.choice((("image/jpeg", "jpg"), ("image/png", "png"), ("application/pdf", "pdf")))
            uri = f"gs://bench-bucket/media/{rng.getrandbits(48):012x}.{ext}"
            parts = [
                {"fileData": {"mimeType": mime, "fileUri": uri}},
                {"text": "Describe what this file shows."},
            ]
        contents.append({"role": role, "parts": parts})
    example: dict = {"contents": contents}
    if rng.random() < 0.6:
        instruction = {"role": "system", "parts": [{"text": rng.choice(_SYSTEM_PROMPTS)}]}
        example = {"systemInstruction": instruction, **example}
    return example


def generate(path: Path, megabytes: int, unicode_share: float) -> None:
    """Write a deterministic JSONL training set of about `megabytes` MB to `path`; a share
    `unicode_share` of English sentences has a non-ASCII word."""
    rng = random.Random(SEED)
    pools = {
        "en": [_sentence(rng, _WORDS, unicode_share) for _ in range(20_000)],
        "fr": [_sentence(rng, _FRENCH_WORDS, 0.0) for _ in range(2_000)],
        "ja": [_sentence(rng, _JAPANESE_WORDS, 0.0, joiner="") for _ in range(2_000)],
    }
    target = megabytes * 1_000_000
    written = 0
    encoder = msgspec.json.Encoder()
    tmp = path.with_suffix(".part")
    with open(tmp, "wb") as out:
        batch: list[bytes] = []
        while written < target:
            line = encoder.encode(_example(rng, pools)) + b"\n"
            batch.append(line)
            written += len(line)
            if len(batch) >= 2_000:
                out.write(b"".join(batch))
                batch.clear()
        out.write(b"".join(batch))
    tmp.rename(path)


def _warm(path: Path) -> float:
    """Read the file once (into the page cache); returns the share of non-ASCII lines."""
    lines = non_ascii = 0
    with open(path, "rb") as f:
        for line in f:
            lines += 1
            non_ascii += not line.isascii()
    return non_ascii / max(lines, 1)


def _measure_validator(path: str, workers: int, queue: multiprocessing.Queue) -> None:
    before = _peak_rss_mib()
    start = time.perf_counter()
    report = validate_dataset(path, workers=workers)
    elapsed = time.perf_counter() - start
    queue.put((elapsed, report.lines, report.error_count, before, _peak_rss_mib(), report.estimated_tokens))


def _measure_json_loads(path: str, workers: int, queue: multiprocessing.Queue) -> None:
    before = _peak_rss_mib()
    start = time.perf_counter()
    lines = 0
    with open(path, "rb") as f:
        for line in f:
            json.loads(line)
            lines += 1
    elapsed = time.perf_counter() - start
    queue.put((elapsed, lines, 0, before, _peak_rss_mib(), 0))


def _peak_rss_mib() -> float:
    """Peak RSS of this process or of any of its worker processes, in MiB.

    getrusage's ru_maxrss (KiB on Linux) is kept across exec, so a spawned process would
    report its parent's peak as its own: for this process VmHWM (reset by exec) is used, and
    getrusage(RUSAGE_CHILDREN) for the validator's worker processes."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        with open("/proc/self/status") as status:
            own = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        pass
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def _run(target: Callable[..., None], path: Path, workers: int) -> tuple[float, int, int, float, float, int]:
    context = multiprocessing.get_context("spawn")  # a fresh process: its own peak RSS
    queue = context.Queue()
    process = context.Process(target=target, args=(str(path), workers, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


class Measured(NamedTuple):
    """One command: wall seconds, CPU seconds (user+sys of its process tree), and the peak RSS
    of its largest process in MiB."""

    wall: float
    cpu: float
    peak_mib: float


# Runs a command and prints its wall time, CPU time and peak RSS. A child's peak RSS counts
# the memory of the process it was forked from, so the command is started from this small
# process rather than from the benchmark, which holds much more.
_MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
wall = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps([code, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024]))
"""


def _measure(argv: list[str], env: dict[str, str]) -> Measured:
    """Run a command to its end: its wall time, the CPU time of its process tree (its
    workers included) and the peak RSS of its largest process."""
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: nothing can block on it
        run = subprocess.run([sys.executable, "-c", _MEASURE, *argv], cwd=REPO, env=env, stdout=subprocess.PIPE,
                             stderr=errors, check=True)
        code, wall, cpu, peak_mib = json.loads(run.stdout)
        if code not in (0, 1):  # 1: the data has errors, which the figures still count
            errors.seek(0)
            raise SystemExit(f"{' '.join(argv)} failed:\n{errors.read().decode()}")
    return Measured(wall, cpu, peak_mib)


def _best_of(commands: dict[str, list[str]], env: dict[str, str], repeat: int) -> dict[str, Measured]:
    """Each command `repeat` times, in turns; the least wall and CPU time of each (other work on
    the machine only ever slows a run down), and its highest peak RSS (at least the ~10 MiB
    of the measuring process it was forked from)."""
    runs: dict[str, list[Measured]] = {label: [] for label in commands}
    for _ in range(repeat):
        for label, argv in commands.items():
            runs[label].append(_measure(argv, env))
    return {
        label: Measured(min(r.wall for r in measured), min(r.cpu for r in measured), max(r.peak_mib for r in measured))
        for label, measured in runs.items()
    }


def _validate(*args: str) -> list[str]:
    return [str(PYTHON), "-m", "tuning_provider", "validate", *args]


def _show(label: str, measured: Measured, size: int | None = None, against: Measured | None = None) -> None:
    speed = f"{size / 1e6 / measured.wall:>7,.0f} MB/s" if size else " " * 12
    ratio = (f"{against.wall / measured.wall:>6.2f}x wall {against.cpu / measured.cpu:>5.2f}x CPU" if against
             else " " * 23)
    print(f"  {label:<54}{measured.wall:>7.3f} s  CPU {measured.cpu:>6.3f} s {speed}  {ratio}"
          f"  peak {measured.peak_mib:>5.0f} MiB", flush=True)


def compare_processes(path: Path, repeat: int, env: dict[str, str]) -> tuple[Measured, Measured]:
    """The reference and `validate --json` processes on `path` (best of `repeat`, in turns),
    printed; returns (reference, validate)."""
    size = path.stat().st_size
    best = _best_of({
        "reference": [str(PYTHON), "-c", REFERENCE, str(path)],
        "validate": _validate(str(path), "--json"),
        "validate --workers 1": _validate(str(path), "--json", "--workers", "1"),
    }, env, repeat)
    reference = best["reference"]
    _show("reference: msgspec decode of every line", reference, size)
    _show(f"validate --json ({_cpus()} CPUs: default workers)", best["validate"], size, reference)
    _show("validate --json --workers 1", best["validate --workers 1"], size, reference)
    return reference, best["validate"]


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _user_env() -> dict[str, str]:
    """A user's Python: bytecode caches written once and reused (the package compiled first)."""
    compileall.compile_dir(REPO / "tuning_provider", quiet=1)
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _no_bytecode_env() -> dict[str, str]:
    """This environment's Python: PYTHONDONTWRITEBYTECODE=1 and no cache of the package, so
    every start compiles it (site-packages and the standard library keep theirs)."""
    for cache in (REPO / "tuning_provider").rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)  # git-ignored; written again by _user_env
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}


def _where_wall_time_goes(path: Path, repeat: int, env: dict[str, str], scratch: Path) -> None:
    """The fixed costs of a process, and a pool at its threshold."""
    tiny = scratch / "one-line.jsonl"
    with open(path, "rb") as data:
        tiny.write_bytes(data.readline())
    share = Reading().min_bytes_per_worker
    threshold = scratch / "two-shares.jsonl"
    _head(path, threshold, 2 * share)
    best = _best_of({
        "start": [str(PYTHON), "-c", "pass"],
        "msgspec": [str(PYTHON), "-c", "import msgspec"],
        "tiny": _validate(str(tiny), "--json"),
        "one": _validate(str(threshold), "--json", "--workers", "1"),
        "two": _validate(str(threshold), "--json", "--workers", "2"),
    }, env, repeat)
    _show("python -c pass (the interpreter's start)", best["start"])
    _show("python -c 'import msgspec' (the reference's start)", best["msgspec"])
    _show("validate --json of a one-line file (start, imports)", best["tiny"])
    size = threshold.stat().st_size
    _show(f"validate {size / 2**20:.0f} MiB (2 workers' minimum), 1 worker", best["one"], size)
    _show(f"validate {size / 2**20:.0f} MiB, 2 workers", best["two"], size, best["one"])


def _head(path: Path, target: Path, size: int) -> None:
    """The first lines of `path`, about `size` bytes, into `target`."""
    with open(path, "rb") as source, open(target, "wb") as out:
        while out.tell() < size and (block := source.read(min(size - out.tell(), 1 << 20))):
            out.write(block)
        out.write(source.readline())


def _memory(path: Path, copies: int, env: dict[str, str]) -> None:
    """Peak RSS streaming `copies` copies of the file through a pipe, against the file alone."""
    streamed = (f"for i in $(seq {copies}); do cat '{path}'; done | "
                f"'{PYTHON}' -m tuning_provider validate /dev/stdin --json")
    best = _best_of({"file": _validate(str(path), "--json", "--workers", "1"),
                     "stream": ["sh", "-c", streamed]}, env, 1)
    size = path.stat().st_size
    _show(f"validate --workers 1, {size / 1e6:,.0f} MB file", best["file"], size)
    _show(f"cat x{copies} | validate /dev/stdin, {copies * size / 1e6:,.0f} MB", best["stream"], copies * size)


def _in_process(path: Path, repeat: int) -> None:
    size = path.stat().st_size
    # "before": the process's peak RSS once its imports are done; "peak": after the run,
    # worker processes included.
    print(f"  {'what':<28}{'seconds':>9}{'MB/s':>9}{'lines/s':>12}{'RSS MiB before':>16}{'peak':>7}")
    for label, target, workers in (
        ("validate_dataset workers=1", _measure_validator, 1),
        ("validate_dataset workers=2", _measure_validator, 2),
        ("json.loads per line", _measure_json_loads, 1),
    ):
        runs = [_run(target, path, workers) for _ in range(repeat)]
        elapsed, lines, errors, before, peak, tokens = min(runs)
        print(
            f"  {label:<28}{elapsed:>9.3f}{size / 1e6 / elapsed:>9.0f}{lines / elapsed:>12,.0f}"
            f"{before:>16.0f}{peak:>7.0f}",
            flush=True,
        )
        if target is _measure_validator:
            print(f"      {lines:,} lines, {errors} errors, ~{tokens:,} tokens (estimate)")


def verdict(reference: Measured, validate: Measured) -> str:
    """Issue 29's target, judged on wall time, with the CPU ratio beside it."""
    ratio = reference.wall / validate.wall
    return (f"  validate process / msgspec reference: {ratio:.2f}x wall (CPU {reference.cpu / validate.cpu:.2f}x), "
            f"target >= {TARGET:.2f}x wall: {'within' if ratio >= TARGET else 'NOT within'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is shown")
    parser.add_argument(
        "--unicode-share", type=float, default=0.02,
        help="share of English sentences with a non-ASCII word (default 0.02; 1.0 for a stress test)",
    )
    parser.add_argument("--stream-copies", type=int, default=4, help="copies of the file streamed for the memory row")
    parser.add_argument("--in-process", action="store_true", help="also time validate_dataset inside one process")
    args = parser.parse_args()

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"train-{args.megabytes}mb-seed{SEED}-unicode{args.unicode_share:g}.jsonl"
    if not path.exists():
        print(f"generating {path} ...", flush=True)
        started = time.perf_counter()
        generate(path, args.megabytes, args.unicode_share)
        print(f"  done in {time.perf_counter() - started:.1f}s", flush=True)
    non_ascii = _warm(path)
    print(f"file: {path.name}, {path.stat().st_size / 1e6:,.1f} MB (warm page cache), {non_ascii:.0%} of lines "
          f"non-ASCII; {_cpus()} CPUs; load average {os.getloadavg()[0]:.2f}", flush=True)
    print(f"processes, best of {args.repeat}, without bytecode caches of the package (PYTHONDONTWRITEBYTECODE=1, "
          "as this environment runs):", flush=True)
    cold = verdict(*compare_processes(path, args.repeat, _no_bytecode_env()))
    env = _user_env()
    print(f"processes, best of {args.repeat}, with bytecode caches (as a user's Python writes them; judged):",
          flush=True)
    judged = verdict(*compare_processes(path, args.repeat, env))
    print(f"where the wall time goes (bytecode caches), best of {args.repeat}:", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        _where_wall_time_goes(path, args.repeat, env, Path(scratch))
    print("memory, one run each (peak RSS of the largest process):", flush=True)
    _memory(path, args.stream_copies, env)
    if args.in_process:
        print(f"in-process, best of {args.repeat}:", flush=True)
        _in_process(path, args.repeat)
    print(f"target (issue 29), judged on wall time with bytecode caches; load average now "
          f"{os.getloadavg()[0]:.2f}:\n{judged}\n  (without bytecode caches:{cold.split(':', 1)[1]})", flush=True)


if __name__ == "__main__":
    main()
