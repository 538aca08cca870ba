"""Monitoring: recent inputs, drift, anomalous inputs, provenance, the training-data audit and
retraining triggers — the measurements behind a model's security posture."""

from assistant.monitoring.monitor import Measurements, Monitor, MonitorReport

__all__ = ["Measurements", "Monitor", "MonitorReport"]
