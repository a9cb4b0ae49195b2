"""The IAM role EventBridge Scheduler assumes to invoke the schedule target function.

Managed attributes: the trust policy (scheduler.amazonaws.com for this account only), the
inline policies (exactly one: invoke the stage's target function) and the attached managed
policies (none). The role may do that and nothing else, so an inline policy added out of
band is deleted and a managed policy attached out of band is detached.
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Mapping

from chalicelib import clients
from chalicelib import names
from ops.stack import policies
from ops.stack.model import Desired, FieldChange
from ops.stack.provider import ResourceProvider, Updater
from ops.stack.tags import from_tag_list, to_tag_list


class ExecutionRoleProvider(ResourceProvider):
    kind = "iam-role"

    @property
    def iam(self) -> Any:
        return self.client("iam")

    def target_function_arn(self) -> str:
        function = self.settings.names.function(names.SCHEDULE_TARGET)
        return clients.function_arn(function, self.settings)

    def desired_attrs(self) -> dict[str, Any]:
        return {
            "trust_policy": policies.scheduler_trust_policy(clients.account_id(self.settings)),
            "inline_policies": {
                policies.INVOKE_TARGET_POLICY: policies.invoke_function_policy(
                    self.target_function_arn()
                ),
                policies.SEND_DEAD_LETTERS_POLICY: policies.send_dead_letters_policy(
                    clients.queue_arn(self.settings.dead_letter_queue_name, self.settings)
                ),
            },
            "managed_policies": [],
        }

    def _normalise(self, field: str, value: Any) -> Any:
        if field == "trust_policy":
            return policies.canonical(value)
        if field == "inline_policies":
            return {name: policies.canonical(doc) for name, doc in (value or {}).items()}
        if field == "managed_policies":
            return sorted(value or [])
        return value

    # -- read ------------------------------------------------------------------------------

    def _describe(self, name: str) -> tuple[str, dict[str, Any]] | None:
        role = self.iam.get_role(RoleName=name)["Role"]
        attrs = {
            "trust_policy": policies.parse(role["AssumeRolePolicyDocument"]),
            "inline_policies": {
                policy: policies.parse(
                    self.iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
                )
                for policy in self._inline_policy_names(name)
            },
            "managed_policies": sorted(self._attached_policy_arns(name)),
        }
        return role["Arn"], attrs

    def _inline_policy_names(self, name: str) -> Iterator[str]:
        for page in self.iam.get_paginator("list_role_policies").paginate(RoleName=name):
            yield from page["PolicyNames"]

    def _attached_policy_arns(self, name: str) -> Iterator[str]:
        paginator = self.iam.get_paginator("list_attached_role_policies")
        for page in paginator.paginate(RoleName=name):
            yield from (policy["PolicyArn"] for policy in page["AttachedPolicies"])

    # -- create / delete -------------------------------------------------------------------

    def _create(self, desired: Desired) -> None:
        self.iam.create_role(
            RoleName=desired.name,
            AssumeRolePolicyDocument=json.dumps(desired.attrs["trust_policy"]),
            Description=(
                "Lets EventBridge Scheduler invoke the rez-agent schedule target "
                f"(stage {self.settings.stage})"
            ),
            Tags=to_tag_list(desired.tags),
        )
        for policy, document in desired.attrs["inline_policies"].items():
            self._put_policy(desired.name, policy, document)

    def _delete(self, name: str) -> None:
        """IAM deletes a role only once it has no inline or attached policies left."""
        for policy in list(self._inline_policy_names(name)):
            self.iam.delete_role_policy(RoleName=name, PolicyName=policy)
        for arn in list(self._attached_policy_arns(name)):
            self.iam.detach_role_policy(RoleName=name, PolicyArn=arn)
        self.iam.delete_role(RoleName=name)

    # -- tags ------------------------------------------------------------------------------

    def _list_tags(self, name: str, arn: str) -> dict[str, str]:
        tags: list[dict] = []
        for page in self.iam.get_paginator("list_role_tags").paginate(RoleName=name):
            tags.extend(page["Tags"])
        return from_tag_list(tags)

    def _tag(self, name: str, arn: str, tags: dict[str, str]) -> None:
        self.iam.tag_role(RoleName=name, Tags=to_tag_list(tags))

    def _untag(self, name: str, arn: str, keys: list[str]) -> None:
        self.iam.untag_role(RoleName=name, TagKeys=keys)

    # -- updates ---------------------------------------------------------------------------

    def _updaters(self) -> Mapping[str, Updater]:
        return {
            "trust_policy": self._update_trust_policy,
            "inline_policies": self._update_inline_policies,
            "managed_policies": self._update_managed_policies,
        }

    def _update_trust_policy(self, name: str, arn: str, change: FieldChange) -> None:
        self.iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(change.after))

    def _update_inline_policies(self, name: str, arn: str, change: FieldChange) -> None:
        have = self._normalise("inline_policies", change.before)
        want = self._normalise("inline_policies", change.after)
        for policy, document in change.after.items():
            if have.get(policy) != want[policy]:
                self._put_policy(name, policy, document)
        for policy in sorted(set(have) - set(want)):
            self.iam.delete_role_policy(RoleName=name, PolicyName=policy)

    def _update_managed_policies(self, name: str, arn: str, change: FieldChange) -> None:
        have, want = set(change.before or []), set(change.after)
        for policy_arn in sorted(have - want):
            self.iam.detach_role_policy(RoleName=name, PolicyArn=policy_arn)
        for policy_arn in sorted(want - have):
            self.iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)

    def _put_policy(self, name: str, policy: str, document: dict) -> None:
        self.iam.put_role_policy(
            RoleName=name, PolicyName=policy, PolicyDocument=json.dumps(document)
        )
