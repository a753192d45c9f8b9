"""Who publishes the catalogue and where it applies: the province this hub serves."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogProfile:
    """The catalogue-wide facts DCAT-AP asks for that no catalogue entry carries."""

    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    publisher_code: str
    publisher_name_zh: str
    publisher_name_en: str
    region_zh: str
    region_en: str
    # WKT in CRS84 (longitude latitude), as dcat:bbox / dcat:centroid expect.
    region_bbox_wkt: str
    region_centroid_wkt: str


# 浙江省: 东经 118°01′–123°10′, 北纬 27°02′–31°11′.
ZHEJIANG = CatalogProfile(
    title_zh="浙江省公共数据共享目录",
    title_en="Zhejiang Province public data sharing catalogue",
    description_zh=(
        "浙江省公共数据共享交换平台（DataRun）已发布的政务信息资源目录，"
        "按《政务信息资源目录编制指南（试行）》编制，供各级政务部门申请共享使用。"
    ),
    description_en=(
        "The published government information resources of the Zhejiang public data "
        "sharing exchange (DataRun), catalogued per the national cataloguing guide and "
        "shared with government departments on request."
    ),
    publisher_code="zj-dsj",
    publisher_name_zh="浙江省大数据发展管理局",
    publisher_name_en="Zhejiang Provincial Big Data Development Administration",
    region_zh="浙江省",
    region_en="Zhejiang Province",
    region_bbox_wkt=(
        "POLYGON((118.02 27.03, 123.17 27.03, 123.17 31.18, 118.02 31.18, 118.02 27.03))"
    ),
    region_centroid_wkt="POINT(120.15 29.16)",
)
