"""How a scenario ends: wait until paybridge has settled, then compare what Salesforce holds
with what paybridge says (its API) and what its database recorded — nothing lost, nothing
twice, the right final state."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from tests.e2e.client import PaybridgeClient
from tests.e2e.harness import Stack
from tests.e2e.processes import eventually

# Tasks that re-schedule themselves for ever: pending is their resting state.
# Pending is the resting state of these: periodic chores, and the check each awaited outcome
# gets an hour later in case its webhook never comes.
SCHEDULED_TASKS = (
    "maintenance.prune",
    "salesforce.sync_logs",
    "payments.reconcile",
    "payment_links.check_expired",
    "settlement.daily",
    "authorizations.check_expiry",
)
ACTION_TYPES = {
    "authorization": "Authorization",
    "card_verification": "Card Verification",
    "capture": "Capture",
    "void": "Void",
    "refund": "Refund",
}
SETTLE_TIMEOUT_S = 45.0


async def unfinished_work(stack: Stack) -> list[str]:
    """What paybridge still has to do (empty when it is idle); fails at once on a dead task."""
    dead = await stack.db.fetch(
        "SELECT id, kind, attempts, last_error FROM outbox WHERE status = 'dead'"
    )
    assert not dead, f"dead-lettered tasks: {dead}\n{stack.describe()}"
    busy = await stack.db.fetch(
        "SELECT kind, status, count(*) AS n FROM outbox "
        "WHERE status = 'running' OR (status = 'pending' AND kind <> ALL($1::text[])) "
        "GROUP BY kind, status",
        list(SCHEDULED_TASKS),
    )
    problems = [f"outbox {row['kind']} {row['status']}: {row['n']}" for row in busy]
    for table, column, state in (
        ("integration_logs", "sync_status", "pending"),
        ("inbound_events", "status", "received"),
    ):
        rows = await stack.db.fetch(f"SELECT count(*) AS n FROM {table} WHERE {column} = $1", state)
        if rows[0]["n"]:
            problems.append(f"{table} {state}: {rows[0]['n']}")
    return problems


async def settled(
    stack: Stack,
    client: PaybridgeClient,
    payment_ids: Iterable[str],
    *,
    timeout_s: float = SETTLE_TIMEOUT_S,
) -> dict[str, dict[str, Any]]:
    """Wait until every task ran and every payment's newest version reached Salesforce;
    returns the payments as `GET /v1/payments/{id}` shows them then."""
    ids = list(payment_ids)
    last: list[str] = []

    async def probe() -> dict[str, dict[str, Any]] | None:
        problems = await unfinished_work(stack)
        views: dict[str, dict[str, Any]] = {}
        for pid in ids:
            view = await client.maybe_payment(pid)
            if view is None:
                problems.append(f"{pid} unknown")
                continue
            views[pid] = view
            sync = view["salesforce"]
            if sync["synced_version"] != sync["version"] or sync["last_error"] is not None:
                problems.append(f"{pid} sync {sync}")
        last[:] = problems
        return None if problems else views

    return await eventually(
        probe,
        timeout_s=timeout_s,
        what="paybridge to settle",
        interval_s=0.2,
        context=lambda: f"still to do: {last}\n{stack.describe()}",
    )


def rows(state: dict[str, Any], sobject: str, **match: object) -> list[dict[str, Any]]:
    return [
        row
        for row in state["records"].get(sobject, [])
        if all(row.get(k) == v for k, v in match.items())
    ]


def only(state: dict[str, Any], sobject: str, **match: object) -> dict[str, Any]:
    found = rows(state, sobject, **match)
    assert len(found) == 1, f"{sobject} {match}: {len(found)} records: {found}"
    return found[0]


def _amount(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def assert_mirrored(state: dict[str, Any], view: dict[str, Any], *, order_id: str | None) -> None:
    """Salesforce holds exactly this payment's state: one payment record, one record per
    Checkout.com action (no more, none missing), and the Order's payment fields."""
    pid = view["payment_id"]
    record = only(state, "CKO_Payment__c", CKO_Payment_Id__c=pid)
    amounts = view["amounts"]
    expected = {
        "Status__c": view["status"],
        "Reference__c": view["reference"],
        "Currency__c": view["currency"],
        "Amount__c": Decimal(view["amount"]),
        "Authorized_Amount__c": Decimal(amounts["authorized"]),
        "Captured_Amount__c": Decimal(amounts["captured"]),
        "Refunded_Amount__c": Decimal(amounts["refunded"]),
        "Version__c": view["salesforce"]["version"],
        "Order__c": order_id,
    }
    assert {key: record.get(key) for key in expected} == expected, f"{pid}: {record}"
    mirrored = {
        row["CKO_Action_Id__c"]: (row["Type__c"], row["Status__c"], row.get("Amount__c"))
        for row in rows(state, "CKO_Payment_Action__c", Payment__c=record["Id"])
    }
    assert len(mirrored) == len(rows(state, "CKO_Payment_Action__c", Payment__c=record["Id"]))
    known = {
        action["action_id"]: (
            ACTION_TYPES[action["type"]],
            action["status"],
            _amount(action["amount"]),
        )
        for action in view["actions"]
        if action["action_id"].startswith("act_")
    }
    assert mirrored == known, f"{pid}: Salesforce actions differ from paybridge's"
    if order_id is not None:
        order = only(state, "Order", Id=order_id)
        assert (
            order.get("CKO_Payment_Id__c"),
            order.get("CKO_Payment_Status__c"),
            order.get("CKO_Amount_Captured__c"),
            order.get("CKO_Amount_Refunded__c"),
        ) == (pid, view["status"], Decimal(amounts["captured"]), Decimal(amounts["refunded"]))


