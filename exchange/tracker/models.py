"""The tracker's own record of citizens reading their access history (not the access log).

Why not the access log: that log is the departments' accountability record of data pulls;
its reports (top consumers, pulls without a case, off-hours pulls) and every citizen's own
history would fill with citizens reading their history, and each read would add an entry to
the very history being read. A tracker read still discloses personal data (who looked at
whose records), so it is kept here, in the request's transaction (no read is answered
unrecorded), with the ID as an HMAC: enough to answer "who read the history of ID X" with
the hub secret, without another table of raw ID numbers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from exchange.core.db import Base, utcnow


class TrackerRead(Base):
    """One tracker request of a citizen: what they read (or tried to), when, with which token."""

    __tablename__ = "tracker_reads"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    subject_hmac: Mapped[str] = mapped_column(String(64), index=True)  # of the resident ID
    issuer: Mapped[str] = mapped_column(String(255))
    token_id: Mapped[str | None] = mapped_column(String(255), default=None)
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    view: Mapped[str] = mapped_column(String(24))  # accesses | access | objections | objection
    target: Mapped[int | None] = mapped_column(BigInteger, default=None)  # seq or objection id
    returned: Mapped[int] = mapped_column(Integer, default=0)  # entries shown
    found: Mapped[bool] = mapped_column(default=True)  # False: not theirs or no such entry
