"""Ready application bodies for the demo province's three one-things, with the cast's keys.

``datarun demo application-example esf-transfer`` prints one: POST it to
``/v1/applications`` as the one-thing's window system (with an ``Idempotency-Key``) and the
hub pulls its materials from the demo departments' data.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

from exchange.demo.sources import cast
from exchange.grants.policy import hub_today

# The window system that accepts each one-thing (its department holds the demo grants).
WINDOWS = {
    "esf-transfer": "zj-zrzyt-window",
    "newborn": "zj-wjw-window",
    "company-start": "zj-scjgj-window",
}
# A one-page PDF standing in for a signed form the applicant brings.
FORM_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _pdf(material: str, filename: str) -> dict[str, str]:
    return {
        "material": material,
        "filename": filename,
        "content_type": "application/pdf",
        "content_base64": base64.b64encode(FORM_PDF).decode("ascii"),
    }


def esf_transfer(*, form: bool = True) -> dict[str, Any]:
    """二手房交易过户: the seller 陈建国 applies; the buyer 王晓明's materials by his ID.

    ``form=False``: without the signed registration application (no files at all).
    """
    buyer = cast.BUYER_ID
    return {
        "one_thing": "esf-transfer",
        "applicant": {
            "kind": "person",
            "name": "陈建国",
            "identifiers": {
                "resident_id": cast.SELLER_ID,
                "property_cert_no": cast.PROPERTY_CERT_NO,
                "unit_no": cast.UNIT_NO,
            },
        },
        "material_keys": {
            "buyer_id": buyer,
            "deed_tax_receipt": buyer,
            "purchase_eligibility": buyer,
            "buyer_social_insurance": buyer,
            "buyer_tax_record": buyer,
        },
        "consent_to_fetch": True,
        "files": [_pdf("registration_application", "不动产登记申请书.pdf")] if form else [],
        "pending": [],
    }


def newborn() -> dict[str, Any]:
    """新生儿出生一件事: the mother 吴佳怡 applies for 周一诺; the photo follows (容缺)."""
    return {
        "one_thing": "newborn",
        "applicant": {
            "kind": "person",
            "name": "吴佳怡",
            "identifiers": {
                "resident_id": cast.MOTHER_ID,
                "newborn_resident_id": cast.NEWBORN_ID,
            },
        },
        "material_keys": {"parents_id": cast.FATHER_ID},
        "consent_to_fetch": True,
        "files": [_pdf("birth_registration_form", "出生登记申请表.pdf")],
        "pending": [
            {
                "material": "newborn_photo",
                "promised_by": (hub_today() + timedelta(days=7)).isoformat(),
            }
        ],
    }


def company_start() -> dict[str, Any]:
    """企业开办一件事: 林志强 registers the company whose name was declared; seal later (容缺)."""
    promised = (hub_today() + timedelta(days=10)).isoformat()
    return {
        "one_thing": "company-start",
        "applicant": {
            "kind": "organisation",
            "name": cast.DECLARED_NAME,
            "identifiers": {"name_declaration_no": cast.NAME_DECLARATION_NO},
        },
        "material_keys": {
            "legal_rep_id": cast.LEGAL_REP_ID,
            "shareholder_id": cast.LEGAL_REP_ID,
            "domicile_proof": cast.PROPERTY_CERT_NO,
        },
        "consent_to_fetch": True,
        "files": [_pdf("articles_of_association", "公司章程.pdf")],
        "pending": [
            {"material": "seal_filing", "promised_by": promised},
            {"material": "tax_staff_info", "promised_by": promised},
        ],
    }


EXAMPLES = {"esf-transfer": esf_transfer, "newborn": newborn, "company-start": company_start}


def example(one_thing: str) -> dict[str, Any]:
    """Return the example body for a demo one-thing (KeyError for another)."""
    return EXAMPLES[one_thing]()
