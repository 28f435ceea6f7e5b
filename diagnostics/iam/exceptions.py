"""Where an API operation's IAM action is not ``<prefix>:<OperationName>``.

Every entry names its source.  Keys are (IAM prefix, operation in lower case);
a value of None means the operation is not governed by an IAM action.
tests/test_iam_operations.py has one test per entry.
"""

from __future__ import annotations

# S3: "Required permissions for Amazon S3 API operations",
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html
# (each operation's "Permissions" section) and the S3 user guide page
# "Policy actions for Amazon S3" (using-with-s3-policy-actions.html).
_S3 = "Amazon S3 user guide, Policy actions for Amazon S3"

OPERATION_ACTIONS: dict[tuple[str, str], str | None] = {
    # --- S3 (source: _S3) ---
    ("s3", "listobjectsv2"): "s3:ListBucket",
    ("s3", "listobjects"): "s3:ListBucket",
    ("s3", "listobjectversions"): "s3:ListBucketVersions",
    ("s3", "headobject"): "s3:GetObject",
    ("s3", "headbucket"): "s3:ListBucket",
    ("s3", "listbuckets"): "s3:ListAllMyBuckets",
    ("s3", "selectobjectcontent"): "s3:GetObject",
    ("s3", "copyobject"): "s3:PutObject",
    ("s3", "createmultipartupload"): "s3:PutObject",
    ("s3", "uploadpart"): "s3:PutObject",
    ("s3", "uploadpartcopy"): "s3:PutObject",
    ("s3", "completemultipartupload"): "s3:PutObject",
    ("s3", "listparts"): "s3:ListMultipartUploadParts",
    ("s3", "listmultipartuploads"): "s3:ListBucketMultipartUploads",
    ("s3", "deleteobjects"): "s3:DeleteObject",
    ("s3", "getbucketlifecycleconfiguration"): "s3:GetLifecycleConfiguration",
    ("s3", "putbucketlifecycleconfiguration"): "s3:PutLifecycleConfiguration",
    ("s3", "deletebucketlifecycle"): "s3:PutLifecycleConfiguration",
    # CloudTrail logs the lifecycle calls under their older names (seen in
    # invictus-ir/aws_dataset captures).
    ("s3", "getbucketlifecycle"): "s3:GetLifecycleConfiguration",
    ("s3", "putbucketlifecycle"): "s3:PutLifecycleConfiguration",
    ("s3", "getbucketencryption"): "s3:GetEncryptionConfiguration",
    ("s3", "putbucketencryption"): "s3:PutEncryptionConfiguration",
    ("s3", "deletebucketencryption"): "s3:PutEncryptionConfiguration",
    ("s3", "getbucketreplication"): "s3:GetReplicationConfiguration",
    ("s3", "putbucketreplication"): "s3:PutReplicationConfiguration",
    ("s3", "deletebucketreplication"): "s3:PutReplicationConfiguration",
    ("s3", "deletebucketcors"): "s3:PutBucketCORS",
    ("s3", "getbucketnotificationconfiguration"): "s3:GetBucketNotification",
    ("s3", "putbucketnotificationconfiguration"): "s3:PutBucketNotification",
    ("s3", "getobjectlockconfiguration"): "s3:GetBucketObjectLockConfiguration",
    ("s3", "putobjectlockconfiguration"): "s3:PutBucketObjectLockConfiguration",
    ("s3", "getpublicaccessblock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "putpublicaccessblock"): "s3:PutBucketPublicAccessBlock",
    ("s3", "deletepublicaccessblock"): "s3:PutBucketPublicAccessBlock",
    ("s3", "getbucketinventoryconfiguration"): "s3:GetInventoryConfiguration",
    ("s3", "getbucketanalyticsconfiguration"): "s3:GetAnalyticsConfiguration",
    ("s3", "getbucketmetricsconfiguration"): "s3:GetMetricsConfiguration",
    ("s3", "getbucketaccelerateconfiguration"): "s3:GetAccelerateConfiguration",
    ("s3", "deletebucketownershipcontrols"): "s3:PutBucketOwnershipControls",
    ("s3", "deletebucketwebsite"): "s3:DeleteBucketWebsite",
    # --- Lambda: Lambda API reference, Invoke ("requires lambda:InvokeFunction")
    # and InvokeWithResponseStream (same permission).
    ("lambda", "invoke"): "lambda:InvokeFunction",
    ("lambda", "invokewithresponsestream"): "lambda:InvokeFunction",
    # InvokeAsync is deprecated but still its own action (Lambda SAR page).
    ("lambda", "invokeasync"): "lambda:InvokeAsync",
    # --- SQS batch calls: SQS developer guide, "Amazon SQS API permissions:
    # Actions and resource reference" (batch actions use the single action).
    ("sqs", "sendmessagebatch"): "sqs:SendMessage",
    ("sqs", "deletemessagebatch"): "sqs:DeleteMessage",
    ("sqs", "changemessagevisibilitybatch"): "sqs:ChangeMessageVisibility",
    # --- SNS: SNS API reference, PublishBatch ("needs sns:Publish").
    ("sns", "publishbatch"): "sns:Publish",
    # --- Secrets Manager: BatchGetSecretValue is its own action, and also
    # needs GetSecretValue on each secret (see COMPANION_ACTIONS).
    # Source: Secrets Manager API reference, BatchGetSecretValue "Required permissions".
    ("secretsmanager", "batchgetsecretvalue"): "secretsmanager:BatchGetSecretValue",
    # --- Console sign-in events are not authorized by IAM policies.
    # Source: CloudTrail user guide, "AWS Management Console sign-in events".
    ("signin", "consolelogin"): None,
    ("signin", "checkmfa"): None,
    ("signin", "exitrole"): None,
    ("signin", "switchrole"): None,
}

#: Actions a call needs in addition to its main action.
COMPANION_ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    # CopyObject reads the source object (S3 API reference, CopyObject "Permissions").
    ("s3", "copyobject"): ("s3:GetObject",),
    ("s3", "uploadpartcopy"): ("s3:GetObject",),
    # Secrets Manager API reference, BatchGetSecretValue "Required permissions".
    ("secretsmanager", "batchgetsecretvalue"): ("secretsmanager:GetSecretValue",),
}

