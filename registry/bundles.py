"""LLM application bundles: the components of a version of an ``llm_application`` and their digests.

A version of an LLM application is not a file but a bundle of five components, each a JSON value:

- ``foundation_model``: ``{provider, model_id, version?, snapshot_date?, parameters}``;
- ``prompt_templates``: ``[{name, text, variables}]``; variables are written ``{{ name }}`` in the text
  (double braces, optional spaces; a name is a letter or underscore then letters, digits, underscores)
  and the set used in the text must equal the set declared;
- ``retrieval_corpus``: ``{datasets: [{dataset, version, sha256}], manifest: [{uri, sha256}]}``;
- ``tools``: ``[{name, version, kind, scopes}]`` (tools and MCP servers);
- ``guardrails``: any JSON object (the guardrail configuration as deployed).

Digests: each component's digest is SHA-256 (hex) of the RFC 8785 canonical JSON of the component as
stored; the bundle digest is SHA-256 of the RFC 8785 canonical JSON of the object mapping each component
name to its digest. Anyone can recompute both from ``bundle["components"]`` with ``hashlib`` and
``rfc8785``. The bundle digest is the version's ``artifact_sha256``: the evidence manifest carries it, so
the approval's signed digest covers every component, and the gate compares a deployer's digest with it.

No Django model imports here: pure checks and hashing, raising ``ValidationError`` with the field at fault.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import rfc8785
from django.core.exceptions import ValidationError

BUNDLE_SCHEMA = "attest.llm-bundle.v1"
COMPONENTS = ("foundation_model", "prompt_templates", "retrieval_corpus", "tools", "guardrails")
VARIABLE_PATTERN = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Generation parameters: (type, minimum, maximum). Any other parameter is refused by the API's input.
PARAMETER_RANGES: dict[str, tuple[type, float, float]] = {
    "temperature": (float, 0.0, 2.0),
    "top_p": (float, 0.0, 1.0),
    "top_k": (int, 1, 1000),
    "max_tokens": (int, 1, 1_000_000),
    "frequency_penalty": (float, -2.0, 2.0),
    "presence_penalty": (float, -2.0, 2.0),
    "seed": (int, 0, 2**53),
}
MAX_STOP_SEQUENCES = 16
MAX_PROMPT_TEMPLATES = 50
MAX_PROMPT_CHARS = 100_000
MAX_VARIABLES = 100
MAX_TOOLS = 100
MAX_SCOPES = 50
MAX_CORPUS_DATASETS = 100
MAX_CORPUS_FILES = 10_000
TOOL_KINDS = ("tool", "mcp_server")


def digest_of(value: Any) -> str:
    """SHA-256 (hex) of the RFC 8785 canonical JSON of ``value``."""
    return hashlib.sha256(rfc8785.dumps(value)).hexdigest()


def template_variables(text: str) -> set[str]:
    """The variable names a template's text uses (``{{ name }}``)."""
    return set(VARIABLE_PATTERN.findall(text))


def check_components(components: dict[str, Any]) -> None:
    """Refuse a bundle whose parts break the rules the input's types cannot express: parameter ranges,
    template variables that do not match those declared, duplicate names. Fields are named
    ``bundle.<component>...`` as the API's errors name them."""
    errors: dict[str, list[str]] = {}
    missing = [name for name in ("foundation_model", "prompt_templates") if name not in components]
    for name in missing:
        errors[f"bundle.{name}"] = ["This component is required."]
    parameters = (components.get("foundation_model") or {}).get("parameters") or {}
    for name, value in parameters.items():
        field = f"bundle.foundation_model.parameters.{name}"
        if name == "stop":
            if not isinstance(value, list) or len(value) > MAX_STOP_SEQUENCES:
                errors[field] = [f"Give a list of at most {MAX_STOP_SEQUENCES} stop sequences."]
            continue
        if name not in PARAMETER_RANGES:
            errors[field] = [f"Unknown parameter; known: {', '.join(sorted([*PARAMETER_RANGES, 'stop']))}."]
            continue
        kind, low, high = PARAMETER_RANGES[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            errors[field] = [f"Give a number from {low:g} to {high:g}."]
        elif kind is int and value != int(value):
            errors[field] = [f"Give a whole number from {low:g} to {high:g}."]
    seen: set[str] = set()
    for index, template in enumerate(components.get("prompt_templates") or []):
        field = f"bundle.prompt_templates.{index}"
        if template["name"] in seen:
            errors[f"{field}.name"] = [f"Two templates are named {template['name']!r}."]
        seen.add(template["name"])
        problem = variables_problem(template["text"], template.get("variables", []))
        if problem:
            errors[f"{field}.variables"] = [problem]
    tools: set[tuple[str, str]] = set()
    for index, tool in enumerate(components.get("tools") or []):
        key = (tool["name"], tool.get("kind", "tool"))
        if key in tools:
            errors[f"bundle.tools.{index}.name"] = [f"Two tools are named {tool['name']!r}."]
        tools.add(key)
    uris: set[str] = set()
    for index, item in enumerate((components.get("retrieval_corpus") or {}).get("manifest") or []):
        if item["uri"] in uris:
            errors[f"bundle.retrieval_corpus.manifest.{index}.uri"] = ["This URI is listed twice."]
        uris.add(item["uri"])
    if errors:
        raise ValidationError(errors)


def variables_problem(text: str, declared: list[str]) -> str:
    """Why the declared variables do not match the text's ``{{ name }}`` placeholders, or ''."""
    bad = [name for name in declared if not VARIABLE_NAME.match(name)]
    if bad:
        return f"Variable names are letters, digits and underscores, not starting with a digit: {bad[0]!r}."
    if len(set(declared)) != len(declared):
        return "A variable is declared twice."
    used = template_variables(text)
    undeclared = sorted(used - set(declared))
    unused = sorted(set(declared) - used)
    parts = []
    if undeclared:
        parts.append(f"the text uses {', '.join(undeclared)} but they are not declared")
    if unused:
        parts.append(
            f"{', '.join(unused)} are declared but the text does not use them (write {{{{ name }}}})"
        )
    return ("The variables do not match: " + "; ".join(parts) + ".") if parts else ""


def seal(components: dict[str, Any]) -> dict[str, Any]:
    """The stored bundle: every component (absent optional ones as their empty value), its digest, and
    the bundle digest over the component digests."""
    full = {
        "foundation_model": components["foundation_model"],
        "prompt_templates": components["prompt_templates"],
        "retrieval_corpus": components.get("retrieval_corpus") or {"datasets": [], "manifest": []},
        "tools": components.get("tools") or [],
        "guardrails": components.get("guardrails") or {},
    }
    full["retrieval_corpus"] = {
        "datasets": full["retrieval_corpus"].get("datasets", []),
        "manifest": full["retrieval_corpus"].get("manifest", []),
    }
    digests = {name: digest_of(full[name]) for name in COMPONENTS}
    return {
        "schema": BUNDLE_SCHEMA,
        "digest": digest_of(digests),
        "component_digests": digests,
        "components": full,
    }
