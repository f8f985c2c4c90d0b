"""lab_utils: the plumbing behind the streaming lab's notebooks, one call away.

    import lab_utils
    cfg = lab_utils.config.load()      # every setting, from the environment, .env, defaults
    spark = lab_utils.get_spark()      # the SparkSession with Kafka + S3A (MinIO) ready
    df = lab_utils.storage.read_committed("output")   # committed Parquet only, into pandas
"""

from . import config, errors, storage
from .session import get_spark

__all__ = ["config", "errors", "get_spark", "storage"]
