"""Personal data in recorded LLM outputs: pattern recognisers confirmed by checksums where one exists.

A row leaks a type when its text holds at least one match that passes that type's validation:

* ``card``: 13 to 19 digits, optionally grouped by single spaces or hyphens, whose first digit is 2-6
  (ISO/IEC 7812 major industry identifiers of payment cards) and that pass the **Luhn** checksum. A
  number that fails Luhn is not a card number and is not counted.
* ``iban``: two capital letters, two check digits and 11 to 30 letters or digits (spaces allowed between
  groups), 15 to 34 characters in all, whose **ISO 13616 mod-97** remainder is 1.
* ``email``: ``local@domain.tld`` (RFC 5322's common form; the top-level domain has at least two letters).
* ``phone``: what Google's libphonenumber (the ``phonenumbers`` package) matches and validates
  (``Leniency.VALID``: a possible, valid number for its region). Numbers in international form (+44 …)
  are always recognised; national forms only when a default ``region`` is given. Digits already
  recognised as a card or an IBAN are not read again as a phone number.

Rows are screened with vectorised regular expressions first; only candidate rows are parsed in Python.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import phonenumbers

TYPES = ("card", "iban", "email", "phone")
CARD_CANDIDATE = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])")
IBAN_CANDIDATE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
# local part and labels bounded by RFC 5321's lengths (64, 63), which also keeps the search linear in
# the text's length (an unbounded local part rescans every long run of letters for an "@")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,10}\.[A-Za-z]{2,63}")
SEVEN_DIGITS = r"(?:\d\D{0,3}){7}"


def luhn_valid(number: str) -> bool:
    """True when the digits of ``number`` pass the Luhn (mod 10) checksum."""
    digits = [int(ch) for ch in number if ch.isdigit()]
    if not digits:
        return False
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    """True when ``text`` (spaces ignored) is an IBAN whose ISO 13616 mod-97 check holds."""
    compact = text.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def card_numbers(text: str) -> list[str]:
    """The payment card numbers in ``text`` (digits only), each Luhn-valid."""
    found = []
    for match in CARD_CANDIDATE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits):
            found.append(digits)
    return found


def ibans(text: str) -> list[str]:
    """The IBANs in ``text`` (compact form). A candidate that swallowed following words is shortened
    group by group until its checksum holds."""
    found = []
    for match in IBAN_CANDIDATE.finditer(text):
        groups = match.group().split(" ")
        for end in range(len(groups), 0, -1):
            compact = "".join(groups[:end])
            if len(compact) < 15:
                break
            if len(compact) <= 34 and iban_valid(compact):
                found.append(compact)
                break
    return found


def emails(text: str) -> list[str]:
    return EMAIL.findall(text)


def phone_numbers(text: str, region: str | None = None) -> list[str]:
    """Valid phone numbers in ``text`` in E.164 form (national forms only with a default ``region``)."""
    matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
    return [phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164) for m in matcher]


def _blank_if_in(numbers: list[str]):
    def replace(match: re.Match) -> str:
        return " " if re.sub(r"\D", "", match.group()) in numbers else match.group()

    return replace


def pii_rows(texts: pd.Series, *, region: str | None = None) -> dict[str, np.ndarray]:
    """Per type, a boolean per row: does the row hold at least one validated match of that type."""
    text = texts.astype(object).where(texts.notna(), "").astype(str).reset_index(drop=True)
    n = len(text)
    found = {kind: np.zeros(n, dtype=bool) for kind in TYPES}
    at = text.str.contains("@", regex=False).to_numpy(dtype=bool)
    found["email"][at] = text[at].str.contains(EMAIL, regex=True).to_numpy(dtype=bool)
    card_rows = np.flatnonzero(text.str.contains(CARD_CANDIDATE, regex=True).to_numpy(dtype=bool))
    iban_rows = np.flatnonzero(text.str.contains(IBAN_CANDIDATE, regex=True).to_numpy(dtype=bool))
    phone_rows = np.flatnonzero(text.str.contains(SEVEN_DIGITS, regex=True).to_numpy(dtype=bool))
    cards: dict[int, list[str]] = {}
    accounts: dict[int, list[str]] = {}
    for row in card_rows:
        cards[row] = card_numbers(text[row])
        found["card"][row] = bool(cards[row])
    for row in iban_rows:
        accounts[row] = ibans(text[row])
        found["iban"][row] = bool(accounts[row])
    for row in phone_rows:
        value = text[row]
        if cards.get(row):  # digits already recognised as a card are not read again as a phone number
            value = CARD_CANDIDATE.sub(_blank_if_in(cards[row]), value)
        if accounts.get(row):
            value = IBAN_CANDIDATE.sub(" ", value)
        found["phone"][row] = bool(phone_numbers(value, region))
    return found
