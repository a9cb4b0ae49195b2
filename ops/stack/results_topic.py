"""The results topic: where workers publish how their runs ended (the ``handle_results``
function consumes it).

A topic like the others (owned, tagged), plus one managed attribute, its access policy: who may
publish is decided here, by IAM, and never by anything inside a message. The policy allows the
stage's own account (whose IAM policies then say which of its principals may publish) and the
stage's declared ``results_publishers`` (``ops/policy.py STAGE_ACCESS``: other accounts' worker
roles), and denies everyone else. A policy edited out of band is reset by the next deploy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chalicelib import clients
from chalicelib.config import partition_of
from chalicelib.errors import ValidationError
from ops import policy
from ops.stack import policies
from ops.stack.model import Desired, FieldChange
from ops.stack.provider import Updater
from ops.stack.tags import to_tag_list
from ops.stack.topic import TopicProvider

POLICY = "policy"


class ResultsTopicProvider(TopicProvider):
    def desired_attrs(self) -> dict[str, Any]:
        publishers = policy.stage_access(self.settings.stage).results_publishers
        wrong = [arn for arn in publishers if not policy.PUBLISHER_ARN.fullmatch(arn)]
        if wrong:
            raise ValidationError(
                f"stage {self.settings.stage}'s results_publishers (ops/policy.py STAGE_ACCESS): "
                f"{', '.join(map(repr, wrong))} is not an IAM role or user ARN"
            )
        return {
            POLICY: policies.results_topic_policy(
                self.arn_of(self.name),
                clients.account_id(self.settings),
                partition_of(self.settings.region),
                publishers,
            )
        }

    def _normalise(self, field: str, value: Any) -> Any:
        if field == POLICY and value is not None:
            return policies.canonical(value)
        return value

    def _describe(self, name: str) -> tuple[str, dict[str, Any]] | None:
        found = self.sns.get_topic_attributes(TopicArn=self.arn_of(name))["Attributes"]
        document = found.get("Policy")
        return found["TopicArn"], {POLICY: policies.parse(document) if document else None}

    def _create(self, desired: Desired) -> None:
        self.sns.create_topic(
            Name=desired.name,
            Attributes={"Policy": json.dumps(desired.attrs[POLICY])},
            Tags=to_tag_list(desired.tags),
        )

    def _updaters(self) -> Mapping[str, Updater]:
        return {POLICY: self._set_policy}

    def _set_policy(self, name: str, arn: str, change: FieldChange) -> None:
        self.sns.set_topic_attributes(
            TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(change.after)
        )
