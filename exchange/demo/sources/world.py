"""The things several departments record: companies, jobs, flats, mortgages and sales.

Each department's tables are views of this one world, so a flat's owner is a resident in
公安, its deed tax is in 税务 and its sale contract in 住建, all consistent.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from catalogs.identifiers import uscc_check_char
from exchange.demo.sources import cast, names
from exchange.demo.sources.model import (
    AS_OF,
    add_years,
    between,
    day_between,
    money,
    sub_rng,
    weighted,
)
from exchange.demo.sources.people import COUNTY_BY_CODE, County, PeopleMaker, Person, Population

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# Typical price of a flat per m² in each city, in yuan (2026, rounded): the demo's market.
CITY_PRICE = dict(
    zip(
        names.CITY_WEIGHTS,
        (42000, 28000, 26000, 16000, 13000, 17000, 17000, 11000, 15000, 16000, 12000),
        strict=True,
    )
)


@dataclass(eq=False, slots=True)
class Company:
    """An enterprise in the 市场监管 register."""

    uscc: str
    name: str
    company_type: str
    trade: str
    scope: str
    legal_rep: Person
    capital: Decimal
    established_on: date
    term_until: date | None  # None: 长期
    county: County
    domicile: str
    status: str  # 存续 | 注销 | 吊销
    declaration_no: str


@dataclass(eq=False, slots=True)
class Mortgage:
    """A 抵押权 registered on a flat."""

    cert_no: str
    mortgagee: str
    amount: Decimal
    start: date
    end: date
    cancelled: bool


@dataclass(eq=False, slots=True)
class Sale:
    """A pending 存量房 sale: the contract is filed (网签备案), the transfer not yet registered."""

    filing_no: str
    buyer: Person
    price: Decimal
    signed_on: date
    filed_on: date
    payment: str
    tax_paid_on: date | None


@dataclass(eq=False, slots=True)
class Flat:
    """A 不动产 unit (a flat) with its 不动产权证书."""

    cert_no: str
    unit_no: str
    owners: list[Person]
    location: str
    county: County
    area: Decimal
    registered_on: date
    price: Decimal  # what the owners paid
    filing_no: str  # the 网签 contract of that purchase
    mortgage: Mortgage | None = None
    sale: Sale | None = None

    @property
    def co_ownership(self) -> str:
        """Return 共有情况 as printed on the certificate."""
        return "共同共有" if len(self.owners) > 1 else "单独所有"


@dataclass
class World:
    """The population and everything the departments share about it."""

    seed: int
    population: Population
    companies: list[Company] = field(default_factory=list)
    employer: dict[str, Company] = field(default_factory=dict)  # resident ID → company
    hired_on: dict[str, date] = field(default_factory=dict)
    flats: list[Flat] = field(default_factory=list)
    used: set[str] = field(default_factory=set)

    def unique(self, make: Callable[..., str]) -> str:
        """Call ``make()`` until it returns a value not used before in this world."""
        while True:
            value = str(make())
            if value not in self.used:
                self.used.add(value)
                return value


def build_world(seed: int, population: Population) -> World:
    """Derive companies, jobs and flats from the population, each part with its own draws."""
    world = World(seed, population)
    _companies(world, sub_rng(seed, "companies"))
    _jobs(world, sub_rng(seed, "jobs"))
    _flats(world, sub_rng(seed, "flats"))
    _sales(world, sub_rng(seed, "sales"))
    return world


def new_uscc(rng: random.Random, county_code: str, established: date) -> str:
    """Return a valid 企业 unified social credit code (GB 32100) registered in ``county_code``."""
    if established.year >= 2015:  # codes assigned since the reform start with MA
        org = "MA" + "".join(rng.choice(_USCC_CHARS) for _ in range(7))
    else:
        org = "".join(rng.choice("0123456789") for _ in range(8)) + rng.choice("0123456789X")
    first17 = f"91{county_code}{org}"
    return first17 + uscc_check_char(first17)


def _companies(world: World, rng: random.Random) -> None:
    pop = world.population
    reps = pop.adults(25, 65)
    count = max(12, len(pop.people) // 12)
    for i in range(count):
        is_cast = i == 0
        rep = pop.by_id[cast.LEGAL_REP_ID] if is_cast else rng.choice(reps)
        county = COUNTY_BY_CODE["330108"] if is_cast else rep.county
        started = day_between(rng, max(date(2000, 1, 1), add_years(rep.birth_date, 23)), AS_OF)
        established = cast.COMPANY_ESTABLISHED_ON if is_cast else started
        trade, scope = names.TRADES[0] if is_cast else rng.choice(names.TRADES)
        company_type, form = names.COMPANY_TYPES[0] if is_cast else rng.choice(names.COMPANY_TYPES)
        city = county[1][:-1]
        name = (
            cast.COMPANY_NAME
            if is_cast
            else world.unique(
                lambda c=city, t=trade, f=form: (
                    f"{c}{rng.choice(names.BRANDS)}{rng.choice(names.BRANDS)}{t}{f}"
                )
            )
        )
        uscc = (
            cast.COMPANY_USCC
            if is_cast
            else world.unique(lambda c=county, e=established: new_uscc(rng, c[0], e))
        )
        status = weighted(rng, (("存续", 90), ("注销", 7), ("吊销", 3)))
        world.companies.append(
            Company(
                uscc=uscc,
                name=name,
                company_type=company_type,
                trade=trade,
                scope=scope,
                legal_rep=rep,
                capital=Decimal("5000000.00")
                if is_cast
                else money(between(rng, 10, 5000) * 1_000_000),
                established_on=established,
                term_until=None if rng.random() < 0.6 else add_years(established, 30),
                county=county,
                domicile=f"浙江省{county[1]}{county[2]}"
                f"{rng.choice(names.ROADS)}{between(rng, 1, 999)}号{between(rng, 1, 20)}楼",
                status="存续" if is_cast else status,
                declaration_no=world.unique(
                    lambda c=county, e=established: f"{c[0]}MC{e.year}{between(rng, 0, 999999):06d}"
                ),
            )
        )


def _jobs(world: World, rng: random.Random) -> None:
    active = [c for c in world.companies if c.status == "存续"]
    by_id = {c.uscc: c for c in active}
    for person in world.population.adults(22, 60):
        if person.id_number in (cast.BUYER_ID, cast.LEGAL_REP_ID):
            company = by_id[cast.COMPANY_USCC]
        elif rng.random() < 0.75:
            company = rng.choice(active)
        else:
            continue
        world.employer[person.id_number] = company
        start = max(company.established_on, add_years(person.birth_date, 22))
        world.hired_on[person.id_number] = day_between(rng, start, AS_OF - timedelta(days=31))


def _flats(world: World, rng: random.Random) -> None:
    counters: dict[tuple[str, int, str], int] = {}

    def cert(city: str, year: int, kind: str = "不动产权") -> str:
        key = (city, year, kind)
        counters[key] = counters.get(key, between(rng, 1000, 9000)) + between(rng, 1, 40)
        return f"浙({year}){city}{kind}第{counters[key]:07d}号"

    skip = {cast.BUYER_ID, cast.FATHER_ID, cast.LEGAL_REP_ID}
    maker = PeopleMaker(rng, world.population)
    for home in world.population.households:
        head = home.head
        is_cast = head.id_number == cast.SELLER_ID
        if head.id_number in skip or head.age < 25 or (not is_cast and rng.random() > 0.7):
            continue
        for extra in range(1 if is_cast or rng.random() > 0.1 else 2):
            owners = [head]
            if head.spouse is not None and head.spouse in home.members and rng.random() < 0.6:
                owners.append(head.spouse)
            if is_cast:
                owners = [head, world.population.by_id[cast.SELLER_SPOUSE_ID]]
            county = home.county
            start = max(date(2016, 1, 1), add_years(head.birth_date, 25))
            registered = day_between(rng, start, AS_OF - timedelta(days=60))
            area = money(between(rng, 4500, 16000))
            unit_price = CITY_PRICE[county[1]] * rng.uniform(0.6, 1.2)
            flat = Flat(
                cert_no=world.unique(lambda c=county[1], r=registered: cert(c, r.year)),
                unit_no=world.unique(lambda c=county[0]: _unit_no(rng, c)),
                owners=owners,
                location=home.address if extra == 0 else maker.address(county),
                county=county,
                area=area,
                registered_on=registered,
                price=Decimal(round(float(area) * unit_price, -3)).quantize(Decimal("0.01")),
                filing_no=world.unique(
                    lambda c=county[0], r=registered: f"WQ{c}{r.year}{between(rng, 0, 999999):06d}"
                ),
            )
            if is_cast:
                flat.cert_no, flat.unit_no = cast.PROPERTY_CERT_NO, cast.UNIT_NO
                flat.area, flat.registered_on = cast.PROPERTY_AREA, cast.PROPERTY_REGISTERED_ON
                flat.price, flat.filing_no = cast.PROPERTY_PRICE, cast.PROPERTY_FILING_NO
                world.used.update((flat.cert_no, flat.unit_no))
            if is_cast or rng.random() < 0.35:
                flat.mortgage = Mortgage(
                    cert_no=cast.MORTGAGE_CERT_NO
                    if is_cast
                    else world.unique(
                        lambda c=county[1], r=registered: cert(c, r.year, "不动产证明")
                    ),
                    mortgagee=f"{rng.choice(names.BANKS)}{county[1][:-1]}分行",
                    amount=Decimal(round(float(flat.price) * 0.6, -4)).quantize(Decimal("0.01")),
                    start=flat.registered_on,
                    end=add_years(flat.registered_on, rng.choice((20, 25, 30))),
                    cancelled=is_cast or rng.random() < 0.15,
                )
            world.flats.append(flat)


def _unit_no(rng: random.Random, county_code: str) -> str:
    """Return a 不动产单元号 (GB/T 37346): county, 地籍区/子区, GB 宗地, F 幢 and 户."""
    zone = f"{between(rng, 1, 12):03d}{between(rng, 1, 20):03d}"
    parcel = f"GB{between(rng, 1, 3000):05d}"
    flat = f"F{between(rng, 1, 40):04d}{between(rng, 1, 33):02d}{between(rng, 1, 6):02d}"
    return f"{county_code}{zone}{parcel}{flat}"


def _sales(world: World, rng: random.Random) -> None:
    buyers = world.population.adults(25, 60)
    for flat in world.flats:
        if flat.cert_no == cast.PROPERTY_CERT_NO:
            signed = cast.SALE_SIGNED_ON
            flat.sale = Sale(
                filing_no=cast.CONTRACT_FILING_NO,
                buyer=world.population.by_id[cast.BUYER_ID],
                price=cast.SALE_PRICE,
                signed_on=signed,
                filed_on=signed + timedelta(days=1),
                payment="商业贷款",
                tax_paid_on=date(2026, 10, 20),
            )
            world.used.add(cast.CONTRACT_FILING_NO)
        elif rng.random() < 0.02:
            buyer = rng.choice(buyers)
            if buyer in flat.owners:
                continue
            signed = day_between(rng, AS_OF - timedelta(days=45), AS_OF - timedelta(days=2))
            filed = signed + timedelta(days=between(rng, 0, 2))
            flat.sale = Sale(
                filing_no=world.unique(
                    lambda c=flat.county[0]: f"WQ{c}{AS_OF.year}{between(rng, 0, 999999):06d}"
                ),
                buyer=buyer,
                price=Decimal(round(float(flat.price) * rng.uniform(0.9, 1.3), -3)).quantize(
                    Decimal("0.01")
                ),
                signed_on=signed,
                filed_on=filed,
                payment=rng.choice(("一次性付款", "商业贷款", "公积金贷款", "组合贷款")),
                tax_paid_on=None if rng.random() < 0.4 else min(filed + timedelta(days=3), AS_OF),
            )
