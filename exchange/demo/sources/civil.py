"""公安 (population, ID cards, seals), 民政 (marriages, 低保, cremations), 卫健 (births, vaccines).

Column names are the department systems' own pinyin abbreviations (gmsfhm 公民身份号码,
xm 姓名, xb 性别 …), deliberately not the catalogue's item codes: the binding maps them.
"""

from __future__ import annotations

from datetime import date, timedelta

from exchange.demo.sources import cast, names
from exchange.demo.sources.model import (
    AS_OF,
    Dataset,
    add_years,
    between,
    day_between,
    moment_on,
    money,
    sub_rng,
)
from exchange.demo.sources.people import Marriage, Person
from exchange.demo.sources.world import World


def public_security(world: World) -> list[Dataset]:
    """Return 公安厅's tables: 常住人口, 居民身份证, 印章刻制备案."""
    rng = sub_rng(world.seed, "zj-gat")
    people = world.population.people
    czrk = [
        (
            p.id_number, p.name, p.former_name, p.gender, p.ethnicity, p.birth_date,
            f"浙江省{p.birth_county[1]}{p.birth_county[2]}", p.household.number,
            p.household.head.name, p.relation, p.household.address, p.household.station,
            p.moved_in_on, "正常",
        )
        for p in people
    ]  # fmt: skip
    cards = []
    for p in people:
        if p.age < 16:
            continue
        issued = day_between(rng, max(add_years(p.birth_date, 16), add_years(AS_OF, -10)), AS_OF)
        age = p.age - (AS_OF.year - issued.year)
        until = None if age >= 46 else add_years(issued, 10 if age < 26 else 20)  # None: 长期
        cards.append(
            (p.id_number, p.name, p.gender, p.ethnicity, p.birth_date, p.household.address,
             p.household.police, issued, until, None, "有效")
        )  # fmt: skip
    seals = []
    kinds = ("法定名称章", "财务专用章", "发票专用章", "合同专用章")
    for company in world.companies:
        county, city = company.county[0], company.county[1]
        for kind in kinds[: 4 if company.uscc == cast.COMPANY_USCC else between(rng, 1, 4)]:
            seals.append(
                (world.unique(lambda c=county: f"{c}{between(rng, 0, 9999999):07d}"),
                 company.uscc, company.name, kind, f"{city}{rng.choice(names.BRANDS)}印章有限公司",
                 company.established_on + timedelta(days=between(rng, 1, 10)), None)
            )  # fmt: skip
    return [
        Dataset("zj-gat", "czrk", "常住人口基本信息", (
            ("gmsfhm", "text"), ("xm", "text"), ("cym", "text"), ("xb", "text"), ("mz", "text"),
            ("csrq", "date"), ("csdssxq", "text"), ("hh", "text"), ("hzxm", "text"),
            ("yhzgx", "text"), ("zz", "text"), ("djjg", "text"), ("qrrq", "date"),
            ("hkzt", "text"),
        ), czrk),
        Dataset("zj-gat", "jmsfz", "居民身份证证件信息", (
            ("gmsfhm", "text"), ("xm", "text"), ("xb", "text"), ("mz", "text"), ("csrq", "date"),
            ("zz", "text"), ("qfjg", "text"), ("yxqqsrq", "date"), ("yxqjzrq", "date"),
            ("zp", "blob"), ("zjzt", "text"),
        ), cards),
        Dataset("zj-gat", "yzba", "印章刻制备案", (
            ("yzbm", "text"), ("tyshxydm", "text"), ("dwmc", "text"), ("yzlx", "text"),
            ("kzdw", "text"), ("barq", "date"), ("yzty", "blob"),
        ), seals, keys=("tyshxydm", "yzbm")),
    ]  # fmt: skip


def _certificate(m: Marriage, seq: int) -> str:
    """Return a 结婚证/离婚证 number: J or L, the registry's county code, year, sequence."""
    prefix = "J" if m.kind == "结婚登记" else "L"
    return f"{prefix}{m.county[0]}-{m.on.year}-{seq:06d}"


