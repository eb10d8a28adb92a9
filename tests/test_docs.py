"""Our own documentation's figures, as the tests measure them (not in a copy: `new` leaves docs/ out)."""

from __future__ import annotations

import re

from tests.conftest import PROJECT_DIR
from tests.test_tool import LONGEST_REPLY_BYTES


def test_the_contract_states_the_longest_reply_the_tests_measure() -> None:
    stated = re.search(r"replies are at most ([\d,]+) bytes", (PROJECT_DIR / "docs" / "contract.md").read_text("utf-8"))
    assert stated, "docs/contract.md must say how long a reply can be"
    assert int(stated[1].replace(",", "")) == LONGEST_REPLY_BYTES
