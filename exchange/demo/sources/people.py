"""The demo province's residents: households of people with valid resident IDs (GB 11643)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from catalogs.identifiers import resident_id_check_digit
from exchange.demo.sources import names
from exchange.demo.sources.model import (
    AS_OF,
    Weighted,
    add_years,
    age_on,
    between,
    day_between,
    sub_rng,
)

County = tuple[str, str, str]  # 行政区划代码, city, county
COUNTY_BY_CODE: dict[str, County] = {c[0]: c for c in names.COUNTIES}
_COUNTIES = Weighted(
    [
        (c, max(1, names.CITY_WEIGHTS[c[1]] // sum(1 for d in names.COUNTIES if d[1] == c[1])))
        for c in names.COUNTIES
    ]
)
_SURNAMES = Weighted(names.SURNAMES)
_ETHNICITIES = Weighted(names.ETHNICITIES)


_COMPOUND = {s for s, _w in names.SURNAMES if len(s) > 1}


def surname_of(name: str) -> str:
    """Return the surname part of a name (two characters for 诸葛, 欧阳 …)."""
    return name[:2] if name[:2] in _COMPOUND else name[0]


@dataclass(eq=False, slots=True)
class Household:
    """A 户 in the population register."""

    number: str  # 户号
    county: County
    address: str  # 住址
    members: list[Person] = field(default_factory=list, repr=False)

    @property
    def police(self) -> str:
        """Return the public-security bureau of the county (居民身份证 签发机关)."""
        _code, city, county = self.county
        if county.endswith("区"):
            return f"{city}公安局{county[:-1]}分局"
        return f"{county}公安局"

    @property
    def quarter(self) -> str:
        """Return the short name of the household's quarter (its road's first two characters)."""
        return self.address.split(self.county[2], 1)[-1][:2]

    @property
    def station(self) -> str:
        """Return the police station that keeps this household's register (登记机关)."""
        return f"{self.police}{self.quarter}派出所"

    @property
    def head(self) -> Person:
        """Return the head of the household (户主)."""
        return self.members[0]


@dataclass(eq=False, slots=True)
class Person:
    """A resident; ``relation`` is the relation to the head of the household (与户主关系)."""

    id_number: str
    name: str
    gender: str  # 男 | 女, as the ID's 17th digit says
    birth_date: date
    ethnicity: str
    birth_county: County
    household: Household = field(repr=False)
    relation: str
    moved_in_on: date
    former_name: str | None = None
    spouse: Person | None = field(default=None, repr=False)
    married_on: date | None = None
    mother: Person | None = field(default=None, repr=False)
    father: Person | None = field(default=None, repr=False)
    age: int = field(init=False)  # on the demo's reference day

    def __post_init__(self) -> None:
        self.age = age_on(self.birth_date)

    @property
    def county(self) -> County:
        """Return the county the person lives in."""
        return self.household.county


@dataclass(frozen=True, slots=True)
class Marriage:
    """One 婚姻登记: a marriage (结婚) or a divorce (离婚) of a couple."""

    husband: Person
    wife: Person
    kind: str  # 结婚登记 | 离婚登记
    on: date
    county: County


@dataclass(frozen=True, slots=True)
class Death:
    """A resident who died (死亡注销); the spouse left behind is a living resident."""

    person: Person
    died_on: date


@dataclass
class Population:
    """Everyone the demo's departments know about, in generation order."""

    people: list[Person] = field(default_factory=list)
    households: list[Household] = field(default_factory=list)
    marriages: list[Marriage] = field(default_factory=list)
    deaths: list[Death] = field(default_factory=list)
    used_ids: set[str] = field(default_factory=set)
    by_id: dict[str, Person] = field(default_factory=dict)

    def adults(self, low: int = 18, high: int = 200) -> list[Person]:
        """Return the residents aged ``low`` to ``high`` inclusive."""
        return [p for p in self.people if low <= p.age <= high]