def civil_affairs(world: World) -> list[Dataset]:
    """Return 民政厅's tables: 婚姻登记记录, 婚姻状况, 低保救助 (a CSV export), 殡葬火化."""
    rng = sub_rng(world.seed, "zj-mzt")
    pop = world.population
    records = []
    latest: dict[str, tuple[Person, Marriage, str]] = {}  # resident ID → (spouse, record, cert)
    seqs: dict[tuple[str, int], int] = {}
    for i, m in enumerate(pop.marriages, start=1):
        key = (m.county[0], m.on.year)
        seqs[key] = seqs.get(key, between(rng, 100, 900)) + between(rng, 1, 9)
        cert = _certificate(m, seqs[key])
        office = f"{m.county[1]}{m.county[2]}民政局婚姻登记处"
        records.append(
            (f"HY{i:08d}", m.kind, m.husband.id_number, m.husband.name, m.wife.id_number,
             m.wife.name, cert, m.on, office)
        )  # fmt: skip
        latest[m.husband.id_number] = (m.wife, m, cert)
        latest[m.wife.id_number] = (m.husband, m, cert)
    dead = {d.person.id_number for d in pop.deaths}
    status_rows = []
    for person in pop.people:
        if person.id_number not in latest:
            continue
        spouse, m, cert = latest[person.id_number]
        status = (
            "离婚" if m.kind == "离婚登记" else ("丧偶" if spouse.id_number in dead else "已婚")
        )
        office = f"{m.county[1]}{m.county[2]}民政局婚姻登记处"
        status_rows.append(
            (person.id_number, person.name, status, spouse.id_number, spouse.name, m.kind, cert,
             m.on, office)
        )  # fmt: skip
    relief = []
    for home in pop.households:
        if rng.random() < 0.015 and home.head.id_number not in (cast.SELLER_ID, cast.BUYER_ID):
            size = len(home.members)
            kind = rng.choice(("城市低保", "农村低保", "特困供养"))
            relief.append(
                (home.head.id_number, home.head.name, kind, size, money(size * 113000),
                 day_between(rng, date(2018, 1, 1), AS_OF), rng.choice(("在保", "在保", "停保")),
                 home.county[0])
            )  # fmt: skip
    cremations = []
    for death in pop.deaths:
        county = death.person.county
        number = world.unique(
            lambda c=county[0], d=death.died_on: f"{c}HH{d.year}{between(rng, 0, 99999):05d}"
        )
        cremations.append(
            (death.person.id_number, death.person.name, death.died_on,
             death.died_on + timedelta(days=between(rng, 1, 3)), f"{county[1]}殡仪馆", number)
        )  # fmt: skip
    return [
        Dataset("zj-mzt", "hydj", "婚姻登记记录", (
            ("ywlsh", "text"), ("djlx", "text"), ("nfsfzh", "text"), ("nfxm", "text"),
            ("nvfsfzh", "text"), ("nvfxm", "text"), ("zsbh", "text"), ("djrq", "date"),
            ("djjg", "text"),
        ), records, keys=("nfsfzh", "nvfsfzh")),
        Dataset("zj-mzt", "hyzk", "婚姻状况（按当事人）", (
            ("sfzh", "text"), ("xm", "text"), ("hyzk", "text"), ("posfzh", "text"),
            ("poxm", "text"), ("djlx", "text"), ("zsbh", "text"), ("djrq", "date"),
            ("djjg", "text"),
        ), status_rows),
        Dataset("zj-mzt", "dbjz", "低保救助对象", (
            ("sfzh", "text"), ("xm", "text"), ("jzlx", "text"), ("jtrk", "int"),
            ("ybje", "decimal"), ("pzrq", "date"), ("jzzt", "text"), ("xzqhdm", "text"),
        ), relief, store="csv"),
        Dataset("zj-mzt", "bzhh", "殡葬火化信息", (
            ("swzsfzh", "text"), ("swzxm", "text"), ("swrq", "date"), ("hhrq", "date"),
            ("byg", "text"), ("hhzmbh", "text"),
        ), cremations),
    ]  # fmt: skip


_VACCINES = (  # 国家免疫规划: vaccine, dose, age in days
    ("乙肝疫苗", 1, 0), ("卡介苗", 1, 0), ("乙肝疫苗", 2, 30), ("脊灰灭活疫苗", 1, 60),
    ("脊灰灭活疫苗", 2, 90), ("百白破疫苗", 1, 90), ("百白破疫苗", 2, 120),
    ("百白破疫苗", 3, 150), ("乙肝疫苗", 3, 180), ("麻腮风疫苗", 1, 240),
    ("乙脑减毒活疫苗", 1, 240), ("甲肝减毒活疫苗", 1, 540),
)  # fmt: skip


def health(world: World) -> list[Dataset]:
    """Return 卫健委's tables: 出生医学证明 and 预防接种 (a CSV export of the 接种 system)."""
    rng = sub_rng(world.seed, "zj-wjw")
    births = []
    shots = []
    for child in world.population.people:
        mother, father = child.mother, child.father
        if mother is None or child.birth_date.year < 2010:
            continue
        county = child.birth_county
        letter = "LOQT"[min(3, (child.birth_date.year - 2010) // 4)]
        number = (
            cast.BIRTH_CERT_NO
            if child.id_number == cast.NEWBORN_ID
            else world.unique(lambda lt=letter: f"{lt}{330000000 + between(rng, 0, 999999):09d}")
        )
        hospital = names.HOSPITALS[county[1]]
        births.append(
            (number, child.name, child.gender, moment_on(rng, child.birth_date),
             between(rng, 2500, 4200), f"浙江省{county[1]}{county[2]}", mother.id_number,
             mother.name, father.id_number if father else None, father.name if father else None,
             hospital, child.birth_date + timedelta(days=between(rng, 0, 3)))
        )  # fmt: skip
        if child.age > 6:
            continue
        booklet = f"{child.county[0]}{between(rng, 0, 99999999):08d}"
        clinic = f"{child.county[2]}{child.household.quarter}社区卫生服务中心"
        for vaccine, dose, days in _VACCINES:
            on = child.birth_date + timedelta(days=days + (0 if days == 0 else between(rng, 0, 20)))
            if on > AS_OF:
                break
            shots.append(
                (child.id_number, child.name, vaccine, dose, on, hospital if days == 0 else clinic,
                 f"{on.year}{between(rng, 1, 12):02d}{between(rng, 1, 999):03d}", booklet)
            )  # fmt: skip
    return [
        Dataset("zj-wjw", "csyxzm", "出生医学证明", (
            ("cszmbh", "text"), ("xsexm", "text"), ("xsexb", "text"), ("cssj", "datetime"),
            ("tz", "int"), ("csdd", "text"), ("mqsfzh", "text"), ("mqxm", "text"),
            ("fqsfzh", "text"), ("fqxm", "text"), ("jsjg", "text"), ("qfrq", "date"),
        ), births, keys=("mqsfzh", "cszmbh")),
        Dataset("zj-wjw", "yfjz", "预防接种记录", (
            ("sfzh", "text"), ("xm", "text"), ("ymmc", "text"), ("jc", "int"), ("jzrq", "date"),
            ("jzdw", "text"), ("ymph", "text"), ("jzzh", "text"),
        ), shots, store="csv"),
    ]  # fmt: skip
