"""docs/security.md's permissions table says what ops/policy.py grants, every function and
every grant (the table is generated: ``python -m ops.policy_docs --write``)."""

from __future__ import annotations

from ops import policy, policy_docs


def test_the_security_page_shows_the_policies_as_generated():
    # GIVEN the security page
    page = policy_docs.SECURITY_PAGE.read_text()
    # WHEN its permissions table is compared with the one the policies give
    current = policy_docs.current_section(page)
    # THEN they are the same (after a change to ops/policy.py: python -m ops.policy_docs --write)
    assert current is not None, "docs/security.md lost its permissions table markers"
    assert current == policy_docs.section(), "docs/security.md's permissions table is stale: python -m ops.policy_docs --write"


def test_the_table_has_a_row_for_every_statement_of_every_function():
    table = policy_docs.table()
    for function in policy.FUNCTIONS:
        for statement in policy.policy_for("dev", function)["Statement"]:
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            row = next(line for line in table.splitlines() if line.startswith(f"| `{function}` | {statement['Sid']} |"))
            assert all(f"`{action}`" in row for action in actions), row
    assert "-dev" not in table, "a stage name leaked into the table"
