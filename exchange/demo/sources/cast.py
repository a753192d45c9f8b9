"""The demo's cast: fixed people and things that every seed and size contains.

The README and the tests pull these: a seller and a buyer for 二手房交易过户 (esf-transfer),
parents and a newborn for 新生儿出生一件事, a company and its legal representative for
企业开办一件事. Their identifiers never change with the seed or the number of people.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from exchange.demo.sources.people import COUNTY_BY_CODE, PeopleMaker

SELLER_ID = "330106197803154217"  # 陈建国, owns the flat with his wife, is selling it
SELLER_SPOUSE_ID = "330102198007222628"  # 沈丽华
SELLER_CHILD_ID = "330106200805201536"  # 陈子涵
BUYER_ID = "330212199011083117"  # 王晓明, from 宁波, works in 杭州 (社保, 个税)
FATHER_ID = "330102199205032512"  # 周浩
MOTHER_ID = "330109199409171826"  # 吴佳怡
NEWBORN_ID = "330102202610080029"  # 周一诺, born 2026-10-08
LEGAL_REP_ID = "330110198512020939"  # 林志强

PROPERTY_CERT_NO = "浙(2016)杭州市不动产权第0051234号"
UNIT_NO = "330106003002GB00218F00030502"  # GB/T 37346: 6+6+2+5+1+8 = 28 characters
PROPERTY_ADDRESS = "浙江省杭州市西湖区文三路138号翠苑3幢2单元502室"
PROPERTY_AREA = Decimal("89.37")
PROPERTY_REGISTERED_ON = date(2016, 8, 18)
PROPERTY_PRICE = Decimal("1850000.00")  # paid in 2016
PROPERTY_FILING_NO = "WQ3301062016004821"
MORTGAGE_CERT_NO = "浙(2016)杭州市不动产证明第0023456号"
SALE_PRICE = Decimal("3280000.00")
SALE_SIGNED_ON = date(2026, 10, 12)
CONTRACT_FILING_NO = "WQ3301062026001234"
BIRTH_CERT_NO = "T330168825"
COMPANY_USCC = "91330108MA2KC7XU5W"
COMPANY_NAME = "杭州云栖数澜科技有限公司"
COMPANY_ESTABLISHED_ON = date(2018, 6, 15)
NAME_DECLARATION_NO = "330110MC2026000087"
DECLARED_NAME = "杭州之江启明网络科技有限公司"


def samples() -> dict[str, str]:
    """Return keys that exist in the departments' data, for the README and a first pull."""
    return {
        "seller resident ID (公安 户籍/身份证, 民政 婚姻, owns the property)": SELLER_ID,
        "buyer resident ID (公安, 人社 社保 over HTTP, 税务 契税/个税)": BUYER_ID,
        "property certificate (自然资源 不动产权, 抵押; 住建 网签)": PROPERTY_CERT_NO,
        "real-estate unit number (税务 计税价格)": UNIT_NO,
        "newborn's mother (卫健 出生医学证明)": MOTHER_ID,
        "newborn resident ID (公安 户籍, 医保 参保登记)": NEWBORN_ID,
        "company USCC (市场监管 营业执照, 公安 印章)": COMPANY_USCC,
        "company name declaration (市场监管 名称自主申报)": NAME_DECLARATION_NO,
    }


def add_cast(maker: PeopleMaker) -> None:
    """Register the cast's three households before any random one."""
    seller_home = maker.household(COUNTY_BY_CODE["330106"], PROPERTY_ADDRESS)
    seller = maker.person(
        seller_home,
        male=True,
        born=date(1978, 3, 15),
        relation="户主",
        name="陈建国",
        id_number=SELLER_ID,
    )
    spouse = maker.person(
        seller_home,
        male=False,
        born=date(1980, 7, 22),
        relation="配偶",
        name="沈丽华",
        id_number=SELLER_SPOUSE_ID,
    )
    maker.marry(seller, spouse, date(2005, 10, 1))
    child = maker.person(
        seller_home,
        male=True,
        born=date(2008, 5, 20),
        relation="子",
        name="陈子涵",
        id_number=SELLER_CHILD_ID,
    )
    child.father, child.mother = seller, spouse

    buyer_home = maker.household(
        COUNTY_BY_CODE["330108"], "浙江省杭州市滨江区江南大道588号滨江花园12幢1单元1801室"
    )
    maker.person(
        buyer_home,
        male=True,
        born=date(1990, 11, 8),
        relation="户主",
        name="王晓明",
        id_number=BUYER_ID,
    )

    parents_home = maker.household(
        COUNTY_BY_CODE["330102"], "浙江省杭州市上城区望江路66号钱塘府5幢1单元902室"
    )
    father = maker.person(
        parents_home,
        male=True,
        born=date(1992, 5, 3),
        relation="户主",
        name="周浩",
        id_number=FATHER_ID,
    )
    mother = maker.person(
        parents_home,
        male=False,
        born=date(1994, 9, 17),
        relation="配偶",
        name="吴佳怡",
        id_number=MOTHER_ID,
    )
    maker.marry(father, mother, date(2021, 5, 20))
    baby = maker.person(
        parents_home,
        male=False,
        born=date(2026, 10, 8),
        relation="女",
        name="周一诺",
        id_number=NEWBORN_ID,
    )
    baby.father, baby.mother = father, mother

    rep_home = maker.household(
        COUNTY_BY_CODE["330110"], "浙江省杭州市余杭区文二路21号西溪雅苑7幢3单元601室"
    )
    maker.person(
        rep_home,
        male=True,
        born=date(1985, 12, 2),
        relation="户主",
        name="林志强",
        id_number=LEGAL_REP_ID,
    )
