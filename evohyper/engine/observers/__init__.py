"""Observers: logging, progress, checkpoints and exports, kept apart from the algorithms."""
from evohyper.engine.observers.archive_export import ArchiveExporter
from evohyper.engine.observers.best_export import BestExporter, DecoderExporter
from evohyper.engine.observers.checkpointer import Checkpointer
from evohyper.engine.observers.csv_log import CsvLogger
from evohyper.engine.observers.error_log import ErrorLog
from evohyper.engine.observers.progress import ProgressBar
from evohyper.engine.observers.tensorboard import TensorBoardLogger

__all__ = ["ArchiveExporter", "BestExporter", "DecoderExporter", "Checkpointer", "CsvLogger", "ErrorLog", "ProgressBar",
           "TensorBoardLogger"]
