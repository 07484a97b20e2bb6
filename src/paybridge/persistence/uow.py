"""Unit of work: one connection, one transaction, rolled back unless `commit()` ran.

Repositories never commit; the use case that opened the unit of work decides.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from paybridge.domain.redaction import Redact, redact_text
from paybridge.persistence.doorbell import Doorbell
from paybridge.persistence.repositories.authorizations import AuthorizationRepository
from paybridge.persistence.repositories.backlog import BacklogRepository
from paybridge.persistence.repositories.disputes import DisputeRepository
from paybridge.persistence.repositories.events import InboundEventRepository
from paybridge.persistence.repositories.gateway_requests import GatewayRequestRepository
from paybridge.persistence.repositories.idempotency import IdempotencyRepository
from paybridge.persistence.repositories.logs import IntegrationLogRepository
from paybridge.persistence.repositories.outbox import OutboxRepository
from paybridge.persistence.repositories.payment_links import PaymentLinkRepository
from paybridge.persistence.repositories.payments import PaymentRepository
from paybridge.persistence.repositories.settlements import SettlementRepository


class UnitOfWork:
    """Async context manager giving repositories that share one transaction."""

    payments: PaymentRepository
    idempotency: IdempotencyRepository
    events: InboundEventRepository
    outbox: OutboxRepository
    logs: IntegrationLogRepository
    disputes: DisputeRepository
    payment_links: PaymentLinkRepository
    backlog: BacklogRepository
    gateway_requests: GatewayRequestRepository
    settlements: SettlementRepository
    authorizations: AuthorizationRepository

    def __init__(
        self, engine: AsyncEngine, doorbell: Doorbell | None = None, redact: Redact = redact_text
    ) -> None:
        self._engine = engine
        self._doorbell = doorbell
        self._redact = redact  # for error text the repositories store
        self._conn: AsyncConnection | None = None
        self._tx: AsyncTransaction | None = None
        self._autocommit = False
        self._due_kinds: set[str] = set()  # tasks stored due now, announced on commit

    def single_statement(self) -> Self:
        """For a use case that writes with ONE statement (atomic by itself): on PostgreSQL it
        then runs without BEGIN/COMMIT, two round trips fewer on a hot path. SQLite, whose
        repositories may need two statements for the same job, stays transactional."""
        self._autocommit = self._engine.dialect.name == "postgresql"
        return self

    async def __aenter__(self) -> Self:
        self._conn = await self._engine.connect()
        if self._autocommit:
            self._conn = await self._conn.execution_options(isolation_level="AUTOCOMMIT")
        else:
            self._tx = await self._conn.begin()
        conn = self._conn
        redact = self._redact
        self.payments = PaymentRepository(conn, redact=redact)
        self.idempotency = IdempotencyRepository(conn)
        self.events = InboundEventRepository(conn, note_due=self._due_kinds.add, redact=redact)
        self.outbox = OutboxRepository(conn, note_due=self._due_kinds.add, redact=redact)
        self.logs = IntegrationLogRepository(conn, redact=redact)
        self.disputes = DisputeRepository(conn)
        self.payment_links = PaymentLinkRepository(conn)
        self.backlog = BacklogRepository(conn)
        self.gateway_requests = GatewayRequestRepository(conn)
        self.settlements = SettlementRepository(conn)
        self.authorizations = AuthorizationRepository(conn)
        return self

    async def commit(self) -> None:
        if self._tx is not None:
            await self._tx.commit()
        if self._doorbell is not None and self._due_kinds:
            self._doorbell.ring(self._due_kinds)
        self._due_kinds.clear()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None
        try:
            if self._tx is not None and self._tx.is_active:
                await self._tx.rollback()
        finally:
            await self._conn.close()


UnitOfWorkFactory = Callable[[], UnitOfWork]


def unit_of_work_factory(
    engine: AsyncEngine, doorbell: Doorbell | None = None, redact: Redact = redact_text
) -> UnitOfWorkFactory:
    """`redact` masks the error text repositories store (`TextRedactor` of the secrets)."""
    return lambda: UnitOfWork(engine, doorbell, redact)
