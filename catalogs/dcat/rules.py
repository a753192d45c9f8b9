"""Pure mappings from our catalogue codes to DCAT-AP / Table Schema terms, and the export's IRIs."""

from __future__ import annotations

from dataclasses import dataclass

from catalogs.dcat import vocab

# 信息项 data type (《政务信息资源目录编制指南》) → Frictionless Table Schema type and format.
FIELD_TYPES: dict[str, tuple[str, str | None, str]] = {
    "C": ("string", None, "字符型 C"),
    "N": ("number", None, "数值型 N"),
    "Y": ("number", None, "货币型 Y"),
    "D": ("date", None, "日期型 D"),
    "T": ("datetime", None, "日期时间型 T"),
    "L": ("boolean", None, "逻辑型 L"),
    "M": ("string", None, "备注型 M"),
    "G": ("any", None, "通用型 G"),
    "B": ("string", "binary", "二进制 B (base64)"),
    "I": ("integer", None, "整型 I"),
    "F": ("number", None, "浮点型 F"),
}

SENSITIVITY_LABELS = {1: "公开", 2: "内部", 3: "敏感", 4: "高度敏感"}


def access_right_iri(share_type: str) -> str:
    """Map a sharing type to its EU access-right IRI; unknown is NON_PUBLIC (fail closed)."""
    return vocab.ACCESS_RIGHT + vocab.ACCESS_RIGHTS.get(share_type, "NON_PUBLIC")


def frequency_iri(update_cycle: str) -> str | None:
    """Map an update cycle (更新周期) to its EU Frequency IRI, or None when unknown."""
    code = vocab.FREQUENCIES.get(update_cycle)
    return vocab.FREQUENCY + code if code else None


def publisher_type_iri(level: str) -> str:
    """Map a department level to its ADMS publisher type IRI."""
    return vocab.PUBLISHER_TYPE + vocab.PUBLISHER_TYPES.get(level, "RegionalAuthority")


def is_shareable(share_type: str) -> bool:
    """Tell whether the hub's record-pull service may ever serve a resource of this type."""
    return share_type in ("unconditional", "conditional")


def field_type(data_type: str) -> tuple[str, str | None, str]:
    """Return (Table Schema type, format or None, Chinese label) for a 信息项 data type code."""
    return FIELD_TYPES.get(data_type, ("any", None, f"未知类型 {data_type}"))


@dataclass(frozen=True)
class Links:
    """The IRIs and URLs the export points at, all under the hub's public base URL."""

    base: str

    @classmethod
    def for_base(cls, base_url: str) -> Links:
        """Build the links for ``base_url`` (a trailing slash is ignored)."""
        return cls(base_url.rstrip("/"))

    @property
    def document(self) -> str:
        """Return the URL of the JSON-LD document itself."""
        return f"{self.base}/catalog.jsonld"

    def local(self, name: str) -> str:
        """Return the IRI of a node described only inside the catalogue document."""
        return f"{self.document}#{name}"

    def dataset(self, code: str) -> str:
        """Return a dataset's IRI: the resource's address in the catalogue API."""
        return f"{self.base}/v1/catalog/resources/{code}"

    def department(self, code: str) -> str:
        """Return a department's address in the hub API."""
        return f"{self.base}/v1/departments/{code}"

    def table_schema(self, code: str) -> str:
        """Return the URL of a resource's Frictionless Table Schema."""
        return f"{self.base}/catalog/table-schemas/{code}"

    def lookup(self, code: str) -> str:
        """Return the record-pull (lookup) API URL of a resource."""
        return f"{self.base}/v1/records/{code}/lookup"

    @property
    def records_endpoint(self) -> str:
        """Return the record-pull API's endpoint URL."""
        return f"{self.base}/v1/records"

    @property
    def openapi(self) -> str:
        """Return the hub's OpenAPI description URL."""
        return f"{self.base}/openapi.json"

    @property
    def homepage(self) -> str:
        """Return the hub's human-readable API documentation page."""
        return f"{self.base}/docs"
