"""Evaluating a recorded LLM evaluation set of 100,000 rows: Attest's column functions against rouge-score
and a naive per-row Python token F1 (the SQuAD script's own code), on the same data, one run each.

    .venv/bin/python benchmarks/llm_evaluation.py                # 100,000 rows
    .venv/bin/python benchmarks/llm_evaluation.py --rows 20000

Prints rows/s of each method, Attest's ratio to the others, and checks that the numbers agree (ROUGE-L
with rouge-score's and token F1 with the naive implementation's, to 1e-9 on every row).
"""

from __future__ import annotations

import argparse
import re
import string
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitoring.metrics import text
from monitoring.metrics.llm_evaluation import llm_evaluation_report

WORDS = [
    "the",
    "a",
    "an",
    "loan",
    "rate",
    "fee",
    "term",
    "month",
    "year",
    "apr",
    "interest",
    "payment",
    "card",
    "account",
    "balance",
    "limit",
    "credit",
    "score",
    "applicant",
    "income",
    "debt",
    "ratio",
    "approval",
    "decision",
    "policy",
    "document",
    "branch",
    "customer",
    "bank",
    "fixed",
    "variable",
    "early",
    "repayment",
    "penalty",
    "charge",
    "statement",
    "overdraft",
    "mortgage",
    "deposit",
    "savings",
    "is",
    "are",
    "was",
    "not",
    "no",
    "can",
    "will",
    "be",
    "of",
    "to",
    "in",
    "on",
    "for",
    "with",
    "by",
    "from",
    "at",
    "as",
    "per",
    "cent",
    "percent",
    "eur",
    "usd",
    "5",
    "10",
    "12",
    "24",
    "36",
    "60",
    "2000",
    "5000",
]


def synthetic(rows: int, seed: int = 0) -> pd.DataFrame:
    """Recorded rows: contexts of 40-80 words, references of 5-25, outputs that copy, drop and add words,
    with a few refusals, e-mail addresses, card numbers and phone numbers mixed in."""
    rng = np.random.default_rng(seed)
    words = np.array(WORDS)
    contexts, references, outputs = [], [], []
    for _ in range(rows):
        context = rng.choice(words, rng.integers(40, 80))
        start = rng.integers(0, len(context) - 25)
        reference = context[start : start + rng.integers(5, 25)]
        keep = reference[rng.random(len(reference)) > 0.2]
        output = np.concatenate([keep, rng.choice(words, rng.integers(0, 8))])
        rng.shuffle(output[: len(output) // 3])
        sentence = " ".join(output).capitalize() + "."
        roll = rng.random()
        if roll < 0.03:
            sentence = "I'm sorry, but I can't help with that."
        elif roll < 0.04:
            sentence += " Write to jane.doe@example.com."
        elif roll < 0.045:
            sentence += " Your card 4111 1111 1111 1111 is active."
        elif roll < 0.05:
            sentence += " Call +44 20 7946 0958."
        contexts.append(" ".join(context))
        references.append(" ".join(reference))
        outputs.append(sentence)
    slices = rng.choice(["en", "fr", "de"], rows)
    return pd.DataFrame({"context": contexts, "reference": references, "output": outputs, "lang": slices})


def naive_normalise(s: str) -> str:
    """The SQuAD v1.1 evaluation script's normalize_answer."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def naive_f1(prediction: str, truth: str) -> float:
    pred, gold = naive_normalise(prediction).split(), naive_normalise(truth).split()
    if not pred or not gold:
        return float(pred == gold)
    common = Counter(pred) & Counter(gold)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def timed(function):
    start = time.perf_counter()
    value = function()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    from rouge_score import rouge_scorer

    frame = synthetic(args.rows)
    outputs, references = frame["output"], frame["reference"]
    print(
        f"{len(frame):,} rows; mean tokens: output {outputs.str.split().str.len().mean():.1f}, "
        f"reference {references.str.split().str.len().mean():.1f}, context {frame['context'].str.split().str.len().mean():.1f}"
    )

    columns = {"output": "output", "reference": "reference", "context": "context", "slices": ["lang"]}
    report, t_report = timed(lambda: llm_evaluation_report(frame, columns=columns))
    rouge, t_rouge = timed(lambda: text.rouge_l(outputs, references))
    f1, t_f1 = timed(lambda: text.token_f1(outputs, references))
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    reference_rouge, t_ref_rouge = timed(
        lambda: np.array(
            [scorer.score(r, o)["rougeL"].fmeasure for o, r in zip(outputs, references, strict=True)]
        )
    )
    reference_f1, t_ref_f1 = timed(
        lambda: np.array([naive_f1(o, r) for o, r in zip(outputs, references, strict=True)])
    )

    n = len(frame)
    rows = [
        ("Attest llm_evaluation_report (all metrics, 3 slices)", t_report, None),
        ("Attest text.rouge_l", t_rouge, t_ref_rouge),
        ("rouge-score RougeScorer(['rougeL']) per row", t_ref_rouge, None),
        ("Attest text.token_f1", t_f1, t_ref_f1),
        ("naive per-row SQuAD token F1", t_ref_f1, None),
    ]
    print(f"\n{'method':58} {'seconds':>9} {'rows/s':>12} {'Attest faster by':>17}")
    for name, seconds, other in rows:
        ratio = f"{other / seconds:.1f}x" if other else ""
        print(f"{name:58} {seconds:9.2f} {n / seconds:12,.0f} {ratio:>17}")
    rouge_diff = float(np.max(np.abs(rouge - reference_rouge)))
    f1_diff = float(np.max(np.abs(f1 - reference_f1)))
    print(f"\nmax |ROUGE-L - rouge-score| = {rouge_diff:.2e}; max |token F1 - naive| = {f1_diff:.2e}")
    overall = report["overall"]["metrics"]
    print(
        "means: " + ", ".join(f"{k} {v['value']:.4f}" for k, v in overall.items() if v["value"] is not None)
    )
    print(
        f"mean ROUGE-L (rouge-score) {reference_rouge.mean():.4f}; report {overall['rouge_l']['value']:.4f}"
    )
    agree = rouge_diff <= 1e-9 and f1_diff <= 1e-9
    print("AGREE" if agree else "DISAGREE")
    sys.exit(0 if agree else 1)


if __name__ == "__main__":
    main()
