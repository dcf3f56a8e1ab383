"""The vector store on Milvus: declared schemas, batched writes, filtered search, indexes, partitions."""

from vectorstack.milvus.records import BatchResult, CollectionInfo, WriteResult
from vectorstack.milvus.schema import CollectionSchema, FieldSpec, IndexSpec
from vectorstack.milvus.store import Hit, VectorStore

__all__ = [
    "BatchResult",
    "CollectionInfo",
    "CollectionSchema",
    "FieldSpec",
    "Hit",
    "IndexSpec",
    "VectorStore",
    "WriteResult",
]