class PeopleMaker:
    """Draws people, households and marriages from one seeded generator."""

    def __init__(self, rng: random.Random, population: Population) -> None:
        self.rng = rng
        self.pop = population
        self._household_seq = 0

    def county(self) -> County:
        """Return a county, weighted by its city's population."""
        return _COUNTIES.pick(self.rng)

    def resident_id(self, county_code: str, born: date, male: bool, seq: int | None = None) -> str:
        """Return an unused valid resident ID: area, birth date, order (odd: male), check."""
        while True:
            order = seq if seq is not None else self.rng.randrange(500) * 2 + int(male)
            first17 = f"{county_code}{born:%Y%m%d}{order:03d}"
            value = first17 + resident_id_check_digit(first17)
            if value not in self.pop.used_ids:
                self.pop.used_ids.add(value)
                return value
            if seq is not None:
                raise ValueError(f"resident ID {value} is taken")

    def name(self, male: bool, surname: str | None = None) -> str:
        """Return a Chinese name: the surname and one or two given-name characters."""
        family = surname or _SURNAMES.pick(self.rng)
        chars = names.MALE_CHARS if male else names.FEMALE_CHARS
        given = "".join(self.rng.choice(chars) for _ in range(1 if self.rng.random() < 0.3 else 2))
        return family + given

    def address(self, county: County) -> str:
        """Return a street address in ``county``: road, number, estate, building, flat."""
        rng = self.rng
        _code, city, name = county
        return (
            f"浙江省{city}{name}{rng.choice(names.ROADS)}{between(rng, 1, 999)}号"
            f"{rng.choice(names.ESTATES)}{between(rng, 1, 30)}幢{between(rng, 1, 4)}单元"
            f"{between(rng, 1, 28)}{between(rng, 1, 6):02d}室"
        )

    def household(self, county: County | None = None, address: str | None = None) -> Household:
        """Open a new household in ``county`` (drawn when not given)."""
        place = county or self.county()
        self._household_seq += 1
        number = f"{place[0][2:]}{self._household_seq:06d}"
        home = Household(number, place, address or self.address(place))
        self.pop.households.append(home)
        return home

    def person(
        self,
        home: Household,
        *,
        male: bool,
        born: date,
        relation: str,
        name: str | None = None,
        surname: str | None = None,
        id_number: str | None = None,
    ) -> Person:
        """Register a person in ``home``; most were born in the county they live in."""
        rng = self.rng
        born_in = home.county if rng.random() < 0.8 else self.county()
        if id_number is None:
            id_number = self.resident_id(born_in[0], born, male)
        else:
            self.pop.used_ids.add(id_number)
            born_in = COUNTY_BY_CODE.get(id_number[:6], home.county)
        moved_in = born if born_in == home.county else day_between(rng, add_years(born, 18), AS_OF)
        person = Person(
            id_number=id_number,
            name=name or self.name(male, surname),
            gender="男" if male else "女",
            birth_date=born,
            ethnicity=_ETHNICITIES.pick(rng),
            birth_county=born_in,
            household=home,
            relation=relation,
            moved_in_on=min(moved_in, AS_OF),
            former_name=self.name(male) if rng.random() < 0.02 else None,
        )
        home.members.append(person)
        self.pop.people.append(person)
        self.pop.by_id[id_number] = person
        return person

    def marry(self, husband: Person, wife: Person, on: date) -> None:
        """Record a marriage registration between two residents."""
        husband.spouse, wife.spouse = wife, husband
        husband.married_on = wife.married_on = on
        self.pop.marriages.append(Marriage(husband, wife, "结婚登记", on, husband.county))

    def divorce(self, husband: Person, wife: Person, on: date) -> None:
        """Record a divorce registration; the two are no longer each other's spouse."""
        husband.spouse = wife.spouse = None
        husband.married_on = wife.married_on = None
        self.pop.marriages.append(Marriage(husband, wife, "离婚登记", on, wife.county))

    def birthday(self, low: int, high: int) -> date:
        """Return a birth date for someone aged ``low`` to ``high`` on the reference day."""
        return day_between(
            self.rng, add_years(AS_OF, -high - 1) + timedelta(days=1), add_years(AS_OF, -low)
        )


