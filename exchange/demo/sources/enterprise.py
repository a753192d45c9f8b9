"""市场监管 (企业登记, 名称申报), 人社 (社保参保, 社保卡) and 医保 (参保, 新生儿参保)."""

from __future__ import annotations

from datetime import timedelta

from exchange.demo.sources import cast, names
from exchange.demo.sources.model import AS_OF, Dataset, between, day_between, money, sub_rng
from exchange.demo.sources.world import World


def market_regulation(world: World) -> list[Dataset]:
    """Return 市场监管局's CSV exports: 企业登记注册信息 and 企业名称自主申报."""
    rng = sub_rng(world.seed, "zj-scjgj")
    companies = []
    declarations = []
    for c in world.companies:
        county = c.county
        companies.append(
            (
                c.uscc,
                c.name,
                c.company_type,
                c.legal_rep.name,
                c.legal_rep.id_number,
                c.capital,
                c.established_on,
                c.term_until,
                c.domicile,
                c.scope,
                f"{county[1]}{county[2]}市场监督管理局",
                c.status,
            )
        )
        declared = c.established_on - timedelta(days=between(rng, 3, 25))
        declarations.append(
            (
                c.declaration_no,
                c.name,
                c.legal_rep.id_number,
                c.trade,
                "股份有限公司" if c.name.endswith("股份有限公司") else "有限公司",
                declared,
                declared + timedelta(days=30),
                "已使用",
            )
        )
    # A few names declared lately and still reserved: a company being set up (企业开办).
    reps = world.population.adults(25, 65)
    for i in range(max(3, len(world.companies) // 20)):
        rep = world.population.by_id[cast.LEGAL_REP_ID] if i == 0 else rng.choice(reps)
        trade = names.TRADES[1][0] if i == 0 else rng.choice(names.TRADES)[0]
        city = rep.county[1][:-1]
        number = (
            cast.NAME_DECLARATION_NO
            if i == 0
            else world.unique(
                lambda c=rep.county[0]: f"{c}MC{AS_OF.year}{between(rng, 0, 999999):06d}"
            )
        )
        name = (
            cast.DECLARED_NAME
            if i == 0
            else world.unique(
                lambda ct=city, t=trade: (
                    f"{ct}{rng.choice(names.BRANDS)}{rng.choice(names.BRANDS)}{t}有限公司"
                )
            )
        )
        declared = day_between(rng, AS_OF - timedelta(days=25), AS_OF - timedelta(days=1))
        declarations.append(
            (
                number,
                name,
                rep.id_number,
                trade,
                "有限公司",
                declared,
                declared + timedelta(days=30),
                "保留中",
            )
        )
    return [
        Dataset("zj-scjgj", "qydjxx", "企业登记注册信息", (
            ("tyshxydm", "text"), ("qymc", "text"), ("qylx", "text"), ("fddbr", "text"),
            ("fddbrzjhm", "text"), ("zczb", "decimal"), ("clrq", "date"), ("yyqxz", "date"),
            ("zs", "text"), ("jyfw", "text"), ("djjg", "text"), ("djzt", "text"),
        ), companies, store="csv"),
        Dataset("zj-scjgj", "mczzsb", "企业名称自主申报", (
            ("sbh", "text"), ("nsmc", "text"), ("sqrzjhm", "text"), ("hy", "text"),
            ("zzxs", "text"), ("sbrq", "date"), ("blqz", "date"), ("sbzt", "text"),
        ), declarations, store="csv"),
    ]  # fmt: skip


def human_resources(world: World) -> list[Dataset]:
    """Return 人社厅's tables (served by its own HTTP API): 社保参保 and 社会保障卡.

    Field names follow the 金保工程 style (aac002 公民身份号码, aac003 姓名, aab004 单位名称).
    """
    rng = sub_rng(world.seed, "zj-rlsbt")
    insured = []
    cards = []
    for p in world.population.people:
        company = world.employer.get(p.id_number)
        if company is not None:
            hired = world.hired_on[p.id_number]
            months = max(1, (AS_OF.year - hired.year) * 12 + AS_OF.month - hired.month)
            paying = p.id_number == cast.BUYER_ID or rng.random() < 0.95
            last = AS_OF if paying else day_between(rng, hired, AS_OF)
            insured.append(
                (
                    p.id_number,
                    p.name,
                    company.name,
                    company.uscc,
                    "企业职工基本养老保险,失业保险,工伤保险",
                    hired,
                    months,
                    "正常缴费" if paying else "暂停缴费",
                    f"{last:%Y-%m}",
                    f"{company.county[1]}{company.county[2]}",
                )
            )
        if rng.random() < 0.93 or p.id_number == cast.BUYER_ID:
            bank = rng.choice(names.BANKS[:4])
            cards.append(
                (
                    p.id_number,
                    p.name,
                    f"{'ABCDEFGH'[between(rng, 0, 7)]}{between(rng, 0, 10**8 - 1):08d}",
                    f"62{rng.getrandbits(64) % 10**17:017d}",
                    bank,
                    rng.choice(("正常", "正常", "挂失")),
                    day_between(rng, max(p.birth_date, AS_OF - timedelta(days=3650)), AS_OF),
                )
            )
    return [
        Dataset("zj-rlsbt", "si_person", "社会保险个人参保信息", (
            ("aac002", "text"), ("aac003", "text"), ("aab004", "text"), ("aab998", "text"),
            ("aae140", "text"), ("aac049", "date"), ("ljjfys", "int"), ("aac008", "text"),
            ("zhjfny", "text"), ("cbd", "text"),
        ), insured),
        Dataset("zj-rlsbt", "si_card", "社会保障卡信息", (
            ("aac002", "text"), ("aac003", "text"), ("kh", "text"), ("yhkh", "text"),
            ("fkyh", "text"), ("kzt", "text"), ("fkrq", "date"),
        ), cards),
    ]  # fmt: skip


def medical_insurance(world: World) -> list[Dataset]:
    """Return 医保局's tables: 基本医疗保险参保 and 新生儿参保登记."""
    rng = sub_rng(world.seed, "zj-ybj")
    members = []
    newborns = []
    for p in world.population.people:
        employed = p.id_number in world.employer
        area = f"{p.county[1]}{p.county[2]}"
        members.append(
            (
                p.id_number,
                p.name,
                "职工基本医疗保险" if employed else "城乡居民基本医疗保险",
                "参保缴费" if rng.random() < 0.97 else "暂停参保",
                world.hired_on[p.id_number]
                if employed
                else max(p.birth_date, day_between(rng, AS_OF - timedelta(days=7300), AS_OF)),
                area,
                money(between(rng, 0, 2_000_000)) if employed else None,
            )
        )
        mother = p.mother
        if mother is None or p.age > 1:
            continue
        enrolled = p.birth_date + timedelta(days=between(rng, 5, 40))
        if p.id_number == cast.NEWBORN_ID:
            enrolled = p.birth_date + timedelta(days=12)
        if enrolled > AS_OF:
            continue
        newborns.append(
            (
                p.id_number,
                p.name,
                mother.id_number,
                mother.name,
                enrolled,
                p.birth_date.replace(day=1),
                True,
                area,
            )
        )
    return [
        Dataset("zj-ybj", "cbxx", "基本医疗保险参保信息", (
            ("sfzh", "text"), ("xm", "text"), ("xzlx", "text"), ("cbzt", "text"),
            ("cbrq", "date"), ("tcq", "text"), ("grzhye", "decimal"),
        ), members),
        Dataset("zj-ybj", "xsecbdj", "新生儿参保登记", (
            ("xsesfzh", "text"), ("xsexm", "text"), ("jhrsfzh", "text"), ("jhrxm", "text"),
            ("cbdjrq", "date"), ("dyksrq", "date"), ("jfbz", "bool"), ("tcq", "text"),
        ), newborns),
    ]  # fmt: skip
