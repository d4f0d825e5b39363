"""Callbacks: Keras's hooks around training, evaluation and prediction.

`fit` calls into Python only for the hooks a callback actually overrides, so callbacks
cost nothing when absent.
"""

from eigennet.callbacks.backup_and_restore import BackupAndRestore
from eigennet.callbacks.core import (
    Callback,
    CallbackList,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    LearningRateScheduler,
    MonitorCallback,
    ProgbarLogger,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from eigennet.callbacks.model_checkpoint import ModelCheckpoint
from eigennet.callbacks.tensorboard import TensorBoard

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "MonitorCallback",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TensorBoard",
    "TerminateOnNaN",
]
