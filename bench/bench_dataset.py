"""Benchmark of the dataset validator on a realistic ~300 MB training file.

Generates the file once with a fixed seed into bench/data/ (git-ignored; reused when
present), reads it once to warm the page cache, then times `validate_dataset` with one and
with two worker processes, and, for comparison, a plain `json.loads` of every line. Each
measurement runs in a fresh child process so that its peak RSS is its own; the best of
`--repeat` runs is shown (other work on the machine only ever slows a run down).

The data: 45% single questions and answers, 40% multi-turn chats (2 to 6 exchanges), 12%
long documents to summarise (6 to 40 KB), 3% multimodal (a gs:// image or PDF); 60% with a
system instruction; 4% of examples in French, 2% in Japanese, and by default 2% of English
sentences with a non-ASCII word (accents, CJK, emoji), which makes about half the lines
non-ASCII. `--unicode-share 1.0` makes every line non-ASCII, the parser's worst case
(non-ASCII strings cost msgspec about twice as much as ASCII ones).

    .venv/bin/python bench/bench_dataset.py [--megabytes 300] [--repeat 3] [--unicode-share 0.02]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tuning_provider.dataset import validate_dataset  # noqa: E402

DATA_DIR = Path(__file__).resolve().parent / "data"
SEED = 20261124

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is shown")
    parser.add_argument(
        "--unicode-share", type=float, default=0.02,
        help="share of English sentences with a non-ASCII word (default 0.02; 1.0 for a stress test)",
    )
    args = parser.parse_args()

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"train-{args.megabytes}mb-seed{SEED}-unicode{args.unicode_share:g}.jsonl"
    if not path.exists():
        print(f"generating {path} ...", flush=True)
        started = time.perf_counter()
        generate(path, args.megabytes, args.unicode_share)
        print(f"  done in {time.perf_counter() - started:.1f}s", flush=True)
    size = path.stat().st_size
    non_ascii = _warm(path)
    print(f"file: {path.name}, {size / 1e6:,.1f} MB (warm page cache), {non_ascii:.0%} of lines non-ASCII")
    # "before": the process's peak RSS once its imports are done (tuning_provider pulls in
    # pulumi); "peak": after the run, worker processes included.
    print(f"{'what':<28}{'seconds':>9}{'MB/s':>9}{'lines/s':>12}{'RSS MiB before':>16}{'peak':>7}")
    for label, target, workers in (
        ("validate_dataset workers=1", _measure_validator, 1),
        ("validate_dataset workers=2", _measure_validator, 2),
        ("json.loads per line", _measure_json_loads, 1),
    ):
        runs = [_run(target, path, workers) for _ in range(args.repeat)]
        elapsed, lines, errors, before, peak, tokens = min(runs)
        print(
            f"{label:<28}{elapsed:>9.3f}{size / 1e6 / elapsed:>9.0f}{lines / elapsed:>12,.0f}"
            f"{before:>16.0f}{peak:>7.0f}",
            flush=True,
        )
        if target is _measure_validator:
            print(f"    {lines:,} lines, {errors} errors, ~{tokens:,} tokens (estimate)")


if __name__ == "__main__":
    main()
