"""The durable records: calls, customers, recordings, QA evaluations, tokens and the audit log.

SQLAlchemy Core tables (no ORM session state to leak between requests); each package reads
and writes them through its own repository functions. The schema is created and changed only
by the Alembic migrations in ``hotline/db/migrations``; a test checks that the migrations and
these definitions agree.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

customers = Table(
    "customers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("phone", String(40), index=True),
    Column("account", String(40), unique=True),
    Column("tier", String(20), nullable=False, default="standard"),
    Column("email", String(200)),
    Column("attributes", JSON, nullable=False, default=dict),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

calls = Table(
    "calls",
    metadata,
    Column("id", String(64), primary_key=True),  # the caller channel's Linkedid
    Column("caller_id", String(40)),
    Column("flow", String(64)),
    Column("queue", String(64), index=True),
    Column("agent_id", String(64), index=True),
    Column("customer_id", String(64), index=True),
    Column("ivr_path", JSON, nullable=False, default=list),
    Column("attributes", JSON, nullable=False, default=dict),
    Column("started_at", DateTime(timezone=True), nullable=False, index=True),
    Column("queued_at", DateTime(timezone=True)),
    Column("answered_at", DateTime(timezone=True)),
    Column("ended_at", DateTime(timezone=True)),
    Column("outcome", String(20)),  # answered, abandoned, self_service, transferred, ...
    Column("end_cause", String(80)),
    Column("hung_up_by", String(20)),
    Column("wait_s", Float),
    Column("talk_s", Float),
    Column("hold_s", Float),
    Column("wrap_s", Float),
    Column("satisfaction", Integer),
    Column("recording_failed", Boolean, nullable=False, default=False),
    Column("flags", JSON, nullable=False, default=list),
)

recordings = Table(
    "recordings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_id", String(64), ForeignKey("calls.id"), nullable=False, index=True),
    Column("segment", Integer, nullable=False),
    Column("agent_id", String(64), index=True),
    Column("queue", String(64), index=True),
    Column("customer_id", String(64), index=True),
    Column("started_at", DateTime(timezone=True), nullable=False, index=True),
    Column("duration_s", Float),
    Column("path", Text, nullable=False),  # relative to the recording root
    Column("size_bytes", Integer),
    Column("sha256", String(64)),
    Column("retention_until", Date, index=True),
    Column("status", String(20), nullable=False),  # recording, complete, failed, purged
    Column("pauses", JSON, nullable=False, default=list),
    Column("analytics", JSON),
    Column("flags", JSON, nullable=False, default=list),
    UniqueConstraint("call_id", "segment"),
)

qa_assignments = Table(
    "qa_assignments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("recording_id", Integer, ForeignKey("recordings.id"), nullable=False),
    Column("evaluator", String(64), nullable=False, index=True),
    Column("period", String(20), nullable=False),  # 2026-W47 or 2026-11-22
    Column("stratum", String(40), nullable=False),
    Column("seed", Integer, nullable=False),
    Column("status", String(20), nullable=False, default="pending"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("recording_id", "evaluator", "period"),
)

qa_evaluations = Table(
    "qa_evaluations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("recording_id", Integer, ForeignKey("recordings.id"), nullable=False, index=True),
    Column("agent_id", String(64), index=True),
    Column("evaluator", String(64), nullable=False),
    Column("form", String(64), nullable=False),
    Column("form_version", String(64), nullable=False),
    Column("answers", JSON, nullable=False),
    Column("comments", Text),
    Column("score", Float, nullable=False),
    Column("critical_failed", Boolean, nullable=False),
    Column("calibration", String(64), index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

qa_library = Table(
    "qa_library",
    metadata,
    Column("recording_id", Integer, ForeignKey("recordings.id"), primary_key=True),
    Column("added_by", String(64), nullable=False),
    Column("note", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("subject", String(64), nullable=False),  # agent id or user name
    Column("role", String(20), nullable=False),  # agent, supervisor, qa, admin
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("actor", String(64), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target", String(200), nullable=False),
    Column("details", JSON, nullable=False, default=dict),
)
