"""Fills a live MLflow server with what Attest imports: run INSIDE the MLflow venv (var/mlflow-venv), never
by Attest's own interpreter, with MLFLOW_TRACKING_URI set (the ``mlflow_server`` fixture's ``run_script``
does both). Not a test module (pytest collects ``test_*.py`` only) and not importable from the app.

    populate.py sklearn NAME                     a registered LogisticRegression, alias champion, a tag
    populate.py onnx NAME                        the same model converted with skl2onnx, mlflow.onnx flavor
    populate.py dataset NAME                     a model whose run has training and validation datasets
    populate.py new-version NAME                 one more version of an existing registered model
    populate.py alias NAME ALIAS VERSION         points ALIAS at VERSION
    populate.py tag NAME VERSION KEY VALUE       sets a model-version tag
    populate.py unalias NAME ALIAS               deletes an alias
    populate.py untag NAME VERSION KEY           deletes a model-version tag
    populate.py webhook URL SECRET [EVENT ...]   an MLflow webhook (default: every model-version event)
    populate.py external-onnx NAME               an ONNX model whose weights are external data (refused)
    populate.py bulk NAME COUNT                  COUNT versions of NAME, each its own small ONNX model
    populate.py genai-eval NAME VERSION          an mlflow.genai.evaluate run of that version's logged model,
                                                 judged by two scorers, with people's labels on some rows

Each prints one JSON object as its last line of stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

MODEL_VERSION_EVENTS = [
    "model_version.created",
    "model_version_alias.created",
    "model_version_alias.deleted",
    "model_version_tag.set",
    "model_version_tag.deleted",
]
DATASET_SOURCE = "s3://attest-fixtures/credit"


def credit_frame(seed: int, rows: int = 60) -> pd.DataFrame:
    """A tiny synthetic credit frame whose label depends on income and debt, so the fit is not trivial."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "income": rng.normal(50.0, 15.0, rows).round(2),
            "debt_ratio": rng.uniform(0.0, 1.0, rows).round(3),
            "age": rng.integers(21, 70, rows).astype("float64"),
        }
    )
    frame["label"] = ((frame["debt_ratio"] * 60 - frame["income"] * 0.5 + rng.normal(0, 5, rows)) > 0).astype(
        "int64"
    )
    return frame


def features(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["label"])


def fit(frame: pd.DataFrame, c: float = 1.0) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=500).fit(features(frame), frame["label"])


def log_training(model: LogisticRegression, frame: pd.DataFrame, kind: str, c: float) -> dict:
    """Params, metrics and tags of the active run; returns them for the printed summary."""
    params = {"C": c, "max_iter": 500, "solver": model.solver}
    metrics = {
        "accuracy": float(model.score(features(frame), frame["label"])),
        "train_rows": float(len(frame)),
    }
    tags = {"team": "credit-risk", "attest.fixture": kind}
    mlflow.log_params(params)
    mlflow.log_metrics(metrics)
    mlflow.set_tags(tags)
    return {
        "params": {key: str(value) for key, value in params.items()},
        "metrics": metrics,
        "run_tags": tags,
    }


def log_sklearn(model: LogisticRegression, frame: pd.DataFrame, name: str):
    inputs = features(frame)
    return mlflow.sklearn.log_model(
        model,
        name="model",
        signature=infer_signature(inputs, model.predict(inputs)),
        input_example=inputs.head(3),
        registered_model_name=name,
    )


def summary(name: str, run, info, **extra) -> dict:
    return {
        "name": name,
        "version": str(info.registered_model_version),
        "run_id": run.info.run_id,
        "experiment_id": run.info.experiment_id,
        "model_id": info.model_id,
        "model_uri": info.model_uri,
        "artifact_uri": info.artifact_path,
        **extra,
    }


def cmd_sklearn(args) -> dict:
    frame = credit_frame(seed=1)
    model = fit(frame)
    with mlflow.start_run() as run:
        logged = log_training(model, frame, "sklearn", 1.0)
        info = log_sklearn(model, frame, args.name)
    version = str(info.registered_model_version)
    client = MlflowClient()
    client.set_registered_model_alias(args.name, "champion", version)
    client.set_model_version_tag(args.name, version, "validation_status", "pending")
    return summary(
        args.name,
        run,
        info,
        alias="champion",
        version_tags={"validation_status": "pending"},
        signature_inputs=list(features(frame).columns),
        flavor="sklearn",
        **logged,
    )


