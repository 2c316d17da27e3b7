"""Deterministic metrics of recorded LLM outputs: exact match, token F1, ROUGE-L, answer support, refusals.

Every function takes whole columns (pandas Series of text) and returns one value per row (NumPy arrays),
so a check evaluates a 100,000-row recorded set without a Python loop over token pairs: texts are
tokenised with pandas' string methods, tokens become integer ids (``pandas.factorize``), and counting,
set membership and the longest common subsequence run on integer arrays.

Definitions (the numbers a validator reads, each equal to its reference implementation):

* **Exact match** and **token F1** follow the SQuAD evaluation script (Rajpurkar et al., 2016): the text
  is lower-cased, ASCII punctuation removed, the articles *a*, *an*, *the* removed and whitespace
  collapsed (``squad_tokens``); exact match is 1 when the normalised output equals the normalised
  reference; token F1 is the harmonic mean of precision and recall of the bag of tokens the two share.
  When either side has no token, F1 is 1 if both are empty and 0 otherwise (SQuAD v2's rule).
* **ROUGE-L** is the F-measure of the longest common subsequence of tokens (Lin, 2004) exactly as Google's
  ``rouge-score`` computes it without stemming: lower-case, every run of characters other than
  ``a-z0-9`` is a separator (``rouge_tokens``); precision = LCS / output tokens, recall = LCS / reference
  tokens; 0 when either side has no token. The tests compare it with ``rouge_score.rouge_scorer`` to 1e-9.
* **Answer support** is the share of the output's distinct n-grams (unigrams and bigrams of the SQuAD
  tokens after removing ``STOP_WORDS``; negations are kept) that occur among the retrieved context's
  n-grams: 1 means every content word and word pair of the answer is in the context. Undefined (NaN)
  for an output without content words.
* **Refusal**: the output matches one of ``REFUSAL_PATTERNS`` (case-insensitive; curly apostrophes read
  as straight ones): it declines to answer, apologises before declining, or says it lacks the
  information. A pattern list, not a classifier: it is documented here so a reader can check any row.

Missing texts (None/NaN) read as empty strings; the caller decides which rows a metric applies to.
"""

from __future__ import annotations

import itertools
import re
import string

import numpy as np
import pandas as pd

ARTICLES = re.compile(r"\b(a|an|the)\b")
PUNCTUATION = str.maketrans("", "", string.punctuation)
ROUGE_SEPARATORS = re.compile(r"[^a-z0-9]+")

# Function words left out of answer support (they occur in every context); negations are NOT stop words,
# so "not eligible" is not supported by a context that only says "eligible".
STOP_WORDS = frozenset(
    [
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "he",
        "him",
        "his",
        "she",
        "her",
        "it",
        "its",
        "they",
        "them",
        "their",
        "this",
        "that",
        "these",
        "those",
        "am",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "have",
        "has",
        "had",
        "do",
        "does",
        "did",
        "of",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "about",
        "to",
        "from",
        "into",
        "over",
        "under",
        "as",
        "and",
        "or",
        "but",
        "if",
        "then",
        "so",
        "than",
        "too",
        "very",
        "can",
        "will",
        "would",
        "should",
        "could",
        "may",
        "might",
        "must",
        "shall",
        "also",
        "just",
        "there",
        "here",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "both",
        "each",
        "some",
        "such",
        "only",
        "own",
        "same",
        "s",
        "t",
        "d",
        "ll",
        "m",
        "re",
        "ve",
        "y",
    ]
)

# Refusal phrases, matched anywhere in the output, case-insensitive (a curly apostrophe, U+2019, reads as ``'``).
REFUSAL_PATTERNS: tuple[str, ...] = (
    r"\bi(?:'m| am) (?:sorry|afraid),? but\b",
    r"\bi (?:cannot|can't|can ?not|won't|will not|am unable to|'m unable to|am not able to|'m not able to)"
    r" (?:help|assist|provide|answer|share|comply|do that|fulfil|fulfill|give|disclose|discuss|support)",
    r"\bi(?:'m| am) (?:not (?:allowed|permitted|authori[sz]ed|able)|unable) to\b",
    r"\bi (?:must|have to|need to) (?:decline|refuse)\b",
    r"\bas an ai\b",
    r"\bi (?:don't|do not) have (?:enough |sufficient )?(?:information|access|the information)\b",
    r"\b(?:cannot|can't|unable to) (?:help|assist) with (?:that|this|your request)\b",
)
REFUSAL = re.compile("|".join(f"(?:{pattern})" for pattern in REFUSAL_PATTERNS), re.IGNORECASE)


def _text(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), "").astype(str).reset_index(drop=True)


def squad_tokens(values: pd.Series) -> pd.Series:
    """Each text's tokens after SQuAD's normalisation (lower case, no punctuation, no articles)."""
    remove_articles = ARTICLES.sub  # one pass per text: the pandas string methods copy the column each step
    tokens = [remove_articles(" ", text.lower().translate(PUNCTUATION)).split() for text in _text(values)]
    return pd.Series(tokens, dtype=object)


