from tests.integrations.mlflow.fixtures import (  # noqa: F401 (fixtures for this folder's tests)
    fresh_mlflow_server,
    mlflow_model_name,
    mlflow_server,
    webhook_receiver,
)