def assert_events_logged_once(state: dict[str, Any], event_ids: Iterable[str]) -> None:
    """Each processed webhook left exactly one integration log in Salesforce."""
    logged = Counter(
        row.get("CKO_Event_Id__c") for row in state["records"]["CKO_Integration_Log__c"]
    )
    counts = {event_id: logged[event_id] for event_id in event_ids}
    assert set(counts.values()) <= {1}, f"webhook logs per event: {counts}"


def assert_no_duplicate_keys(state: dict[str, Any]) -> None:
    """No external ID appears twice in Salesforce."""
    for sobject, key in (
        ("CKO_Payment__c", "CKO_Payment_Id__c"),
        ("CKO_Payment_Action__c", "CKO_Action_Id__c"),
        ("CKO_Integration_Log__c", "CKO_Log_Id__c"),
    ):
        counts = Counter(row.get(key) for row in state["records"][sobject])
        twice = {value: n for value, n in counts.items() if n > 1}
        assert not twice, f"{sobject}: duplicate {key}: {twice}"


async def assert_events_once(stack: Stack, state: dict[str, Any], event_ids: list[str]) -> None:
    """Every event logged once in Salesforce, no record twice there, each handled once here."""
    assert_events_logged_once(state, event_ids)
    assert_no_duplicate_keys(state)
    await assert_events_handled_once(stack, event_ids)


async def action_at_checkout(stack: Stack, pid: str) -> str:
    """The id of the payment's first action, once Checkout.com has it (its answer held)."""

    async def first_action() -> str | None:
        actions = (await stack.sims.checkout_state())["payments"][pid]["actions"]
        return str(actions[0]["id"]) if actions else None

    return await eventually(first_action, timeout_s=20, what="the capture to reach Checkout.com")


async def assert_events_handled_once(stack: Stack, event_ids: Iterable[str]) -> None:
    """paybridge's database: one inbox row per event, handled, and one log row for it."""
    ids = list(event_ids)
    inbox = await stack.db.fetch(
        "SELECT event_id, status FROM inbound_events WHERE event_id = ANY($1::text[])", ids
    )
    assert sorted(row["event_id"] for row in inbox) == sorted(ids), "inbox rows per event"
    assert {row["status"] for row in inbox} <= {"handled"}, inbox
    logs = await stack.db.fetch(
        "SELECT cko_event_id, count(*) AS n FROM integration_logs "
        "WHERE cko_event_id = ANY($1::text[]) GROUP BY cko_event_id",
        ids,
    )
    assert {row["cko_event_id"]: row["n"] for row in logs} == dict.fromkeys(ids, 1)


def charges_at_checkout(state: dict[str, Any], reference: str) -> list[dict[str, Any]]:
    """The payments the Checkout.com simulator holds for one Order (by reference)."""
    return [p for p in state["payments"].values() if p["reference"] == reference]


def assert_one_key(keys: list[str | None], *, requests: int) -> None:
    """`requests` calls reached Checkout.com, every one with the same idempotency key."""
    assert len(keys) == requests, keys
    assert len(set(keys)) == 1, keys
    assert keys[0], keys


def checkout_keys(state: dict[str, Any], method: str, path: str) -> list[str | None]:
    """The Cko-Idempotency-Key of every request paybridge made to `method path`."""
    return [
        request["idempotency_key"]
        for request in state["requests"]
        if request["method"] == method and request["path"] == path
    ]


async def payment_when(
    client: PaybridgeClient,
    payment_id: str,
    condition: Callable[[dict[str, Any]], bool],
    *,
    what: str,
    timeout_s: float = 20.0,
) -> dict[str, Any]:
    """Wait until the payment (as `GET` shows it) meets `condition`, e.g. a webhook applied."""

    async def probe() -> dict[str, Any] | None:
        view = await client.payment(payment_id)
        return view if condition(view) else None

    return await eventually(probe, timeout_s=timeout_s, what=f"{payment_id}: {what}")