def rouge_tokens(values: pd.Series) -> pd.Series:
    """Each text's tokens as ``rouge_score.tokenize`` makes them (no stemming)."""
    separate = ROUGE_SEPARATORS.sub
    return pd.Series([separate(" ", text.lower()).split() for text in _text(values)], dtype=object)


def _flatten(tokens: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(row of each token, token) for a Series of token lists, in row order."""
    lists = tokens.tolist()
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    flat = np.fromiter(itertools.chain.from_iterable(lists), dtype=object, count=int(lengths.sum()))
    return np.repeat(np.arange(len(lists), dtype=np.int64), lengths), flat


def _ids(*flats: np.ndarray) -> tuple[list[np.ndarray], int]:
    """Integer ids for tokens of several sides, in one shared vocabulary."""
    codes, uniques = pd.factorize(np.concatenate(flats) if flats else np.array([], dtype=object))
    out, start = [], 0
    for flat in flats:
        out.append(codes[start : start + len(flat)].astype(np.int64))
        start += len(flat)
    return out, max(len(uniques), 1)


def exact_match(outputs: pd.Series, references: pd.Series) -> np.ndarray:
    """1.0 where the SQuAD-normalised output equals the normalised reference, else 0.0."""
    return exact_match_tokens(squad_tokens(outputs), squad_tokens(references))


def exact_match_tokens(outputs: pd.Series, references: pd.Series) -> np.ndarray:
    """``exact_match`` of texts already tokenised by ``squad_tokens``."""
    left, right = outputs.str.join(" "), references.str.join(" ")
    return (left.to_numpy() == right.to_numpy()).astype(np.float64)


def _unique(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct keys and their counts (a sort and a diff: faster than ``np.unique``'s hash path on
    the wide keys built here)."""
    ordered = np.sort(keys, kind="stable")
    first = (
        np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1]))) if len(ordered) else _empty()
    )
    return ordered[first], np.diff(np.append(first, len(ordered)))


def _empty() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


