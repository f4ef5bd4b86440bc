"""schemathesis against the gateway's OpenAPI schema: every documented operation, generated
requests (bounded), responses checked against the schema; and never a server error.

Run through schemathesis' Python API inside a plain test, not its pytest plugin: the plugin
(`schemathesis.pytest.from_fixture`) fails on pytest 9 (it reads `Function._nodeid`, which
pytest 9 removed), and the suite runs with warnings as errors.
"""

from __future__ import annotations

from pathlib import Path

import schemathesis
from fastapi import FastAPI
from gateway_env import gateway_settings, make_node
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy.engine import Engine

from pnrguard.service.gateway_credentials import issue_credential
from pnrguard.web.carrier import CarrierGateway, carrier_router


def test_gateway_api_conforms_to_its_openapi_schema(sqlite_engine: Engine, tmp_path: Path) -> None:
    node = make_node(sqlite_engine, tmp_path)
    gateway = CarrierGateway.build(node, gateway_settings())
    app = FastAPI(title="pnrguard carrier gateway")
    app.include_router(carrier_router(node, gateway=gateway))
    _, token = issue_credential(node.engine, carrier="LH", clock=node.clock)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/carrier/v1/messages", "/carrier/v1/messages/{receipt}"}
    try:
        for op in operations:

            @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            @given(case=op.as_strategy())
            def check(case: schemathesis.Case) -> None:
                for auth in (f"Bearer {token}", "Bearer pgw_wrong"):
                    # A schema-valid string is not necessarily a valid interchange: the
                    # EDIFACT rules cannot be written in JSON Schema, so "valid data is
                    # accepted" does not apply to the body; every other check does.
                    response = case.call_and_validate(
                        headers={"Authorization": auth}, excluded_checks=[positive_data_acceptance]
                    )
                    assert response.status_code < 500

            check()
    finally:
        gateway.close()
