"""initial schema

Revision ID: 0001
Revises: 
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = ('core',)
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('token_sha256', name=op.f('pk_api_tokens'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('calls',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('caller_id', sa.String(length=40), nullable=True),
    sa.Column('flow', sa.String(length=64), nullable=True),
    sa.Column('queue', sa.String(length=64), nullable=True),
    sa.Column('agent_id', sa.String(length=64), nullable=True),
    sa.Column('customer_id', sa.String(length=64), nullable=True),
    sa.Column('ivr_path', sa.JSON(), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('end_cause', sa.String(length=80), nullable=True),
    sa.Column('hung_up_by', sa.String(length=20), nullable=True),
    sa.Column('wait_s', sa.Float(), nullable=True),
    sa.Column('talk_s', sa.Float(), nullable=True),
    sa.Column('hold_s', sa.Float(), nullable=True),
    sa.Column('wrap_s', sa.Float(), nullable=True),
    sa.Column('satisfaction', sa.Integer(), nullable=True),
    sa.Column('recording_failed', sa.Boolean(), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls'))
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calls_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_queue'), ['queue'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_started_at'), ['started_at'], unique=False)

    op.create_table('customers',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('account', sa.String(length=40), nullable=True),
    sa.Column('tier', sa.String(length=20), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('account', name=op.f('uq_customers_account'))
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customers_phone'), ['phone'], unique=False)

    op.create_table('recordings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('segment', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.String(length=64), nullable=True),
    sa.Column('queue', sa.String(length=64), nullable=True),
    sa.Column('customer_id', sa.String(length=64), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('retention_until', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('pauses', sa.JSON(), nullable=False),
    sa.Column('analytics', sa.JSON(), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_recordings_call_id_calls')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recordings')),
    sa.UniqueConstraint('call_id', 'segment', name=op.f('uq_recordings_call_id'))
    )
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recordings_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recordings_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recordings_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recordings_queue'), ['queue'], unique=False)
        batch_op.create_index(batch_op.f('ix_recordings_retention_until'), ['retention_until'], unique=False)
        batch_op.create_index(batch_op.f('ix_recordings_started_at'), ['started_at'], unique=False)

    op.create_table('qa_assignments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('recording_id', sa.Integer(), nullable=False),
    sa.Column('evaluator', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=20), nullable=False),
    sa.Column('stratum', sa.String(length=40), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recording_id'], ['recordings.id'], name=op.f('fk_qa_assignments_recording_id_recordings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_assignments')),
    sa.UniqueConstraint('recording_id', 'evaluator', 'period', name=op.f('uq_qa_assignments_recording_id'))
    )
    with op.batch_alter_table('qa_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qa_assignments_evaluator'), ['evaluator'], unique=False)

    op.create_table('qa_evaluations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('recording_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.String(length=64), nullable=True),
    sa.Column('evaluator', sa.String(length=64), nullable=False),
    sa.Column('form', sa.String(length=64), nullable=False),
    sa.Column('form_version', sa.String(length=64), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('comments', sa.Text(), nullable=True),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('critical_failed', sa.Boolean(), nullable=False),
    sa.Column('calibration', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recording_id'], ['recordings.id'], name=op.f('fk_qa_evaluations_recording_id_recordings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_evaluations'))
    )
    with op.batch_alter_table('qa_evaluations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qa_evaluations_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_qa_evaluations_calibration'), ['calibration'], unique=False)
        batch_op.create_index(batch_op.f('ix_qa_evaluations_recording_id'), ['recording_id'], unique=False)

    op.create_table('qa_library',
    sa.Column('recording_id', sa.Integer(), nullable=False),
    sa.Column('added_by', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recording_id'], ['recordings.id'], name=op.f('fk_qa_library_recording_id_recordings')),
    sa.PrimaryKeyConstraint('recording_id', name=op.f('pk_qa_library'))
    )


def downgrade() -> None:
    op.drop_table('qa_library')
    with op.batch_alter_table('qa_evaluations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qa_evaluations_recording_id'))
        batch_op.drop_index(batch_op.f('ix_qa_evaluations_calibration'))
        batch_op.drop_index(batch_op.f('ix_qa_evaluations_agent_id'))

    op.drop_table('qa_evaluations')
    with op.batch_alter_table('qa_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qa_assignments_evaluator'))

    op.drop_table('qa_assignments')
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recordings_started_at'))
        batch_op.drop_index(batch_op.f('ix_recordings_retention_until'))
        batch_op.drop_index(batch_op.f('ix_recordings_queue'))
        batch_op.drop_index(batch_op.f('ix_recordings_customer_id'))
        batch_op.drop_index(batch_op.f('ix_recordings_call_id'))
        batch_op.drop_index(batch_op.f('ix_recordings_agent_id'))

    op.drop_table('recordings')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_phone'))

    op.drop_table('customers')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calls_started_at'))
        batch_op.drop_index(batch_op.f('ix_calls_queue'))
        batch_op.drop_index(batch_op.f('ix_calls_customer_id'))
        batch_op.drop_index(batch_op.f('ix_calls_agent_id'))

    op.drop_table('calls')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
    op.drop_table('api_tokens')
