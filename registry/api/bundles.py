"""``POST /api/v1/models/{name}/bundles/``: register a version of an LLM application as a bundle.

The body is JSON: ``{"bundle": {components}, "description", "source_repository", "source_commit", "tags",
"parent"}``. The answer is the version (``201`` when new, ``200`` when a version with the same bundle
digest exists). The component rules and digests are ``registry.bundles``'; docs/LLM.md has an example.
"""

from __future__ import annotations

import datetime as dt

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import access
from config.api import inputs
from config.api.query import StrictQueryParameters
from registry import bundles, selectors
from registry.api.common import ObjectField, StringMapField
from registry.api.references import dataset_reference_field
from registry.api.versions import VersionOutput, _datasets, _parent
from registry.references import DATASET_REFERENCE_HELP
from registry.services import versions as version_services

_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
_SHA256 = r"^[0-9a-fA-F]{64}$"


def _range(name: str, **kwargs) -> serializers.Field:
    kind, low, high = bundles.PARAMETER_RANGES[name]
    field_class = serializers.IntegerField if kind is int else serializers.FloatField
    return field_class(required=False, min_value=low, max_value=high, **kwargs)


class GenerationParameters(inputs.Input):
    temperature = _range("temperature")
    top_p = _range("top_p")
    top_k = _range("top_k")
    max_tokens = _range("max_tokens")
    frequency_penalty = _range("frequency_penalty")
    presence_penalty = _range("presence_penalty")
    seed = _range("seed")
    stop = serializers.ListField(
        child=serializers.CharField(max_length=200, trim_whitespace=False),
        required=False,
        max_length=bundles.MAX_STOP_SEQUENCES,
    )


class FoundationModel(inputs.Input):
    provider = serializers.CharField(
        max_length=100, help_text="e.g. openai, anthropic, azure-openai, self-hosted"
    )
    model_id = serializers.CharField(max_length=200)
    version = serializers.CharField(
        max_length=100, required=False, help_text="The provider's model version, when it names one."
    )
    snapshot_date = serializers.RegexField(
        r"^\d{4}-\d{2}-\d{2}$", max_length=10, required=False, help_text="YYYY-MM-DD"
    )
    parameters = GenerationParameters(required=False)

    def validate_snapshot_date(self, value: str) -> str:
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise serializers.ValidationError("Give a date as YYYY-MM-DD.") from None
        return value


class PromptTemplate(inputs.Input):
    name = serializers.SlugField(max_length=100)
    text = serializers.CharField(max_length=bundles.MAX_PROMPT_CHARS, trim_whitespace=False)
    variables = serializers.ListField(
        child=serializers.RegexField(_IDENTIFIER, max_length=100),
        max_length=bundles.MAX_VARIABLES,
        default=list,
        help_text="Every {{ name }} the text uses, and nothing else.",
    )


class CorpusFile(inputs.Input):
    uri = serializers.CharField(max_length=2000)
    sha256 = serializers.RegexField(_SHA256)

    def validate_sha256(self, value: str) -> str:
        return value.lower()


class RetrievalCorpus(inputs.Input):
    datasets = serializers.ListField(
        child=dataset_reference_field(),
        required=False,
        max_length=bundles.MAX_CORPUS_DATASETS,
        help_text=DATASET_REFERENCE_HELP,
    )
    manifest = serializers.ListField(child=CorpusFile(), required=False, max_length=bundles.MAX_CORPUS_FILES)


class Tool(inputs.Input):
    name = serializers.CharField(max_length=200)
    version = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=bundles.TOOL_KINDS, default="tool")
    scopes = serializers.ListField(
        child=serializers.CharField(max_length=200), max_length=bundles.MAX_SCOPES, default=list
    )


class BundleComponents(inputs.Input):
    foundation_model = FoundationModel()
    prompt_templates = serializers.ListField(
        child=PromptTemplate(), min_length=1, max_length=bundles.MAX_PROMPT_TEMPLATES
    )
    retrieval_corpus = RetrievalCorpus(required=False)
    tools = serializers.ListField(child=Tool(), required=False, max_length=bundles.MAX_TOOLS)
    guardrails = ObjectField(required=False, help_text="The guardrail configuration, as deployed.")


class BundleInput(inputs.Input):
    bundle = BundleComponents()
    description = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    source_repository = serializers.CharField(required=False, allow_blank=True, max_length=500)
    source_commit = serializers.CharField(required=False, allow_blank=True, max_length=64)
    tags = StringMapField(required=False)
    parent = serializers.CharField(
        required=False, max_length=200, help_text="A version number of this model."
    )


class ModelBundleView(StrictQueryParameters, APIView):
    """Register a version of an LLM application as a bundle of components (idempotent by bundle digest)."""

    @extend_schema(request=BundleInput, responses={201: VersionOutput, 200: VersionOutput})
    def post(self, request, model_name=None):
        model = selectors.model_get(user=request.user, name=model_name)
        access.require(request.user, "change", model)
        serializer = BundleInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        components = _plain(data.pop("bundle"))
        references = (components.get("retrieval_corpus") or {}).pop("datasets", [])
        corpus = _datasets(request.user, references, "bundle.retrieval_corpus.datasets")
        metadata = version_services.VersionMetadata(
            parent=_parent(request.user, model.name, data.pop("parent", "")), **data
        )
        version, created = version_services.model_version_bundle_submit(
            actor=request.user, model=model, components=components, corpus_datasets=corpus, metadata=metadata
        )
        found = selectors.version_list(user=request.user, model=model).get(pk=version.pk)
        return Response(
            VersionOutput(found).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


def _plain(value):
    """Validated data as plain dicts and lists (DRF hands back OrderedDicts for nested serializers)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
