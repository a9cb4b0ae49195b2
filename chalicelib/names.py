"""Names declared once: the app's functions and the schedules table's indexes.

Every consumer (app.py's decorators, the IAM policies, the execution role, the packaged
template, the repository and the stack's table) reads them from here.
"""

from __future__ import annotations

# The app's Lambda functions, by their names in app.py (Chalice names the REST API's
# function "api_handler").
API_HANDLER = "api_handler"
SCHEDULE_COMMAND = "schedule_command"
SCHEDULE_TARGET = "schedule_target"
RECONCILE = "reconcile"
ALERT_SWEEP = "alert_sweep"
DEAD_LETTERS = "dead_letters"  # records what the dead-letter queue receives
HANDLE_RESULTS = "handle_results"  # records what workers publish to the results topic

# The schedules table's global secondary indexes.
STATUS_INDEX = "status-created_date-index"
# The status index's partition attribute. On a schedule record it is the schedule's status;
# every other kind of item on the index (executions, history entries, alert watches, templates)
# stores there the partition that groups its items (``execution#<schedule id>``,
# ``history#<schedule id>``, ``alertwatch``, ``template#<owner>``): a generic storage attribute
# that keeps its old name, never an API field (docs/architecture.md, the item kinds).
INDEX_PARTITION = "status"
CREATOR_INDEX = "created_by-index"

# Routes served without an authorizer on every stage: the console's static files (no data;
# a signed-out person must be able to load the page that signs them in).
PUBLIC_PATHS = frozenset({"/", "/console/{name}"})

# Sparse: only schedule records that are not deleted carry its key (the default listing).
LIVE_INDEX = "live-created_date-index"

# Labels: a schedule's labels (at most LABEL_SLOTS) each sit in one slot attribute
# ``label_<n>`` ("key=value"), and every slot has its own sparse index, sorted by
# ``owner_created`` ("<owner>\n<created date>"), so a listing by label reads only the
# schedules that carry it, one owner's at a time.
LABEL_SLOTS = 5
LABEL_RANGE = "owner_created"


def label_slot(slot: int) -> str:
    return f"label_{slot}"


def label_index(slot: int) -> str:
    return f"label_{slot}-index"