def cmd_onnx(args) -> dict:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    frame = credit_frame(seed=2)
    model = fit(frame)
    width = features(frame).shape[1]
    onnx_model = convert_sklearn(
        model, initial_types=[("input", FloatTensorType([None, width]))], options={"zipmap": False}
    )
    with mlflow.start_run() as run:
        logged = log_training(model, frame, "onnx", 1.0)
        info = mlflow.onnx.log_model(onnx_model, name="model", registered_model_name=args.name)
    return summary(args.name, run, info, flavor="onnx", **logged)


def dataset(frame: pd.DataFrame, part: str, source: str | None = None):
    return mlflow.data.from_pandas(
        frame, source=source or f"{DATASET_SOURCE}/{part}.csv", name=f"credit-{part}", targets="label"
    )


def served_csv(frame: pd.DataFrame, name: str) -> tuple[str, str]:
    """Log ``frame`` as a CSV artifact of the active run; returns the URL the tracking server serves it at
    (an HTTP dataset source, which Attest can read) and the file's SHA-256."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        frame.to_csv(path, index=False)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        mlflow.log_artifact(str(path), "datasets")
    proxied = mlflow.get_artifact_uri(f"datasets/{name}").removeprefix("mlflow-artifacts:/")
    return f"{mlflow.get_tracking_uri()}/api/2.0/mlflow-artifacts/artifacts/{proxied}", digest


def cmd_dataset(args) -> dict:
    """Training data served by the tracking server (http source); validation data on s3 (not reachable)."""
    train, valid = credit_frame(seed=3), credit_frame(seed=4, rows=30)
    model = fit(train)
    with mlflow.start_run() as run:
        url, served_sha256 = served_csv(train, "train.csv")
        datasets = [(dataset(train, "train", url), "training"), (dataset(valid, "valid"), "validation")]
        logged = log_training(model, train, "dataset", 1.0)
        for data, context in datasets:
            mlflow.log_input(data, context=context)
        info = log_sklearn(model, train, args.name)
    described = [
        {
            "name": data.name,
            "digest": data.digest,
            "context": context,
            "source": data.source.url if hasattr(data.source, "url") else data.source.uri,
        }
        for data, context in datasets
    ]
    return summary(
        args.name, run, info, datasets=described, served_sha256=served_sha256, flavor="sklearn", **logged
    )


def cmd_external_onnx(args) -> dict:
    """An ONNX model whose weights MLflow saves as external data (a tensor above onnx's 1 KiB threshold):
    Attest refuses it, since the file it would read is named by the uploader."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.arange(1024, dtype=np.float32).reshape(1024, 1), "weights")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["input", "weights"], ["output"])],
        "external",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 1024])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [None, 1])],
        initializer=[weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    with mlflow.start_run() as run:
        info = mlflow.onnx.log_model(
            model, name="model", registered_model_name=args.name, save_as_external_data=True
        )
    return summary(args.name, run, info, flavor="onnx")


def cmd_new_version(args) -> dict:
    seed = int(time.time_ns() % 10_000)
    frame = credit_frame(seed=seed)
    model = fit(frame, c=0.5)
    with mlflow.start_run() as run:
        logged = log_training(model, frame, "new-version", 0.5)
        info = log_sklearn(model, frame, args.name)
    return summary(args.name, run, info, flavor="sklearn", **logged)


def cmd_alias(args) -> dict:
    MlflowClient().set_registered_model_alias(args.name, args.alias, args.version)
    return {"name": args.name, "alias": args.alias, "version": args.version}


def cmd_tag(args) -> dict:
    MlflowClient().set_model_version_tag(args.name, args.version, args.key, args.value)
    return {"name": args.name, "version": args.version, "key": args.key, "value": args.value}


def cmd_unalias(args) -> dict:
    MlflowClient().delete_registered_model_alias(args.name, args.alias)
    return {"name": args.name, "alias": args.alias}


def cmd_untag(args) -> dict:
    MlflowClient().delete_model_version_tag(args.name, args.version, args.key)
    return {"name": args.name, "version": args.version, "key": args.key}


def cmd_webhook(args) -> dict:
    events = args.events or MODEL_VERSION_EVENTS
    webhook = MlflowClient().create_webhook(
        name=f"attest-{uuid.uuid4().hex[:8]}", url=args.url, events=events, secret=args.secret
    )
    return {"id": webhook.webhook_id, "url": webhook.url, "events": [str(event) for event in webhook.events]}


def tiny_onnx(bias: float) -> bytes:
    """A one-node ONNX model (y = x + bias): each version of the bulk registry its own bytes."""
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("Add", ["input", "bias"], ["output"])],
        "bulk",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 1])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [None, 1])],
        initializer=[numpy_helper.from_array(np.array([bias], dtype=np.float32), "bias")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


MLMODEL = """flavors:
  onnx:
    data: model.onnx
    onnx_version: 1.17.0
  python_function:
    loader_module: mlflow.onnx
    data: model.onnx
mlflow_version: {version}
signature:
  inputs: '[{{"type": "tensor", "tensor-spec": {{"dtype": "float32", "shape": [-1, 1]}}}}]'
  outputs: '[{{"type": "tensor", "tensor-spec": {{"dtype": "float32", "shape": [-1, 1]}}}}]'
"""


def cmd_bulk(args) -> dict:
    """COUNT versions, each its own small ONNX model (an MLflow model folder with its MLmodel), logged as
    the artifacts of one run in one upload, then one create_model_version call each with its own tags."""
    started = time.perf_counter()
    client = MlflowClient()
    client.create_registered_model(args.name)
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as folder:
        mlflow.log_params({"kind": "bulk", "count": args.count})
        mlflow.log_metric("auc", 0.75)
        for index in range(1, args.count + 1):
            model = Path(folder) / f"m{index}"
            model.mkdir()
            (model / "model.onnx").write_bytes(tiny_onnx(float(index)))
            (model / "MLmodel").write_text(MLMODEL.format(version=mlflow.__version__))
        mlflow.log_artifacts(folder, "models")
        root = run.info.artifact_uri
    prepared = time.perf_counter()
    for index in range(1, args.count + 1):
        client.create_model_version(
            args.name,
            source=f"{root}/models/m{index}",
            run_id=run.info.run_id,
            tags={"batch": "bulk", "index": str(index), "parity": "even" if index % 2 == 0 else "odd"},
        )
    finished = time.perf_counter()
    return {
        "name": args.name,
        "run_id": run.info.run_id,
        "count": args.count,
        "last_version": str(args.count),
        "seconds_setup": round(prepared - started, 3),
        "seconds_versions": round(finished - prepared, 3),
    }


JUDGE = "openai:/gpt-4o-mini"
EVALUATED_ROWS = 12
HUMAN_LABELLED = 8


def cmd_genai_eval(args) -> dict:
    """Stand-in judges (no model weights or network here): scorers whose feedback names ``JUDGE`` as its
    LLM_JUDGE source, as MLflow's built-in judges do; then a person's feedback on the correctness of the
    first ``HUMAN_LABELLED`` traces, disagreeing with the judge on two of them. Returns what the MLflow
    client reads back (the run's metrics, per trace the judge's and the person's verdicts)."""
    from mlflow.entities import AssessmentSource, Feedback
    from mlflow.genai.scorers import scorer

    judge = AssessmentSource(source_type="LLM_JUDGE", source_id=JUDGE)

    @scorer
    def correctness(outputs, expectations) -> Feedback:
        right = outputs == expectations["expected_response"]
        return Feedback(value="yes" if right else "no", rationale="compared with the reference", source=judge)

    @scorer
    def groundedness(inputs, outputs) -> Feedback:
        return Feedback(value=round(0.35 + 0.05 * (len(outputs) % 12), 2), source=judge)

    rows = [
        {
            "inputs": {"question": f"What is rule {row}?"},
            "outputs": f"Rule {row} says {'yes' if row % 3 else 'no'}.",
            "expectations": {"expected_response": f"Rule {row} says {'yes' if row % 4 else 'no'}."},
        }
        for row in range(EVALUATED_ROWS)
    ]
    version = MlflowClient().get_model_version(args.name, args.version)
    model_id = version.source.removeprefix("models:/")
    run_experiment = MlflowClient().get_run(version.run_id).info.experiment_id
    mlflow.set_experiment(experiment_id=run_experiment)
    result = mlflow.genai.evaluate(data=rows, scorers=[correctness, groundedness], model_id=model_id)
    person = AssessmentSource(source_type="HUMAN", source_id="rita@bank.example")
    traces = sorted(
        mlflow.search_traces(run_id=result.run_id, return_type="list"), key=lambda trace: trace.info.trace_id
    )
    for index, trace in enumerate(traces[:HUMAN_LABELLED]):
        judged = next(a for a in trace.info.assessments if a.name == "correctness")
        disagree = index in (1, 4)
        value = judged.value if not disagree else ("no" if judged.value == "yes" else "yes")
        mlflow.log_feedback(trace_id=trace.info.trace_id, name="correctness", value=value, source=person)
    labelled = {}
    for trace in mlflow.search_traces(run_id=result.run_id, return_type="list"):
        by_source = {(a.name, a.source.source_type): a.value for a in trace.info.assessments if a.valid}
        labelled[trace.info.trace_id] = {
            "judge_correctness": by_source.get(("correctness", "LLM_JUDGE")),
            "human_correctness": by_source.get(("correctness", "HUMAN")),
            "groundedness": by_source.get(("groundedness", "LLM_JUDGE")),
        }
    run = MlflowClient().get_run(result.run_id)
    return {
        "run_id": result.run_id,
        "experiment_id": run.info.experiment_id,
        "model_id": model_id,
        "metrics": dict(run.data.metrics),
        "judge": JUDGE,
        "traces": labelled,
    }


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = root.add_subparsers(dest="command", required=True)
    for command in ("sklearn", "onnx", "dataset", "new-version", "external-onnx"):
        commands.add_parser(command).add_argument("name")
    alias = commands.add_parser("alias")
    for field in ("name", "alias", "version"):
        alias.add_argument(field)
    tag = commands.add_parser("tag")
    for field in ("name", "version", "key", "value"):
        tag.add_argument(field)
    unalias = commands.add_parser("unalias")
    for field in ("name", "alias"):
        unalias.add_argument(field)
    untag = commands.add_parser("untag")
    for field in ("name", "version", "key"):
        untag.add_argument(field)
    webhook = commands.add_parser("webhook")
    webhook.add_argument("url")
    webhook.add_argument("secret")
    webhook.add_argument("events", nargs="*")
    genai = commands.add_parser("genai-eval")
    genai.add_argument("name")
    genai.add_argument("version")
    bulk = commands.add_parser("bulk")
    bulk.add_argument("name")
    bulk.add_argument("count", type=int)
    return root


COMMANDS = {
    "sklearn": cmd_sklearn,
    "onnx": cmd_onnx,
    "dataset": cmd_dataset,
    "external-onnx": cmd_external_onnx,
    "new-version": cmd_new_version,
    "alias": cmd_alias,
    "tag": cmd_tag,
    "unalias": cmd_unalias,
    "untag": cmd_untag,
    "webhook": cmd_webhook,
    "bulk": cmd_bulk,
    "genai-eval": cmd_genai_eval,
}


REPLY = "@@attest-populate "  # marks the serve loop's answers among what mlflow prints on stdout


def serve() -> int:
    """One command per stdin line (a JSON list of arguments), one ``REPLY``-marked JSON answer each: the
    fixture keeps this process, so mlflow and scikit-learn are imported once per test session, not per
    command (seconds each on two busy cores)."""
    for line in sys.stdin:
        try:
            command, *values = json.loads(line)
            # "--": values are never options, even a webhook secret that starts with "-" (token_urlsafe)
            args = parser().parse_args([command, "--", *values])
            answer = {"result": COMMANDS[args.command](args)}
        except BaseException as exc:  # the fixture raises it, with the traceback, in the test
            import traceback

            answer = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        print(REPLY + json.dumps(answer), flush=True)
    return 0


def main(argv: list[str]) -> int:
    if argv == ["serve"]:
        return serve()
    args = parser().parse_args(argv)
    result = COMMANDS[args.command](args)
    # one line, last: mlflow itself prints run links and progress on stdout before it
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
