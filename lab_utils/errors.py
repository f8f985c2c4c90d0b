"""Every exception the lab raises, in one place.

Each message says what went wrong and what to do about it, in one line, because students
read the last line of a traceback and the command line prints only that line.
"""


class LabError(Exception):
    """Base class: `str(err)` is one line that names the fix."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback (its hook for exceptions that explain themselves):
        the one line, as the command line prints it. The frames inside lab_utils would only hide it;
        `%tb` in the next cell still shows them."""
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]


class ConfigError(LabError):
    """A setting is missing or malformed."""


class ToolMissing(LabError):
    """Java, Maven or Go is missing or too old for the native stack (or Java for the Spark driver)."""


class PortInUse(LabError):
    """A port the stack needs is taken by another program."""


class ServiceDown(LabError):
    """Kafka or MinIO does not answer."""


class NotSetUp(ServiceDown):
    """Kafka and MinIO answer, but not as the configuration says: the topic is missing, the bucket
    is missing or not the lab's key's, the key is wrong, the Spark master does not answer.

    A ServiceDown, so code that asks "is the stack ready?" catches it too."""


class ServiceDied(LabError):
    """A service the stack started exited; the message holds the end of its log."""


class SetupFailed(LabError):
    """Fetching jars, building MinIO or configuring a service failed."""


class PipelineRefused(LabError):
    """`pipeline.start()` will not start: running it would break exactly-once."""


class CheckpointMismatch(PipelineRefused):
    """A checkpoint and its output folder are out of step (one was deleted or replaced without the other)."""


class CheckpointInUse(PipelineRefused):
    """Another running query (in this session or another process) uses the same checkpoint."""


class TopicRecreated(PipelineRefused):
    """The topic was deleted and created again since the checkpoint was written: its offsets name other messages."""


class QueryFailed(LabError):
    """A streaming query stopped with an error; the message says why in the lab's words and how to recover."""


class DataLoss(QueryFailed):
    """Kafka no longer holds messages the query had not read yet (topic re-created, retention)."""


class PromQLError(LabError):
    """Prometheus refused a PromQL query (a syntax error, an unknown function or metric type)."""


class ModelMissing(LabError):
    """No fraud model to score with (none trained yet, or not the version asked for)."""


class NotEnoughHistory(LabError):
    """Training found too little labelled history to fit and evaluate a model honestly."""
