"""Pure metric functions on NumPy/pandas data: no Django, JSON-safe results (no NaN or inf).

- ``drift``: ``build_reference_profile``, ``compare_with_profile``, ``dataset_drift``, ``column_drift``,
  ``prediction_drift`` (settings in ``drift_config``, each statistic declared in ``drift_statistics`` and
  computed by ``stattests``, the profile in ``profile``)
- ``fairness``: ``fairness_report``
- ``explain``: ``explain_model``
- ``performance``: ``binary_classification_report``, ``regression_report``
- ``quality``: ``data_quality_report``
- ``errors``: ``MetricsError`` (a ``ValueError``) and its subclasses

Modules are imported explicitly (``from monitoring.metrics.drift import ...``) so that using one does not
import shap or scikit-learn for the others.
"""
