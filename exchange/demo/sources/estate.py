"""自然资源 (不动产登记, 抵押), 住建 (网签备案, 公积金) and 税务 (计税价格, 契税, 个税)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from exchange.demo.sources.model import (
    AS_OF,
    Dataset,
    add_years,
    between,
    day_between,
    money,
    sub_rng,
)
from exchange.demo.sources.world import CITY_PRICE, Flat, World

_CENT = Decimal("0.01")


def _joined(flat: Flat, attr: str) -> str:
    return "、".join(getattr(owner, attr) for owner in flat.owners)


def natural_resources(world: World) -> list[Dataset]:
    """Return 自然资源厅's tables: 不动产权登记 and 抵押登记 (in its DuckDB database)."""
    rng = sub_rng(world.seed, "zj-zrzyt")
    rights = []
    mortgages = []
    for flat in world.flats:
        land_from = add_years(flat.registered_on, -between(rng, 0, 15)).replace(day=1)
        land_to = add_years(land_from, 70) - timedelta(days=1)
        term = f"{land_from:%Y年%m月%d日}起{land_to:%Y年%m月%d日}止"
        rights.append(
            (
                flat.cert_no,
                flat.unit_no,
                _joined(flat, "name"),
                _joined(flat, "id_number"),
                flat.co_ownership,
                flat.location,
                "国有建设用地使用权/房屋所有权",
                "出让/市场化商品房",
                "城镇住宅用地/住宅",
                flat.area,
                term,
                flat.registered_on,
            )
        )
        m = flat.mortgage
        if m is not None:
            mortgages.append(
                (
                    flat.cert_no,
                    m.cert_no,
                    m.mortgagee,
                    _joined(flat, "name"),
                    m.amount,
                    m.start,
                    m.end,
                    m.start,
                    m.cancelled,
                )
            )
    return [
        Dataset("zj-zrzyt", "bdc_qlxx", "不动产权利信息", (
            ("bdcqzh", "text"), ("bdcdyh", "text"), ("qlr", "text"), ("qlrzjh", "text"),
            ("gyqk", "text"), ("zl", "text"), ("qllx", "text"), ("qlxz", "text"), ("yt", "text"),
            ("jzmj", "decimal"), ("syqx", "text"), ("djsj", "date"),
        ), rights, keys=("bdcqzh", "bdcdyh")),
        Dataset("zj-zrzyt", "bdc_dyaq", "不动产抵押权登记", (
            ("bdcqzh", "text"), ("bdcdjzmh", "text"), ("dyqr", "text"), ("dyr", "text"),
            ("bdbzzqse", "decimal"), ("zwlxqssj", "date"), ("zwlxjssj", "date"),
            ("djsj", "date"), ("sfzx", "bool"),
        ), mortgages),
    ]  # fmt: skip


