"""The API against its own OpenAPI description, fuzzed by Schemathesis (R42, DESIGN §5).

A real ``ombuds serve`` on SQLite and on PostgreSQL, with a small marketplace in it. Every
operation of ``/openapi.json`` is called with generated requests — valid ones and invalid
ones, with generated ids and with the ids of things that exist — as the marketplace and as
a buyer (with the ids of things that exist, or none in its path). Every answer must be no
5xx, have a status the description lists for the operation, the content type it lists, and
a body that matches the listed schema. Then a stateful run chains operations through the
links Schemathesis infers.

Bounded for CI: ``OMBUDS_FUZZ_EXAMPLES`` examples per operation, mode and caller (default 3),
no deadlines, no example database. One server per database serves all the tests of this file
(each seeds its own marketplace in it), so the server starts twice, not six times.
"""

from __future__ import annotations

import os

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

from tests.conftest import MARKETPLACE_KEY
from tests.e2e.conftest import running_server, show_log_if_failed
from tests.factories import Marketplace

EXAMPLES = int(os.environ.get("OMBUDS_FUZZ_EXAMPLES", "3"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
BOUNDED = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
                   suppress_health_check=list(HealthCheck), phases=[Phase.generate])


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_server(request, tmp_path_factory):
    """A running ``ombuds serve`` on a migrated database, shared by the tests of this file."""
    databases = request.getfixturevalue(f"{request.param}_databases")
    database_url = databases.create()
    with running_server(database_url, tmp_path_factory.mktemp(f"fuzzed-{request.param}")) as running:
        yield running
    databases.drop(database_url)


@pytest.fixture
def server_url(request, shared_server) -> str:
    url, log = shared_server
    show_log_if_failed(request, log)
    return url


def _seed(url: str) -> tuple[dict[str, str], dict[str, int]]:
    """A buyer, a seller, an arbitrator, an order with a dispute; the ids of what exists."""
    http = httpx.Client(base_url=url, timeout=30, trust_env=False)
    market = Marketplace(http, MARKETPLACE_KEY)
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1850, 1), (650, 2)])
    d = market.open_dispute(buyer, order)
    hook = market.platform.post("/webhooks", {"url": "http://127.0.0.1:9/hooks", "event_types": ["*"]},
                                expect=201)
    tokens = {"marketplace": MARKETPLACE_KEY, "buyer": buyer.token}
    ids = {"order_id": order["id"], "dispute_id": d["id"], "user_id": buyer.id, "buyer_id": buyer.id,
           "seller_id": seller.id, "endpoint_id": hook["id"]}
    return tokens, ids


def _fuzz(url: str, operation, token: str, mode: GenerationMode, path_parameters: dict | None) -> list[str]:
    failures: list[str] = []
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @BOUNDED
    @given(case=strategy)
    def run(case):
        case.call_and_validate(base_url=url, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (an operation without parameters or body)
        pass
    except Exception as failure:  # the first failure of this operation, not shrunk: bounded
        failures.append(f"{operation.label} [{mode.value}]: {str(failure)[:1200]}")
    return failures


def test_every_operation_answers_as_documented_and_never_5xx(server_url):
    tokens, ids = _seed(server_url)
    schema = schemathesis.openapi.from_url(f"{server_url}/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50
    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        known = {name: ids[name] for name in names if name in ids}
        for who, token in tokens.items():
            # Generated ids (huge, negative, unknown) as the marketplace, who may see everything;
            # the buyer's answer to an id that does not exist is the same 404 and adds nothing.
            if who == "marketplace" or not names:
                failures += _fuzz(server_url, operation, token, GenerationMode.POSITIVE, None)
            if who == "marketplace":  # invalid input is refused before anyone's rights matter
                failures += _fuzz(server_url, operation, token, GenerationMode.NEGATIVE, None)
            if known and len(known) == len(names):
                failures += _fuzz(server_url, operation, token, GenerationMode.POSITIVE, known)
    assert not failures, "\n\n".join(dict.fromkeys(failures))


STATEFUL = settings(max_examples=int(os.environ.get("OMBUDS_STATEFUL_EXAMPLES", "6")), stateful_step_count=6,
                    deadline=None, database=None, suppress_health_check=list(HealthCheck),
                    phases=[Phase.generate])


@pytest.mark.parametrize("who", ["marketplace", "buyer"])
def test_chained_operations_answer_as_documented_and_never_5xx(server_url, who):
    """The stateful phase: users, orders, disputes, complaints and evidence created by one call
    and used by the next, along the links Schemathesis infers from the description."""
    tokens, _ids = _seed(server_url)
    schema = schemathesis.openapi.from_url(f"{server_url}/openapi.json")
    token = tokens[who]

    class Workflow(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"base_url": server_url, "headers": {"Authorization": f"Bearer {token}"}}

        def validate_response(self, response, case, additional_checks=(), **kwargs):
            case.validate_response(response, checks=CHECKS)

    Workflow.run(settings=STATEFUL)
