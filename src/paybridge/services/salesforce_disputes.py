"""`salesforce.sync_dispute`: the Case of a dispute whose payment paybridge does not know.

A dispute linked to a payment is written by that payment's sync (its records include the
payment's Cases, after the payment record the Case looks up), so this task only writes the
Case of an unlinked dispute: one upsert by `CKO_Dispute_Id__c`, without a payment link. Once
the payment turns up, linking bumps it and its sync rewrites the Case with the link.
"""

from __future__ import annotations

from datetime import timedelta

import structlog

from paybridge.adapters.salesforce.client import SalesforceClient
from paybridge.adapters.salesforce.errors import (
    SalesforceAuthError,
    SalesforceError,
    SalesforcePermanentError,
    SalesforceRateLimited,
)
from paybridge.domain.clock import Clock
from paybridge.mapping.salesforce_fields import ProfileMapping
from paybridge.mapping.salesforce_records import dispute_records
from paybridge.persistence.uow import UnitOfWorkFactory
from paybridge.services.case_assignment import CaseAssignments
from paybridge.services.dispute_fold import SYNC_DISPUTE_TASK
from paybridge.services.salesforce_state import dispute_snapshot
from paybridge.services.tasks import (
    BatchHandler,
    Dead,
    Done,
    Outcome,
    Postpone,
    Task,
    one_by_one,
)

_log = structlog.get_logger(__name__)


class SalesforceDisputeSync:
    """Writes the Cases of disputes not linked to a payment."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        client: SalesforceClient,
        profile: ProfileMapping,
        cases: CaseAssignments,
        clock: Clock,
        pause_on_limit: timedelta = timedelta(minutes=5),
    ) -> None:
        self._uow = uow
        self._client = client
        self._profile = profile
        self._cases = cases
        self._clock = clock
        self._pause_on_limit = pause_on_limit

    def task_handlers(self) -> dict[str, BatchHandler]:
        return {SYNC_DISPUTE_TASK: one_by_one(self.sync)}

    async def sync(self, task: Task) -> Outcome:
        dispute_id = task.payload.get("dispute_id")
        if not isinstance(dispute_id, str):
            return Dead("malformed dispute sync task: no dispute_id in its payload")
        async with self._uow() as uow:
            row = await uow.disputes.get(dispute_id)
        if row is None:
            return Dead(f"no dispute {dispute_id}")
        if row["payment_id"] is not None:
            # Linked since the task was queued: the payment's sync (queued by the link) writes
            # this Case with its payment lookup, after the payment record.
            _log.info("salesforce.dispute.carried_by_payment", dispute_id=dispute_id)
            return Done()
        try:
            (case,) = dispute_records(
                self._profile,
                dispute_snapshot(row, checkout_payment_id=None),
                None,
                await self._cases.get(),
            )
            assert case.key_field is not None
            await self._client.upsert(case.sobject, case.key_field, case.key_value, case.fields)
        except (ValueError, LookupError) as exc:
            _log.error("salesforce.dispute.unmappable", dispute_id=dispute_id, error=str(exc))
            return Dead(f"cannot map dispute {dispute_id} to a Case: {exc}")
        except SalesforceRateLimited as error:
            return Postpone(error.message, until=self._clock() + self._pause_on_limit)
        except SalesforceAuthError as error:
            return Postpone(error.message, until=self._clock() + self._pause_on_limit)
        except SalesforcePermanentError as error:
            _log.error(
                "salesforce.upsert.failed",
                dispute_id=dispute_id,
                error_code=error.error_code,
                error=error.message,
            )
            return Dead(error.message)
        except SalesforceError as error:  # an outage: the dispute waits with every sync
            return Postpone(error.message)
        _log.info("salesforce.dispute.synced", dispute_id=dispute_id, status=row["status"])
        return Done()