#: Event source hosts (``<host>.amazonaws.com``) whose IAM prefix differs.
PREFIX_BY_HOST: dict[str, str] = {
    # CloudWatch's endpoint is monitoring.<region>.amazonaws.com, its IAM prefix
    # "cloudwatch" (Service Authorization Reference, Amazon CloudWatch).
    "monitoring": "cloudwatch",
    # SES v1 and the SES v2 (pinpoint-email) endpoint are email.<region>...;
    # IAM prefix "ses" (SAR, Amazon SES).
    "email": "ses",
    # OpenSearch Service keeps the Elasticsearch prefix "es" (SAR, Amazon
    # OpenSearch Service); botocore names the service "opensearch".
    "opensearch": "es",
    "elasticsearch": "es",
    # ELB v1 and v2 both use "elasticloadbalancing" (SAR, Elastic Load Balancing V2).
    "elb": "elasticloadbalancing",
    "elbv2": "elasticloadbalancing",
    # Resource Groups Tagging API: endpoint "tagging", IAM prefix "tag" (SAR).
    "tagging": "tag",
    # DynamoDB Streams: endpoint streams.dynamodb, IAM prefix "dynamodb" (SAR).
    "streams.dynamodb": "dynamodb",
    # ECR's API endpoint is api.ecr.<region>...; IAM prefix "ecr" (SAR).
    "api.ecr": "ecr",
    # CloudTrail records console sign-in under signin.amazonaws.com; there is
    # no IAM prefix for it, so keep the host as a pseudo-prefix for the table above.
    "signin": "signin",
}