def _shared_counts(
    rows_a: np.ndarray, ids_a: np.ndarray, rows_b: np.ndarray, ids_b: np.ndarray, n: int, vocab: int
) -> np.ndarray:
    """Per row, Σ over tokens of min(count in a, count in b): the size of the bags' intersection."""
    keys_a, counts_a = _unique(rows_a * vocab + ids_a)
    keys_b, counts_b = _unique(rows_b * vocab + ids_b)
    common, in_a, in_b = np.intersect1d(keys_a, keys_b, assume_unique=True, return_indices=True)
    shared = np.minimum(counts_a[in_a], counts_b[in_b])
    return np.bincount(common // vocab, weights=shared, minlength=n)


def token_f1(outputs: pd.Series, references: pd.Series) -> np.ndarray:
    """SQuAD token F1 per row (1.0 when both sides are empty, 0.0 when only one is)."""
    return token_f1_tokens(squad_tokens(outputs), squad_tokens(references))


def token_f1_tokens(out_tokens: pd.Series, ref_tokens: pd.Series) -> np.ndarray:
    """``token_f1`` of texts already tokenised by ``squad_tokens``."""
    n = len(out_tokens)
    rows_o, flat_o = _flatten(out_tokens)
    rows_r, flat_r = _flatten(ref_tokens)
    (ids_o, ids_r), vocab = _ids(flat_o, flat_r)
    shared = _shared_counts(rows_o, ids_o, rows_r, ids_r, n, vocab)
    len_o = np.bincount(rows_o, minlength=n).astype(np.float64)
    len_r = np.bincount(rows_r, minlength=n).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(shared > 0, 2.0 * shared / (len_o + len_r), 0.0)
    return np.where((len_o == 0) | (len_r == 0), ((len_o == 0) & (len_r == 0)).astype(np.float64), f1)


def _padded(
    rows: np.ndarray, ids: np.ndarray, lengths: np.ndarray, chosen: np.ndarray, pad: int
) -> np.ndarray:
    """The token ids of the ``chosen`` rows, one row each, right-padded with ``pad``."""
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    width = int(lengths[chosen].max()) if len(chosen) else 0
    out = np.full((len(chosen), max(width, 1)), pad, dtype=np.int64)
    for_rows = lengths[chosen]
    local = np.repeat(np.arange(len(chosen)), for_rows)
    offsets = np.arange(int(for_rows.sum())) - np.repeat(np.cumsum(for_rows) - for_rows, for_rows)
    source = np.repeat(starts[chosen], for_rows) + offsets
    out[local, offsets] = ids[source]
    return out


def lcs_lengths(
    rows_a: np.ndarray,
    ids_a: np.ndarray,
    rows_b: np.ndarray,
    ids_b: np.ndarray,
    n: int,
    batch_cells: int = 1 << 16,
) -> np.ndarray:
    """Length of the longest common subsequence of each row's two id sequences.

    Rows are sorted by length and processed in batches; for each position i of the shorter side, the
    whole DP row of every pair in the batch is updated at once:
    ``dp[i][j] = max_{k <= j} max(dp[i-1][k-1] + match(i, k), dp[i-1][k])``.
    Padding uses ids that never match, so it does not change any LCS.
    """
    len_a = np.bincount(rows_a, minlength=n)
    len_b = np.bincount(rows_b, minlength=n)
    result = np.zeros(n, dtype=np.int64)
    live = np.flatnonzero((len_a > 0) & (len_b > 0))
    if not len(live):
        return result
    order = live[np.lexsort((np.maximum(len_a[live], len_b[live]), np.minimum(len_a[live], len_b[live])))]
    start = 0
    while start < len(order):
        longest = int(max(len_a[order[start]], len_b[order[start]]))
        size = max(1, batch_cells // max(longest, 1))
        chosen = order[start : start + size]
        start += len(chosen)
        a = _padded(rows_a, ids_a, len_a, chosen, -1)
        b = _padded(rows_b, ids_b, len_b, chosen, -2)
        if a.shape[1] > b.shape[1]:
            a, b = b, a
        previous = np.zeros((len(chosen), b.shape[1] + 1), dtype=np.int32)
        current = np.zeros_like(previous)
        for i in range(a.shape[1]):
            match = a[:, i : i + 1] == b
            step = np.maximum(previous[:, :-1] + match, previous[:, 1:])
            np.maximum.accumulate(step, axis=1, out=current[:, 1:])
            previous, current = current, previous
        result[chosen] = previous[:, -1]
    return result


def rouge_l(outputs: pd.Series, references: pd.Series) -> np.ndarray:
    """ROUGE-L F-measure per row, as ``rouge_score.rouge_scorer.RougeScorer(["rougeL"])`` computes it."""
    out_tokens, ref_tokens = rouge_tokens(outputs), rouge_tokens(references)
    n = len(out_tokens)
    rows_o, flat_o = _flatten(out_tokens)
    rows_r, flat_r = _flatten(ref_tokens)
    (ids_o, ids_r), _ = _ids(flat_o, flat_r)
    lcs = lcs_lengths(rows_o, ids_o, rows_r, ids_r, n).astype(np.float64)
    len_o = np.bincount(rows_o, minlength=n).astype(np.float64)
    len_r = np.bincount(rows_r, minlength=n).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(len_o > 0, lcs / len_o, 0.0)
        recall = np.where(len_r > 0, lcs / len_r, 0.0)
        f = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return f


def _ngrams(rows: np.ndarray, ids: np.ndarray, vocab: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, n-gram code) for the unigrams and bigrams of each row's content-word ids (stop words already
    removed): a unigram is its id, a bigram ``vocab + first * vocab + second``."""
    same = rows[1:] == rows[:-1]
    bigrams = vocab + ids[:-1][same] * vocab + ids[1:][same]
    return np.concatenate([rows, rows[:-1][same]]), np.concatenate([ids, bigrams])


def answer_support(outputs: pd.Series, contexts: pd.Series) -> np.ndarray:
    """Share of each output's distinct content n-grams found in its context (NaN: no content words)."""
    return answer_support_tokens(squad_tokens(outputs), squad_tokens(contexts))


def answer_support_tokens(out_tokens: pd.Series, context_tokens: pd.Series) -> np.ndarray:
    """``answer_support`` of texts already tokenised by ``squad_tokens``."""
    n = len(out_tokens)
    rows_o, flat_o = _flatten(out_tokens)
    rows_c, flat_c = _flatten(context_tokens)
    codes, uniques = pd.factorize(np.concatenate([flat_o, flat_c]))
    vocab = max(len(uniques), 1)
    content = ~np.isin(np.arange(len(uniques)), np.flatnonzero(pd.Index(uniques).isin(STOP_WORDS)))
    codes = codes.astype(np.int64)
    ids_o, ids_c = codes[: len(flat_o)], codes[len(flat_o) :]
    keep_o, keep_c = content[ids_o], content[ids_c]
    rows_o, grams_o = _ngrams(rows_o[keep_o], ids_o[keep_o], vocab)
    rows_c, grams_c = _ngrams(rows_c[keep_c], ids_c[keep_c], vocab)
    (ids_o, ids_c), vocab = _ids(grams_o, grams_c)
    keys_o = _unique(rows_o * vocab + ids_o)[0]
    keys_c = _unique(rows_c * vocab + ids_c)[0]
    found = np.isin(keys_o, keys_c, assume_unique=True)
    total = np.bincount(keys_o // vocab, minlength=n).astype(np.float64)
    hits = np.bincount(keys_o // vocab, weights=found, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, hits / total, np.nan)


def refusals(outputs: pd.Series) -> np.ndarray:
    """True where the output matches a refusal pattern."""
    text = _text(outputs).str.replace("\u2019", "'", regex=False)
    return text.str.contains(REFUSAL, regex=True).to_numpy(dtype=bool)
