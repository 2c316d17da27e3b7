"""LLM evaluation metrics against hand-worked examples, and ROUGE-L against Google's rouge-score."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rouge_score import rouge_scorer

from monitoring.metrics import pii, text
from monitoring.metrics.llm_evaluation import llm_evaluation_report

S = pd.Series


def test_exact_match_and_token_f1_follow_squad_normalisation():
    outputs = S(["The Eiffel Tower!", "in Paris, France", "", "", "cat cat dog", None])
    references = S(["eiffel tower", "Paris", "", "something", "cat dog dog", "x"])

    assert text.exact_match(outputs, references).tolist() == [1, 0, 1, 0, 0, 0]
    # row 1: output {in, paris, france}, reference {paris}: P = 1/3, R = 1, F1 = 2·(1/3)/(4/3) = 0.5
    # row 4: bags {cat: 2, dog: 1} and {cat: 1, dog: 2} share 2 tokens of 3 each: F1 = 2/3
    assert text.token_f1(outputs, references) == pytest.approx([1, 0.5, 1, 0, 2 / 3, 0], abs=1e-12)


def test_rouge_l_by_hand_and_equal_to_rouge_score_on_generated_pairs():
    # LCS("police killed the gunman", "the gunman police killed") = 2 of 4 and 4 tokens: F = 0.5
    assert text.rouge_l(S(["the gunman police killed"]), S(["police killed the gunman"])) == [0.5]
    rng = np.random.default_rng(7)
    words = np.array(["loan", "rate", "the", "Fee", "APR", "42", "café", "don't", "5%", "term", "a", "x-ray"])
    outputs, references = [], []
    for _ in range(400):
        outputs.append(" ".join(rng.choice(words, rng.integers(0, 30))) + rng.choice(["", ".", "!?"]))
        references.append(" ".join(rng.choice(words, rng.integers(0, 25))))
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    expected = [
        scorer.score(ref, out)["rougeL"].fmeasure for out, ref in zip(outputs, references, strict=True)
    ]

    assert text.rouge_l(S(outputs), S(references)) == pytest.approx(expected, abs=1e-9)


def test_answer_support_counts_content_ngrams_found_in_the_context():
    outputs = S(["The rate is 5 percent", "Rates are not fixed", "the of and"])
    contexts = S(["Our rate is 5 percent a year.", "Rates are fixed for two years.", "anything"])
    # row 0: content words rate, 5, percent + bigrams "rate 5", "5 percent": all 5 in the context
    # row 1: rates, not, fixed + "rates not", "not fixed": rates and fixed found: 2/5 (negation kept)
    support = text.answer_support(outputs, contexts)
    assert support[:2] == pytest.approx([1.0, 0.4])
    assert np.isnan(support[2])


def test_refusals_match_the_documented_patterns():
    outputs = S(
        [
            "I'm sorry, but I can't help with that.",
            "I cannot provide legal advice.",
            "As an AI, I have no opinion.",
            "I don\u2019t have enough information to answer.",
            "Sorry to hear that; your rate is 5%.",
            "The bank cannot change the rate.",
        ]
    )
    assert text.refusals(outputs).tolist() == [True, True, True, True, False, False]


def test_checksummed_recognisers_accept_valid_and_refuse_invalid_values():
    assert pii.luhn_valid("4539 1488 0343 6467")
    assert not pii.luhn_valid("4539 1488 0343 6468")
    assert pii.card_numbers("pay with 4111-1111-1111-1111 now") == ["4111111111111111"]
    assert pii.card_numbers("order 4111 1111 1111 1112") == []  # fails Luhn: not a card number
    assert pii.card_numbers("ref 9111111111111111") == []  # Luhn-valid, but no payment-card industry digit
    assert pii.iban_valid("GB82 WEST 1234 5698 7654 32")
    assert not pii.iban_valid("GB83 WEST 1234 5698 7654 32")
    assert pii.ibans("to DE89 3704 0044 0532 0130 00 TODAY") == ["DE89370400440532013000"]
    assert pii.emails("write to a.b+c@bank.example.com.") == ["a.b+c@bank.example.com"]
    assert pii.emails("user at bank dot com, @handle") == []
    assert pii.phone_numbers("call +44 20 7946 0958") == ["+442079460958"]
    assert pii.phone_numbers("call 020 7946 0958") == []  # national form needs a region
    assert pii.phone_numbers("call 020 7946 0958", "GB") == ["+442079460958"]
    assert pii.phone_numbers("call +1 123 456 7890") == []  # no North American area code starts with 1

    rows = pii.pii_rows(
        S(
            [
                "card 4111 1111 1111 1111",
                "card 4111 1111 1111 1112",
                "mail jo@example.org",
                None,
                "+1 650-253-0000",
            ]
        )
    )
    assert {kind: flags.tolist() for kind, flags in rows.items()} == {
        "card": [True, False, False, False, False],
        "iban": [False] * 5,
        "email": [False, False, True, False, False],
        "phone": [False, False, False, False, True],
    }


def test_the_report_gives_means_counts_and_slices():
    frame = pd.DataFrame(
        {
            "output": ["Paris", "London", "I cannot answer that.", "Mail me at a@b.co", "Rome"],
            "reference": ["Paris", "Paris", "Berlin", None, "Rome"],
            "context": ["Paris is the capital", "", "", "", "Rome"],
            "lang": ["fr", "fr", "de", "de", "it"],
        }
    )
    columns = {"output": "output", "reference": "reference", "context": "context", "label": None}
    report = llm_evaluation_report(frame, columns=columns | {"slices": ["lang"]}, min_slice_rows=2)

    overall = report["overall"]["metrics"]
    assert overall["exact_match"] == {"value": 0.5, "rows": 4, "count": 2}  # the row without reference is out
    assert overall["refusal_rate"]["count"] == 1
    assert overall["pii_leak_rate"] == {"value": 0.2, "rows": 5, "count": 1}
    groups = {group["value"]: group for group in report["slices"][0]["groups"]}
    assert groups["fr"]["metrics"]["exact_match"]["value"] == 0.5
    assert groups["de"]["metrics"]["pii_leak_rate"]["value"] == 0.5
    assert groups["it"]["judged"] is False
