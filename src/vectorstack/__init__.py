"""vectorstack: a client library for a vector-search data stack (Milvus, Redis, Kafka, S3, metrics)."""

from vectorstack.config import MilvusConfig, RedisConfig
from vectorstack.errors import VectorStackError

__version__ = "0.1.0"
__all__ = ["MilvusConfig", "RedisConfig", "VectorStackError", "__version__"]
