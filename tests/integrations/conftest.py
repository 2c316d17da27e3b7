from tests.integrations.mlflow.fixtures import (  # noqa: F401 (fixtures for this folder's tests)
    allow_local,
    fresh_mlflow_server,
    mlflow_model_name,
    mlflow_server,
    registry,
    webhook_receiver,
)