def housing(world: World) -> list[Dataset]:
    """Return 住建厅's tables: 存量房网签备案 and 住房公积金缴存 (in its DuckDB database)."""
    rng = sub_rng(world.seed, "zj-zjt")
    contracts = []
    for flat in world.flats:
        sale = flat.sale
        if sale is None:
            continue
        contracts.append(
            (
                sale.filing_no,
                "存量房买卖合同",
                flat.cert_no,
                flat.location,
                flat.area,
                sale.price,
                _joined(flat, "name"),
                _joined(flat, "id_number"),
                sale.buyer.name,
                sale.buyer.id_number,
                sale.payment,
                sale.signed_on,
                sale.filed_on,
            )
        )
    funds = []
    for person in world.population.people:
        company = world.employer.get(person.id_number)
        if company is None or rng.random() > 0.7:
            continue
        base = between(rng, 3000, 35000)
        monthly = money(round(base * 0.24) * 100)
        months = max(1, (AS_OF - world.hired_on[person.id_number]).days // 30)
        funds.append(
            (
                person.id_number,
                person.name,
                f"{between(rng, 10**11, 10**12 - 1)}",
                company.name,
                money(base * 100),
                monthly,
                "正常",
                f"{AS_OF:%Y-%m}",
                (monthly * months * Decimal(rng.uniform(0.2, 0.9))).quantize(_CENT),
            )
        )
    return [
        Dataset("zj-zjt", "wqba", "存量房买卖合同网签备案", (
            ("htbah", "text"), ("htlx", "text"), ("bdcqzh", "text"), ("fwzl", "text"),
            ("jzmj", "decimal"), ("cjje", "decimal"), ("cmrxm", "text"), ("cmrzjhm", "text"),
            ("msrxm", "text"), ("msrzjhm", "text"), ("fkfs", "text"), ("qyrq", "date"),
            ("barq", "date"),
        ), contracts, keys=("bdcqzh", "htbah")),
        Dataset("zj-zjt", "gjj_jcxx", "住房公积金个人缴存信息", (
            ("zjhm", "text"), ("xm", "text"), ("grzh", "text"), ("dwmc", "text"),
            ("jcjs", "decimal"), ("yjce", "decimal"), ("zhzt", "text"), ("jzny", "text"),
            ("zhye", "decimal"),
        ), funds),
    ]  # fmt: skip


# 综合所得 annual brackets: upper bound of taxable income, rate, quick deduction (速算扣除数).
_BRACKETS = (
    (36000, 3, 0), (144000, 10, 2520), (300000, 20, 16920), (420000, 25, 31920),
    (660000, 30, 52920), (960000, 35, 85920), (10**12, 45, 181920),
)  # fmt: skip


def income_tax(income: int, deductions: int) -> Decimal:
    """Return the year's individual income tax on 综合所得 (60,000 yuan basic deduction)."""
    taxable = max(0, income - 60000 - deductions)
    for bound, rate, quick in _BRACKETS:
        if taxable <= bound:
            return Decimal(taxable * rate - quick * 100).scaleb(-2).quantize(_CENT)
    raise AssertionError("unreachable")


def taxation(world: World) -> list[Dataset]:
    """Return 税务局's Parquet exports: 存量房计税价格, 契税完税, 个人所得税年度汇总."""
    rng = sub_rng(world.seed, "zj-tax")
    assessed = []
    deed = []
    for flat in world.flats:
        county = flat.county
        unit_price = money(round(CITY_PRICE[county[1]] * rng.uniform(0.7, 1.3)) * 100)
        on = day_between(rng, date(AS_OF.year, 1, 1), AS_OF)
        assessed.append(
            (
                flat.unit_no,
                flat.location,
                flat.area,
                unit_price,
                (unit_price * flat.area).quantize(_CENT, ROUND_HALF_UP),
                on,
                add_years(on, 1) - timedelta(days=1),
            )
        )
        office = f"国家税务总局{county[1]}{county[2]}税务局"
        rate = Decimal("0.0100") if flat.area <= 140 else Decimal("0.0150")
        paid = [
            (
                flat.owners[0],
                flat.price,
                flat.registered_on - timedelta(days=between(rng, 1, 15)),
                flat.filing_no,
            )
        ]
        if flat.sale is not None and flat.sale.tax_paid_on is not None:
            paid.append(
                (flat.sale.buyer, flat.sale.price, flat.sale.tax_paid_on, flat.sale.filing_no)
            )
        for payer, base, on, filing in paid:
            number = world.unique(
                lambda c=county[0], d=on: f"3{c[2:]}{d:%y}{between(rng, 0, 10**11 - 1):011d}"
            )
            deed.append(
                (
                    number,
                    payer.id_number,
                    payer.name,
                    flat.location,
                    filing,
                    base,
                    rate,
                    (base * rate).quantize(_CENT, ROUND_HALF_UP),
                    on,
                    office,
                )
            )
    returns = []
    for person in world.population.people:
        company = world.employer.get(person.id_number)
        if company is None:
            continue
        salary = rng.lognormvariate(11.6, 0.5)
        for year in (2023, 2024, 2025):
            if world.hired_on[person.id_number].year > year:
                continue
            income = int(salary * rng.uniform(0.9, 1.15))
            returns.append(
                (
                    person.id_number,
                    person.name,
                    str(year),
                    "综合所得",
                    money(income * 100),
                    income_tax(income, rng.choice((0, 12000, 24000, 36000))),
                    company.name,
                )
            )
    return [
        Dataset("zj-tax", "clfjsjg", "存量房交易计税价格", (
            ("bdcdyh", "text"), ("fwzl", "text"), ("jzmj", "decimal"), ("pgdj", "decimal"),
            ("pgzj", "decimal"), ("pgrq", "date"), ("yxqz", "date"),
        ), assessed, store="parquet"),
        Dataset("zj-tax", "qswsxx", "契税完税信息", (
            ("wszmhm", "text"), ("nsrsbh", "text"), ("nsrmc", "text"), ("fdczl", "text"),
            ("htbah", "text"), ("jsyj", "decimal"), ("sl", "rate"), ("sjse", "decimal"),
            ("jkrq", "date"), ("zsswjg", "text"),
        ), deed, store="parquet"),
        Dataset("zj-tax", "grsdsnd", "个人所得税年度汇总", (
            ("zjhm", "text"), ("xm", "text"), ("sssq", "text"), ("sdxm", "text"),
            ("sre", "decimal"), ("ynse", "decimal"), ("kjywr", "text"),
        ), returns, store="parquet"),
    ]  # fmt: skip