def build_population(seed: int, people: int) -> Population:
    """Generate the cast and then random households until there are ``people`` residents."""
    from exchange.demo.sources.cast import add_cast

    pop = Population()
    maker = PeopleMaker(sub_rng(seed, "people"), pop)
    add_cast(maker)
    singles: list[Person] = []
    while len(pop.people) < people:
        _random_household(maker, people - len(pop.people), singles)
    _divorces(maker, singles)
    return pop


_KINDS = Weighted(
    [
        ("single", 18),
        ("couple", 17),
        ("one_child", 30),
        ("two_children", 17),
        ("with_elder", 10),
        ("elderly", 8),
    ]
)


def _random_household(maker: PeopleMaker, room: int, singles: list[Person]) -> None:
    rng = maker.rng
    kind = _KINDS.pick(rng)
    home = maker.household()
    if kind == "single" or room == 1:
        male = rng.random() < 0.5
        head = maker.person(home, male=male, born=maker.birthday(22, 80), relation="户主")
        if head.age >= 30:
            singles.append(head)
        return
    low, high = (65, 90) if kind == "elderly" else (24, 75)
    husband = maker.person(home, male=True, born=maker.birthday(low, high), relation="户主")
    wife_born = min(
        husband.birth_date + timedelta(days=between(rng, -730, 2555)), add_years(AS_OF, -22)
    )
    wife = maker.person(home, male=False, born=wife_born, relation="配偶")
    younger = max(husband.birth_date, wife.birth_date)
    married = day_between(rng, add_years(younger, 22), min(add_years(younger, 32), AS_OF))
    maker.marry(husband, wife, married)
    children = {"one_child": 1, "two_children": 2, "with_elder": 1}.get(kind, 0)
    first = max(married, add_years(wife.birth_date, 22))
    last = min(add_years(wife.birth_date, 40), AS_OF)
    if (last - first).days < 730:  # newly-weds: no children yet
        children = 0
    for _ in range(min(children, room - 2)):
        born = day_between(rng, first, last)
        male = rng.random() < 0.51
        child = maker.person(
            home,
            male=male,
            born=born,
            relation="子" if male else "女",
            surname=surname_of(husband.name),
        )
        child.mother, child.father = wife, husband
    if kind == "with_elder" and room > len(home.members):
        _elder_parent(maker, home, husband)


def _elder_parent(maker: PeopleMaker, home: Household, head: Person) -> None:
    """Add the head's widowed parent; the other parent's death is on record (殡葬)."""
    rng = maker.rng
    male = rng.random() < 0.3
    born = max(add_years(head.birth_date, -between(rng, 24, 32)), add_years(AS_OF, -99))
    parent = maker.person(
        home,
        male=male,
        born=born,
        relation="父亲" if male else "母亲",
        surname=surname_of(head.name) if male else None,
    )
    # The late spouse was struck off the register (死亡注销): on record, not a member.
    late_born = add_years(born, between(rng, -3, 3))
    late = Person(
        id_number=maker.resident_id(home.county[0], late_born, not male),
        name=maker.name(not male, None if male else surname_of(head.name)),
        gender="女" if male else "男",
        birth_date=late_born,
        ethnicity="汉族",
        birth_county=home.county,
        household=home,
        relation="户主",
        moved_in_on=born,
    )
    husband, wife = (parent, late) if male else (late, parent)
    maker.marry(husband, wife, day_between(rng, add_years(born, 22), add_years(born, 28)))
    died = day_between(rng, add_years(AS_OF, -15), AS_OF - timedelta(days=30))
    maker.pop.deaths.append(Death(late, died))
    parent.spouse = late  # 丧偶: the spouse on record is the late one


def _divorces(maker: PeopleMaker, singles: list[Person]) -> None:
    """Pair some single residents over 30 as divorced couples (结婚 then 离婚 registrations)."""
    rng = maker.rng
    men = [p for p in singles if p.gender == "男" and rng.random() < 0.35]
    women = [p for p in singles if p.gender == "女" and rng.random() < 0.35]
    for husband, wife in zip(men, women, strict=False):
        younger = max(husband.birth_date, wife.birth_date)
        married = day_between(rng, add_years(younger, 22), min(add_years(younger, 35), AS_OF))
        maker.marry(husband, wife, married)
        maker.divorce(husband, wife, day_between(rng, married + timedelta(days=365), AS_OF))
