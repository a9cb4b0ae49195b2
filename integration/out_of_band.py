"""Change and inspect resources behind the stack's back, with the raw boto3 SDK.

These clients are built here, not through ``chalicelib.clients``: what they do is what an
operator does in the console, and the call recorder never sees it. Reads return what the
cloud reports, so lifecycle tests assert against the cloud, not against what was sent.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import ClientError

from chalicelib.aws_errors import is_not_found

CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _tag_dict(tags: list[dict] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or []}


def _or_none(call, *args, **kwargs) -> Any:
    """The answer of a read, or None when AWS says the thing does not exist."""
    try:
        return call(*args, **kwargs)
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise


class OutOfBand:
    def __init__(self, endpoint_url: str | None, region: str = "us-east-1"):
        options = {"region_name": region, "endpoint_url": endpoint_url, **CREDENTIALS}
        self.scheduler = boto3.client("scheduler", **options)
        self.dynamodb = boto3.client("dynamodb", **options)
        self.sns = boto3.client("sns", **options)
        self.iam = boto3.client("iam", **options)
        self.sqs = boto3.client("sqs", **options)
        self.account = boto3.client("sts", **options).get_caller_identity()["Account"]
        self.region = region

    # -- schedule groups -------------------------------------------------------------------

    def group(self, name: str) -> dict | None:
        return _or_none(self.scheduler.get_schedule_group, Name=name)

    def group_tags(self, name: str) -> dict[str, str]:
        arn = self.scheduler.get_schedule_group(Name=name)["Arn"]
        return _tag_dict(self.scheduler.list_tags_for_resource(ResourceArn=arn)["Tags"])

    def create_group(self, name: str, tags: dict[str, str] | None = None) -> None:
        self.scheduler.create_schedule_group(Name=name, Tags=_tag_list(tags or {}))

    def tag_group(self, name: str, tags: dict[str, str]) -> None:
        arn = self.scheduler.get_schedule_group(Name=name)["Arn"]
        self.scheduler.tag_resource(ResourceArn=arn, Tags=_tag_list(tags))

    def untag_group(self, name: str, keys: list[str]) -> None:
        arn = self.scheduler.get_schedule_group(Name=name)["Arn"]
        self.scheduler.untag_resource(ResourceArn=arn, TagKeys=keys)

    def delete_group(self, name: str) -> None:
        self.scheduler.delete_schedule_group(Name=name)

    # -- tables ----------------------------------------------------------------------------

    def table(self, name: str) -> dict | None:
        found = _or_none(self.dynamodb.describe_table, TableName=name)
        return found["Table"] if found else None

    def table_tags(self, name: str) -> dict[str, str]:
        arn = self.table(name)["TableArn"]
        return _tag_dict(self.dynamodb.list_tags_of_resource(ResourceArn=arn)["Tags"])

    def tag_table(self, name: str, tags: dict[str, str]) -> None:
        arn = self.table(name)["TableArn"]
        self.dynamodb.tag_resource(ResourceArn=arn, Tags=_tag_list(tags))

    def untag_table(self, name: str, keys: list[str]) -> None:
        arn = self.table(name)["TableArn"]
        self.dynamodb.untag_resource(ResourceArn=arn, TagKeys=keys)

    def ttl(self, name: str) -> dict:
        return self.dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]

    def disable_ttl(self, name: str, attribute: str = "ttl") -> None:
        self.dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": False, "AttributeName": attribute}
        )

    def switch_to_provisioned(self, name: str) -> None:
        self.dynamodb.update_table(
            TableName=name,
            BillingMode="PROVISIONED",
            ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
        )

    def delete_index(self, name: str, index: str) -> None:
        self.dynamodb.update_table(
            TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": index}}]
        )

    def index_names(self, name: str) -> list[str]:
        return sorted(i["IndexName"] for i in self.table(name).get("GlobalSecondaryIndexes") or [])

    def create_table(self, name: str, hash_key: str = "id", tags: dict | None = None) -> None:
        self.dynamodb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": hash_key, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": hash_key, "KeyType": "HASH"}],
            Tags=_tag_list(tags or {}),
        )

    def put_item(self, name: str, item: dict) -> None:
        self.dynamodb.put_item(TableName=name, Item=item)

    def delete_table(self, name: str) -> None:
        self.dynamodb.delete_table(TableName=name)

    # -- topics ----------------------------------------------------------------------------

    def topic_arn(self, name: str) -> str:
        return f"arn:aws:sns:{self.region}:{self.account}:{name}"

    def topic_exists(self, name: str) -> bool:
        return _or_none(self.sns.get_topic_attributes, TopicArn=self.topic_arn(name)) is not None

    def topic_tags(self, name: str) -> dict[str, str]:
        return _tag_dict(self.sns.list_tags_for_resource(ResourceArn=self.topic_arn(name))["Tags"])

    def tag_topic(self, name: str, tags: dict[str, str]) -> None:
        self.sns.tag_resource(ResourceArn=self.topic_arn(name), Tags=_tag_list(tags))

    def untag_topic(self, name: str, keys: list[str]) -> None:
        self.sns.untag_resource(ResourceArn=self.topic_arn(name), TagKeys=keys)

    def create_topic(self, name: str, tags: dict[str, str] | None = None) -> None:
        self.sns.create_topic(Name=name, Tags=_tag_list(tags or {}))

    def delete_topic(self, name: str) -> None:
        self.sns.delete_topic(TopicArn=self.topic_arn(name))

    def topic_policy(self, name: str) -> dict | None:
        found = self.sns.get_topic_attributes(TopicArn=self.topic_arn(name))["Attributes"].get("Policy")
        return json.loads(found) if found else None

    def set_topic_policy(self, name: str, document: dict) -> None:
        self.sns.set_topic_attributes(
            TopicArn=self.topic_arn(name), AttributeName="Policy", AttributeValue=json.dumps(document)
        )

    # -- queues ----------------------------------------------------------------------------

    def queue_url(self, name: str) -> str | None:
        found = _or_none(self.sqs.get_queue_url, QueueName=name)
        return found["QueueUrl"] if found else None

    def queue_attributes(self, name: str) -> dict[str, str]:
        url = self.queue_url(name)
        return self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]

    def set_queue_attributes(self, name: str, attributes: dict[str, str]) -> None:
        self.sqs.set_queue_attributes(QueueUrl=self.queue_url(name), Attributes=attributes)

    def queue_tags(self, name: str) -> dict[str, str]:
        return dict(self.sqs.list_queue_tags(QueueUrl=self.queue_url(name)).get("Tags") or {})

    def tag_queue(self, name: str, tags: dict[str, str]) -> None:
        self.sqs.tag_queue(QueueUrl=self.queue_url(name), Tags=tags)

    def untag_queue(self, name: str, keys: list[str]) -> None:
        self.sqs.untag_queue(QueueUrl=self.queue_url(name), TagKeys=keys)

    def create_queue(self, name: str, tags: dict[str, str] | None = None) -> None:
        self.sqs.create_queue(QueueName=name, tags=tags or {})

    def delete_queue(self, name: str) -> None:
        self.sqs.delete_queue(QueueUrl=self.queue_url(name))

    # -- roles -----------------------------------------------------------------------------

    def role(self, name: str) -> dict | None:
        found = _or_none(self.iam.get_role, RoleName=name)
        return found["Role"] if found else None

    def role_tags(self, name: str) -> dict[str, str]:
        return _tag_dict(self.iam.list_role_tags(RoleName=name)["Tags"])

    def tag_role(self, name: str, tags: dict[str, str]) -> None:
        self.iam.tag_role(RoleName=name, Tags=_tag_list(tags))

    def untag_role(self, name: str, keys: list[str]) -> None:
        self.iam.untag_role(RoleName=name, TagKeys=keys)

    def trust_policy(self, name: str) -> dict:
        return self.role(name)["AssumeRolePolicyDocument"]

    def set_trust_policy(self, name: str, document: dict) -> None:
        self.iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(document))

    def inline_policies(self, name: str) -> dict[str, dict]:
        names = self.iam.list_role_policies(RoleName=name)["PolicyNames"]
        return {
            policy: self.iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
            for policy in names
        }

    def put_inline_policy(self, name: str, policy: str, document: dict) -> None:
        self.iam.put_role_policy(
            RoleName=name, PolicyName=policy, PolicyDocument=json.dumps(document)
        )

    def attached_policies(self, name: str) -> list[str]:
        attached = self.iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        return sorted(p["PolicyArn"] for p in attached)

    def attach_new_policy(self, name: str, policy: str, document: dict) -> str:
        """Create a customer managed policy and attach it to the role; its ARN."""
        arn = self.iam.create_policy(PolicyName=policy, PolicyDocument=json.dumps(document))[
            "Policy"
        ]["Arn"]
        self.iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        return arn

    def create_role(self, name: str, tags: dict[str, str] | None = None) -> None:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        self.iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Tags=_tag_list(tags or {})
        )

    def delete_role(self, name: str) -> None:
        for policy in self.iam.list_role_policies(RoleName=name)["PolicyNames"]:
            self.iam.delete_role_policy(RoleName=name, PolicyName=policy)
        for arn in self.attached_policies(name):
            self.iam.detach_role_policy(RoleName=name, PolicyArn=arn)
        self.iam.delete_role(RoleName=name)
